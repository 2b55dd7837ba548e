package ops

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Gather is the ONNX Gather node. Its output shape is
// params.shape[:axis] + indices.shape + params.shape[axis+1:]; negative
// indices count from the end of the axis.
//
// It comes in two forms. With indices fixed at construction it is a
// graph.Node[T] whose one input is params. With nil indices it is a
// graph.MixedNode[T] whose inputs are params (*tensor.Tensor[T]) and
// indices (*tensor.Tensor[int64]); its Node methods then return an error.
// (A Gather with fixed indices also serves as a MixedNode with one input.)
//
// Backward scatter-adds the output gradient into a zero tensor of params'
// shape (repeated indices accumulate). The indices have no gradient.
type Gather[T tensor.Numeric] struct {
	base[T]
	indices *tensor.Tensor[int64] // nil: the second input
	axis    int
}

var (
	_ graph.Node[float32]      = (*Gather[float32])(nil)
	_ graph.MixedNode[float32] = (*Gather[float32])(nil)
	_ graph.ShapeInferer       = (*Gather[float32])(nil)
	_ graph.InputTyper         = (*Gather[float32])(nil)
)

// NewGather returns a Gather node along axis. indices (copied) fixes the
// indices; nil makes them the node's second input (MixedNode use).
func NewGather[T tensor.Numeric](e compute.Engine[T], indices *tensor.Tensor[int64], axis int) *Gather[T] {
	n := &Gather[T]{base: base[T]{e: e, op: "Gather"}, axis: axis}
	if indices != nil {
		n.indices = indices.Copy()
	}
	return n
}

// Attributes returns "axis".
func (n *Gather[T]) Attributes() map[string]any { return map[string]any{"axis": n.axis} }

// Indices returns a copy of the fixed indices, or nil if they are an input.
func (n *Gather[T]) Indices() *tensor.Tensor[int64] {
	if n.indices == nil {
		return nil
	}
	return n.indices.Copy()
}

// InputDTypes returns [T] for fixed indices and [T, int64] otherwise.
func (n *Gather[T]) InputDTypes() []numeric.DType {
	if n.indices != nil {
		return []numeric.DType{numeric.DTypeOf[T]()}
	}
	return []numeric.DType{numeric.DTypeOf[T](), numeric.Int64}
}

// InferShape returns the gathered shape given the params shape (and the
// indices shape when the indices are an input). Fixed indices are checked
// against the axis length.
func (n *Gather[T]) InferShape(in ...[]int) ([]int, error) {
	if want := len(n.InputDTypes()); len(in) != want {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want %d", len(in), want)
	}
	if anyUnknown(in) {
		return nil, nil
	}
	axis, err := n.normAxis(n.axis, len(in[0]))
	if err != nil {
		return nil, err
	}
	var ishape []int
	if n.indices != nil {
		ishape = n.indices.Shape()
		if err := n.checkIndices(n.indices, in[0][axis], in[0]); err != nil {
			return nil, err
		}
	} else {
		ishape = in[1]
	}
	out := append([]int(nil), in[0][:axis]...)
	out = append(out, ishape...)
	return append(out, in[0][axis+1:]...), nil
}

// checkIndices checks every index against the axis length d (skipped when
// d is dynamic).
func (n *Gather[T]) checkIndices(idx *tensor.Tensor[int64], d int, shape []int) error {
	if d < 0 {
		return nil
	}
	for i, x := range idx.Data() {
		if x < -int64(d) || x >= int64(d) {
			return n.errf(tensor.ErrIndex, "index %d (at %d) out of range for axis %d (size %d) of %v", x, i, n.axis, d, shape)
		}
	}
	return nil
}

