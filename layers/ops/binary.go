package ops

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// Binary is an elementwise binary node with NumPy broadcasting: Add, Sub,
// Mul, Div or Pow. It takes two inputs a and b.
type Binary[T tensor.Numeric] struct {
	base[T]
}

var (
	_ graph.Node[float32] = (*Binary[float32])(nil)
	_ graph.ShapeInferer  = (*Binary[float32])(nil)
)

// NewAdd returns a node computing a + b.
func NewAdd[T tensor.Numeric](e compute.Engine[T]) *Binary[T] { return newBinary(e, "Add") }

// NewSub returns a node computing a − b.
func NewSub[T tensor.Numeric](e compute.Engine[T]) *Binary[T] { return newBinary(e, "Sub") }

// NewMul returns a node computing a · b.
func NewMul[T tensor.Numeric](e compute.Engine[T]) *Binary[T] { return newBinary(e, "Mul") }

// NewDiv returns a node computing a / b.
func NewDiv[T tensor.Numeric](e compute.Engine[T]) *Binary[T] { return newBinary(e, "Div") }

// NewPow returns a node computing a^b. The gradient with respect to b is
// ln(a)·a^b: NaN for negative a, and taken as 0 where a is 0.
func NewPow[T tensor.Numeric](e compute.Engine[T]) *Binary[T] { return newBinary(e, "Pow") }

func newBinary[T tensor.Numeric](e compute.Engine[T], op string) *Binary[T] {
	return &Binary[T]{base[T]{e: e, op: op}}
}

// Attributes returns an empty map.
func (n *Binary[T]) Attributes() map[string]any { return map[string]any{} }

// InferShape returns the broadcast of the two input shapes.
func (n *Binary[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 2 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 2", len(in))
	}
	if anyUnknown(in) {
		return nil, nil
	}
	return n.broadcastShape(in[0], in[1])
}

// Forward computes the op on inputs a and b.
func (n *Binary[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	a, b := inputs[0], inputs[1]
	var (
		y   *tensor.Tensor[T]
		err error
	)
	switch n.op {
	case "Add":
		y, err = n.e.Add(ctx, a, b)
	case "Sub":
		y, err = n.e.Sub(ctx, a, b)
	case "Mul":
		y, err = n.e.Mul(ctx, a, b)
	case "Div":
		y, err = n.e.Div(ctx, a, b)
	case "Pow":
		y, err = n.e.Pow(ctx, a, b)
	}
	return y, n.wrap(err)
}

// Backward returns the gradients with respect to a and b, each reduced over
// its broadcast axes.
func (n *Binary[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 2); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	ga, gb, err := n.fullGrads(ctx, g, inputs[0], inputs[1])
	if err != nil {
		return nil, n.wrap(err)
	}
	ra, err := unbroadcast(ctx, n.e, ga, inputs[0].Shape())
	if err != nil {
		return nil, n.wrap(err)
	}
	rb, err := unbroadcast(ctx, n.e, gb, inputs[1].Shape())
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{ra, rb}, nil
}

// fullGrads returns the gradients of a and b at the broadcast output shape.
// They may alias g (unbroadcast copies).
func (n *Binary[T]) fullGrads(ctx context.Context, g, a, b *tensor.Tensor[T]) (ga, gb *tensor.Tensor[T], err error) {
	e := n.e
	switch n.op {
	case "Add":
		return g, g, nil
	case "Sub":
		gb, err = e.Neg(ctx, g)
		return g, gb, err
	case "Mul":
		if ga, err = e.Mul(ctx, g, b); err != nil {
			return nil, nil, err
		}
		gb, err = e.Mul(ctx, g, a)
		return ga, gb, err
	case "Div":
		// da = g/b; db = −g·a/b² = −(g/b)·(a/b).
		if ga, err = e.Div(ctx, g, b); err != nil {
			return nil, nil, err
		}
		y, err := e.Div(ctx, a, b)
		if err != nil {
			return nil, nil, err
		}
		if gb, err = e.Mul(ctx, ga, y); err != nil {
			return nil, nil, err
		}
		gb, err = e.Neg(ctx, gb, gb)
		return ga, gb, err
	case "Pow":
		return n.powGrads(ctx, g, a, b)
	}
	return nil, nil, n.errf(graph.ErrInput, "unknown op")
}

// powGrads: da = g·b·a^(b−1), db = g·a^b·ln(a) (0 where a = 0).
func (n *Binary[T]) powGrads(ctx context.Context, g, a, b *tensor.Tensor[T]) (ga, gb *tensor.Tensor[T], err error) {
	e, ops := n.e, n.e.Ops()
	bm1, err := e.AddScalar(ctx, b, ops.FromFloat64(-1))
	if err != nil {
		return nil, nil, err
	}
	p, err := e.Pow(ctx, a, bm1)
	if err != nil {
		return nil, nil, err
	}
	if p, err = e.Mul(ctx, p, b); err != nil {
		return nil, nil, err
	}
	if ga, err = e.Mul(ctx, g, p); err != nil {
		return nil, nil, err
	}
	y, err := e.Pow(ctx, a, b)
	if err != nil {
		return nil, nil, err
	}
	la, err := e.Map(ctx, a, func(v T) T {
		x := ops.ToFloat64(v)
		if x == 0 {
			return ops.Zero()
		}
		return ops.FromFloat64(math.Log(x))
	})
	if err != nil {
		return nil, nil, err
	}
	if y, err = e.Mul(ctx, y, la); err != nil {
		return nil, nil, err
	}
	gb, err = e.Mul(ctx, g, y)
	return ga, gb, err
}
