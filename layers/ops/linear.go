package ops

import (
	"context"
	"slices"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// MatMul is the ONNX MatMul node: NumPy matmul of inputs a [..., m, k] and
// b [..., k, n] with broadcast batch axes; rank-1 operands are promoted as in
// NumPy.
type MatMul[T tensor.Numeric] struct {
	base[T]
}

var (
	_ graph.Node[float32] = (*MatMul[float32])(nil)
	_ graph.ShapeInferer  = (*MatMul[float32])(nil)
)

// NewMatMul returns a MatMul node.
func NewMatMul[T tensor.Numeric](e compute.Engine[T]) *MatMul[T] {
	return &MatMul[T]{base[T]{e: e, op: "MatMul"}}
}

// Attributes returns an empty map.
func (n *MatMul[T]) Attributes() map[string]any { return map[string]any{} }

// promoted returns the rank ≥ 2 shapes of a and b (a [k] → [1, k],
// b [k] → [k, 1]) and the output shape at promoted rank.
func (n *MatMul[T]) promoted(a, b []int) (pa, pb, out []int, err error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, nil, nil, n.errf(tensor.ErrShape, "scalar operand in %v × %v", a, b)
	}
	pa, pb = slices.Clone(a), slices.Clone(b)
	if len(pa) == 1 {
		pa = []int{1, pa[0]}
	}
	if len(pb) == 1 {
		pb = []int{pb[0], 1}
	}
	m, k, k2, nn := pa[len(pa)-2], pa[len(pa)-1], pb[len(pb)-2], pb[len(pb)-1]
	if k != k2 && k >= 0 && k2 >= 0 {
		return nil, nil, nil, n.errf(tensor.ErrShape, "inner dimensions differ in %v × %v", a, b)
	}
	batch, err := n.broadcastShape(pa[:len(pa)-2], pb[:len(pb)-2])
	if err != nil {
		return nil, nil, nil, err
	}
	return pa, pb, append(batch, m, nn), nil
}

// InferShape returns the NumPy matmul shape.
func (n *MatMul[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 2 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 2", len(in))
	}
	if anyUnknown(in) {
		return nil, nil
	}
	_, _, out, err := n.promoted(in[0], in[1])
	if err != nil {
		return nil, err
	}
	// Leave out the axes added by promotion.
	r := len(out)
	res := slices.Clone(out[:r-2])
	if len(in[0]) != 1 {
		res = append(res, out[r-2])
	}
	if len(in[1]) != 1 {
		res = append(res, out[r-1])
	}
	return res, nil
}

// Forward multiplies a and b.
func (n *MatMul[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	if _, err := n.InferShape(shapes(inputs)...); err != nil {
		return nil, err
	}
	y, err := n.e.MatMul(ctx, inputs[0], inputs[1])
	return y, n.wrap(err)
}

// Backward returns dA = g·Bᵀ and dB = Aᵀ·g, each summed over the batch axes
// along which it was broadcast.
func (n *MatMul[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	a, b := inputs[0], inputs[1]
	pa, pb, out, err := n.promoted(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	a2, err := a.Reshape(pa...)
	if err != nil {
		return nil, n.wrap(err)
	}
	b2, err := b.Reshape(pb...)
	if err != nil {
		return nil, n.wrap(err)
	}
	g2, err := g.Reshape(out...)
	if err != nil {
		return nil, n.wrap(err)
	}
	bt, err := n.e.Transpose(ctx, b2, swapLast(len(pb)))
	if err != nil {
		return nil, n.wrap(err)
	}
	ga, err := n.e.MatMul(ctx, g2, bt)
	if err != nil {
		return nil, n.wrap(err)
	}
	at, err := n.e.Transpose(ctx, a2, swapLast(len(pa)))
	if err != nil {
		return nil, n.wrap(err)
	}
	gb, err := n.e.MatMul(ctx, at, g2)
	if err != nil {
		return nil, n.wrap(err)
	}
	if ga, err = unbroadcast(ctx, n.e, ga, pa); err != nil {
		return nil, n.wrap(err)
	}
	if gb, err = unbroadcast(ctx, n.e, gb, pb); err != nil {
		return nil, n.wrap(err)
	}
	if ga, err = ga.Reshape(a.Shape()...); err != nil {
		return nil, n.wrap(err)
	}
	if gb, err = gb.Reshape(b.Shape()...); err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{ga, gb}, nil
}

// swapLast returns the permutation of rank r that swaps the last two axes.
func swapLast(r int) []int {
	p := make([]int, r)
	for i := range p {
		p[i] = i
	}
	p[r-1], p[r-2] = p[r-2], p[r-1]
	return p
}

// Transpose is the ONNX Transpose node (attribute "perm"; nil reverses the
// axes). It takes one input.
type Transpose[T tensor.Numeric] struct {
	base[T]
	perm []int
}

var (
	_ graph.Node[float32] = (*Transpose[float32])(nil)
	_ graph.ShapeInferer  = (*Transpose[float32])(nil)
)

// NewTranspose returns a node permuting axes by perm (output axis i is
// input axis perm[i]); nil perm reverses the axes.
func NewTranspose[T tensor.Numeric](e compute.Engine[T], perm []int) *Transpose[T] {
	return &Transpose[T]{base: base[T]{e: e, op: "Transpose"}, perm: slices.Clone(perm)}
}

// Attributes returns "perm" when one was given.
func (n *Transpose[T]) Attributes() map[string]any {
	m := map[string]any{}
	if n.perm != nil {
		m["perm"] = slices.Clone(n.perm)
	}
	return m
}

// resolve returns the permutation for rank r.
func (n *Transpose[T]) resolve(r int) ([]int, error) {
	if n.perm == nil {
		p := make([]int, r)
		for i := range p {
			p[i] = r - 1 - i
		}
		return p, nil
	}
	if len(n.perm) != r {
		return nil, n.errf(tensor.ErrShape, "perm %v for rank %d", n.perm, r)
	}
	seen := make([]bool, r)
	for _, a := range n.perm {
		if a < 0 || a >= r || seen[a] {
			return nil, n.errf(tensor.ErrIndex, "perm %v is not a permutation of %d axes", n.perm, r)
		}
		seen[a] = true
	}
	return slices.Clone(n.perm), nil
}

// InferShape returns the permuted shape.
func (n *Transpose[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil {
		return nil, nil
	}
	p, err := n.resolve(len(in[0]))
	if err != nil {
		return nil, err
	}
	out := make([]int, len(p))
	for i, a := range p {
		out[i] = in[0][a]
	}
	return out, nil
}

// Forward permutes the input's axes.
func (n *Transpose[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	p, err := n.resolve(inputs[0].Dims())
	if err != nil {
		return nil, err
	}
	y, err := n.e.Transpose(ctx, inputs[0], p)
	return y, n.wrap(err)
}

// Backward permutes the output gradient by the inverse permutation.
func (n *Transpose[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	p, _ := n.resolve(inputs[0].Dims())
	inv := make([]int, len(p))
	for i, a := range p {
		inv[a] = i
	}
	gx, err := n.e.Transpose(ctx, g, inv)
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{gx}, nil
}