// Forward gathers from its params input at the fixed indices.
func (n *Gather[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if n.indices == nil {
		return nil, n.errf(graph.ErrInput, "indices are an int64 input: use ForwardAny")
	}
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	return n.forward(ctx, inputs[0], n.indices)
}

// Backward scatter-adds the output gradient into the gathered positions.
func (n *Gather[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if n.indices == nil {
		return nil, n.errf(graph.ErrInput, "indices are an int64 input: use BackwardAny")
	}
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	gx, err := n.backward(ctx, g, inputs[0], n.indices)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor[T]{gx}, nil
}

// anyInputs asserts the dtype-erased inputs to params and indices.
func (n *Gather[T]) anyInputs(inputs []tensor.Any) (*tensor.Tensor[T], *tensor.Tensor[int64], error) {
	if want := len(n.InputDTypes()); len(inputs) != want {
		return nil, nil, n.errf(graph.ErrArity, "got %d inputs, want %d", len(inputs), want)
	}
	p, ok := inputs[0].(*tensor.Tensor[T])
	if !ok || p == nil {
		return nil, nil, n.errf(graph.ErrDType, "params is %s, want a non-nil *tensor.Tensor[%v]", describe(inputs[0]), numeric.DTypeOf[T]())
	}
	if n.indices != nil {
		return p, n.indices, nil
	}
	idx, ok := inputs[1].(*tensor.Tensor[int64])
	if !ok || idx == nil {
		return nil, nil, n.errf(graph.ErrDType, "indices is %s, want a non-nil *tensor.Tensor[int64]", describe(inputs[1]))
	}
	return p, idx, nil
}

func describe(v tensor.Any) string {
	if v == nil {
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

// ForwardAny gathers params (input 0) at the indices (input 1, or the fixed
// indices).
func (n *Gather[T]) ForwardAny(ctx context.Context, inputs ...tensor.Any) (*tensor.Tensor[T], error) {
	p, idx, err := n.anyInputs(inputs)
	if err != nil {
		return nil, err
	}
	return n.forward(ctx, p, idx)
}

// BackwardAny returns the gradient of params and nil for the indices.
func (n *Gather[T]) BackwardAny(ctx context.Context, g *tensor.Tensor[T], inputs ...tensor.Any) ([]*tensor.Tensor[T], error) {
	p, idx, err := n.anyInputs(inputs)
	if err != nil {
		return nil, err
	}
	gx, err := n.backward(ctx, g, p, idx)
	if err != nil {
		return nil, err
	}
	grads := make([]*tensor.Tensor[T], len(inputs))
	grads[0] = gx
	return grads, nil
}

func (n *Gather[T]) forward(ctx context.Context, p *tensor.Tensor[T], idx *tensor.Tensor[int64]) (*tensor.Tensor[T], error) {
	axis, err := n.normAxis(n.axis, p.Dims())
	if err != nil {
		return nil, err
	}
	if err := n.checkIndices(idx, p.Dim(axis), p.Shape()); err != nil {
		return nil, err
	}
	y, err := n.e.Gather(ctx, p, idx, axis)
	return y, n.wrap(err)
}

// backward moves the gathered axis to the front, scatter-adds along it and
// moves it back: with params [outer, d, inner] and g [outer, k, inner],
// dst [d, outer, inner] += gᵀ [k, outer, inner] at the indices.
func (n *Gather[T]) backward(ctx context.Context, g, p *tensor.Tensor[T], indices *tensor.Tensor[int64]) (*tensor.Tensor[T], error) {
	if g == nil {
		return nil, n.errf(graph.ErrInput, "nil output gradient")
	}
	shape := p.Shape()
	axis, err := n.normAxis(n.axis, len(shape))
	if err != nil {
		return nil, err
	}
	d, k := shape[axis], indices.Size()
	if err := n.checkIndices(indices, d, shape); err != nil {
		return nil, err
	}
	want := append(append(append([]int(nil), shape[:axis]...), indices.Shape()...), shape[axis+1:]...)
	if !tensor.SameShape(g.Shape(), want) {
		return nil, n.errf(tensor.ErrShape, "output gradient has shape %v, want %v", g.Shape(), want)
	}
	outer, inner := 1, 1
	for _, s := range shape[:axis] {
		outer *= s
	}
	for _, s := range shape[axis+1:] {
		inner *= s
	}
	idx := make([]int64, k)
	for i, x := range indices.Data() {
		if x < 0 {
			x += int64(d)
		}
		idx[i] = x
	}
	gx, err := n.scatter(ctx, g, idx, d, outer, k, inner)
	if err != nil {
		return nil, n.wrap(err)
	}
	return gx.Reshape(shape...)
}

func (n *Gather[T]) scatter(ctx context.Context, g *tensor.Tensor[T], idx []int64, d, outer, k, inner int) (*tensor.Tensor[T], error) {
	it, err := tensor.New([]int{k}, idx)
	if err != nil {
		return nil, err
	}
	upd, err := g.Reshape(outer, k, inner)
	if err != nil {
		return nil, err
	}
	if outer > 1 {
		if upd, err = n.e.Transpose(ctx, upd, []int{1, 0, 2}); err != nil {
			return nil, err
		}
	} else if upd, err = upd.Reshape(k, outer, inner); err != nil {
		return nil, err
	}
	dst, err := tensor.New[T]([]int{d, outer, inner}, nil)
	if err != nil {
		return nil, err
	}
	if err := n.e.ScatterAdd(ctx, dst, it, upd); err != nil {
		return nil, err
	}
	if outer > 1 {
		return n.e.Transpose(ctx, dst, []int{1, 0, 2})
	}
	return dst, nil
}

// ScatterAdd is the engine's ScatterAdd as a node, with its int64 indices
// (rank 1) fixed at construction: for inputs data [d, ...] and updates
// [k, ...] the output is a copy of data with updates[i] added to row
// indices[i] (repeated indices accumulate; negative ones count from the
// end). It matches ONNX ScatterND with indices of shape [k, 1] and
// reduction "add", but its op type is "ScatterAdd".
type ScatterAdd[T tensor.Numeric] struct {
	base[T]
	indices *tensor.Tensor[int64]
}

var (
	_ graph.Node[float32] = (*ScatterAdd[float32])(nil)
	_ graph.ShapeInferer  = (*ScatterAdd[float32])(nil)
)

// NewScatterAdd returns a ScatterAdd node with the given rank-1 indices
// (copied). Nil or higher-rank indices are an error wrapping graph.ErrInput.
func NewScatterAdd[T tensor.Numeric](e compute.Engine[T], indices *tensor.Tensor[int64]) (*ScatterAdd[T], error) {
	n := &ScatterAdd[T]{base: base[T]{e: e, op: "ScatterAdd"}}
	if indices == nil || indices.Dims() != 1 {
		return nil, n.errf(graph.ErrInput, "indices must be a rank-1 tensor")
	}
	n.indices = indices.Copy()
	return n, nil
}

// Attributes returns an empty map.
func (n *ScatterAdd[T]) Attributes() map[string]any { return map[string]any{} }

// InferShape returns the data shape after checking the updates shape and
// the indices.
func (n *ScatterAdd[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 2 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 2", len(in))
	}
	if anyUnknown(in) {
		return nil, nil
	}
	d, u := in[0], in[1]
	if len(d) == 0 || len(u) != len(d) {
		return nil, n.errf(tensor.ErrShape, "data %v and updates %v: want equal ranks ≥ 1", d, u)
	}
	if u[0] >= 0 && u[0] != n.indices.Size() {
		return nil, n.errf(tensor.ErrShape, "updates %v for %d indices", u, n.indices.Size())
	}
	for i := 1; i < len(d); i++ {
		if d[i] >= 0 && u[i] >= 0 && d[i] != u[i] {
			return nil, n.errf(tensor.ErrShape, "data %v and updates %v differ in row shape", d, u)
		}
	}
	if d[0] >= 0 {
		for i, x := range n.indices.Data() {
			if x < -int64(d[0]) || x >= int64(d[0]) {
				return nil, n.errf(tensor.ErrIndex, "index %d (at %d) out of range for %d rows", x, i, d[0])
			}
		}
	}
	return append([]int(nil), d...), nil
}

// Forward returns data with the updates added at the indices.
func (n *ScatterAdd[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	if _, err := n.InferShape(shapes(inputs)...); err != nil {
		return nil, err
	}
	y := inputs[0].Copy()
	return y, n.wrap(n.e.ScatterAdd(ctx, y, n.indices, inputs[1]))
}

// Backward returns a copy of outputGradient for data and its rows at the
// indices (a Gather) for updates.
func (n *ScatterAdd[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	gu, err := n.e.Gather(ctx, g, n.indices, 0)
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{g.Copy(), gu}, nil
}
