package ops

import (
	"context"
	"slices"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// Reduce is ReduceSum, ReduceMean or ReduceMax over a set of axes (ONNX
// attributes "axes" and "keepdims"). It takes one input.
//
// The gradient of ReduceMax goes to the maximal elements; when several
// elements tie for the maximum it is split equally among them.
type Reduce[T tensor.Numeric] struct {
	base[T]
	axes     []int // nil: all axes
	keepDims bool
}

var (
	_ graph.Node[float32] = (*Reduce[float32])(nil)
	_ graph.ShapeInferer  = (*Reduce[float32])(nil)
)

// NewReduceSum returns a node summing over axes (nil or empty: all axes;
// negative axes count from the end). With keepDims the reduced axes stay
// with size 1.
func NewReduceSum[T tensor.Numeric](e compute.Engine[T], axes []int, keepDims bool) *Reduce[T] {
	return newReduce(e, "ReduceSum", axes, keepDims)
}

// NewReduceMean returns a node averaging over axes (see NewReduceSum).
func NewReduceMean[T tensor.Numeric](e compute.Engine[T], axes []int, keepDims bool) *Reduce[T] {
	return newReduce(e, "ReduceMean", axes, keepDims)
}

// NewReduceMax returns a node taking the maximum over axes (see
// NewReduceSum).
func NewReduceMax[T tensor.Numeric](e compute.Engine[T], axes []int, keepDims bool) *Reduce[T] {
	return newReduce(e, "ReduceMax", axes, keepDims)
}

func newReduce[T tensor.Numeric](e compute.Engine[T], op string, axes []int, keepDims bool) *Reduce[T] {
	var ax []int
	if len(axes) > 0 {
		ax = slices.Clone(axes)
	}
	return &Reduce[T]{base: base[T]{e: e, op: op}, axes: ax, keepDims: keepDims}
}

// Attributes returns "keepdims" (0 or 1) and, unless reducing all axes,
// "axes".
func (n *Reduce[T]) Attributes() map[string]any {
	m := map[string]any{"keepdims": 0}
	if n.keepDims {
		m["keepdims"] = 1
	}
	if n.axes != nil {
		m["axes"] = slices.Clone(n.axes)
	}
	return m
}

// resolve returns the sorted, normalized, distinct reduced axes for rank r.
func (n *Reduce[T]) resolve(r int) ([]int, error) {
	if n.axes == nil {
		ax := make([]int, r)
		for i := range ax {
			ax[i] = i
		}
		return ax, nil
	}
	ax := make([]int, 0, len(n.axes))
	for _, a := range n.axes {
		na, err := n.normAxis(a, r)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ax, na) {
			return nil, n.errf(tensor.ErrIndex, "axis %d repeated in axes %v", a, n.axes)
		}
		ax = append(ax, na)
	}
	slices.Sort(ax)
	return ax, nil
}

// keptShape returns the input shape with the reduced axes set to 1.
func keptShape(in, axes []int) []int {
	s := slices.Clone(in)
	for _, a := range axes {
		s[a] = 1
	}
	return s
}

// InferShape returns the reduced shape.
func (n *Reduce[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil {
		return nil, nil
	}
	ax, err := n.resolve(len(in[0]))
	if err != nil {
		return nil, err
	}
	if n.keepDims {
		return keptShape(in[0], ax), nil
	}
	out := []int{}
	for i, d := range in[0] {
		if !slices.Contains(ax, i) {
			out = append(out, d)
		}
	}
	return out, nil
}

// reduceKept reduces x over axes keeping every axis.
func (n *Reduce[T]) reduceKept(ctx context.Context, x *tensor.Tensor[T], axes []int) (*tensor.Tensor[T], error) {
	cur := x
	for _, a := range axes {
		var err error
		switch n.op {
		case "ReduceSum":
			cur, err = n.e.Sum(ctx, cur, a, true)
		case "ReduceMean":
			cur, err = n.e.Mean(ctx, cur, a, true)
		case "ReduceMax":
			cur, err = n.e.Max(ctx, cur, a, true)
		}
		if err != nil {
			return nil, n.wrap(err)
		}
	}
	if cur == x {
		cur = x.Copy()
	}
	return cur, nil
}

// Forward reduces the input.
func (n *Reduce[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	x := inputs[0]
	out, err := n.InferShape(shapes(inputs)...)
	if err != nil {
		return nil, err
	}
	ax, _ := n.resolve(x.Dims())
	if len(ax) > 0 && x.Size() == 0 {
		return nil, n.errf(tensor.ErrShape, "cannot reduce empty input of shape %v", x.Shape())
	}
	y, err := n.reduceKept(ctx, x, ax)
	if err != nil {
		return nil, err
	}
	return y.Reshape(out...)
}

// Backward broadcasts the output gradient back over the reduced axes
// (scaled by 1/count for ReduceMean, masked to the maxima for ReduceMax).
func (n *Reduce[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	x := inputs[0]
	ax, _ := n.resolve(x.Dims())
	gk, err := g.Reshape(keptShape(x.Shape(), ax)...)
	if err != nil {
		return nil, n.wrap(err)
	}
	e, ops := n.e, n.e.Ops()
	switch n.op {
	case "ReduceSum":
		gx, err := expand(ctx, e, gk, x.Shape())
		return []*tensor.Tensor[T]{gx}, n.wrap(err)
	case "ReduceMean":
		count := 1
		for _, a := range ax {
			count *= x.Dim(a)
		}
		gx, err := expand(ctx, e, gk, x.Shape())
		if err != nil {
			return nil, n.wrap(err)
		}
		gx, err = e.MulScalar(ctx, gx, ops.FromFloat64(1/float64(count)), gx)
		return []*tensor.Tensor[T]{gx}, n.wrap(err)
	}
	// ReduceMax: mask = (x == max) / count(x == max), gx = mask · g.
	m, err := n.reduceKept(ctx, x, ax)
	if err != nil {
		return nil, err
	}
	mask, err := e.Sub(ctx, x, m)
	if err != nil {
		return nil, n.wrap(err)
	}
	mask, err = e.Map(ctx, mask, func(v T) T {
		if ops.IsZero(v) {
			return ops.One()
		}
		return ops.Zero()
	}, mask)
	if err != nil {
		return nil, n.wrap(err)
	}
	cnt := mask
	for _, a := range ax {
		if cnt, err = e.Sum(ctx, cnt, a, true); err != nil {
			return nil, n.wrap(err)
		}
	}
	w, err := e.Div(ctx, gk, cnt)
	if err != nil {
		return nil, n.wrap(err)
	}
	gx, err := e.Mul(ctx, mask, w, mask)
	return []*tensor.Tensor[T]{gx}, n.wrap(err)
}

// Softmax is Softmax or LogSoftmax along one axis (ONNX attribute "axis",
// default −1). It takes one input.
type Softmax[T tensor.Numeric] struct {
	base[T]
	axis int
}

var (
	_ graph.Node[float32] = (*Softmax[float32])(nil)
	_ graph.ShapeInferer  = (*Softmax[float32])(nil)
)

// NewSoftmax returns a node computing exp(x)/Σexp(x) along axis.
func NewSoftmax[T tensor.Numeric](e compute.Engine[T], axis int) *Softmax[T] {
	return &Softmax[T]{base: base[T]{e: e, op: "Softmax"}, axis: axis}
}

// NewLogSoftmax returns a node computing x − log Σexp(x) along axis.
func NewLogSoftmax[T tensor.Numeric](e compute.Engine[T], axis int) *Softmax[T] {
	return &Softmax[T]{base: base[T]{e: e, op: "LogSoftmax"}, axis: axis}
}

// Attributes returns "axis".
func (n *Softmax[T]) Attributes() map[string]any { return map[string]any{"axis": n.axis} }

// InferShape returns the input shape after checking the axis.
func (n *Softmax[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	if in[0] == nil {
		return nil, nil
	}
	if _, err := n.normAxis(n.axis, len(in[0])); err != nil {
		return nil, err
	}
	return slices.Clone(in[0]), nil
}

// Forward applies the (log-)softmax.
func (n *Softmax[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if _, err := n.InferShape(shapes(inputs)...); err != nil {
		return nil, err
	}
	var (
		y   *tensor.Tensor[T]
		err error
	)
	if n.op == "Softmax" {
		y, err = n.e.Softmax(ctx, inputs[0], n.axis)
	} else {
		y, err = n.e.LogSoftmax(ctx, inputs[0], n.axis)
	}
	return y, n.wrap(err)
}

// Backward returns y⊙(g − Σ g⊙y) for Softmax and g − softmax(x)⊙Σg for
// LogSoftmax, sums along the axis.
func (n *Softmax[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	gx, err := n.backward(ctx, g, inputs[0])
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{gx}, nil
}

func (n *Softmax[T]) backward(ctx context.Context, g, x *tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	e := n.e
	p, err := e.Softmax(ctx, x, n.axis)
	if err != nil {
		return nil, err
	}
	if n.op == "Softmax" {
		gy, err := e.Mul(ctx, g, p)
		if err != nil {
			return nil, err
		}
		s, err := e.Sum(ctx, gy, n.axis, true)
		if err != nil {
			return nil, err
		}
		d, err := e.Sub(ctx, g, s)
		if err != nil {
			return nil, err
		}
		return e.Mul(ctx, p, d, d)
	}
	s, err := e.Sum(ctx, g, n.axis, true)
	if err != nil {
		return nil, err
	}
	if p, err = e.Mul(ctx, p, s, p); err != nil {
		return nil, err
	}
	return e.Sub(ctx, g, p, p)
}
