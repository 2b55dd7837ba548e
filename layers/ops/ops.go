// Package ops provides graph.Node implementations of the compute.Engine
// operations, each with a Backward pass, named after their ONNX operators
// (Add, MatMul, Softmax, Gather, ...).
//
// A node is built with the engine it runs on, e.g. ops.NewAdd(engine), plus
// the op's attributes (axis, perm, keepdims, ...):
//
//   - Binary (broadcasting): NewAdd, NewSub, NewMul, NewDiv, NewPow
//   - Unary: NewNeg, NewAbs, NewExp, NewLog, NewSqrt, NewRsqrt, NewTanh,
//     NewErf, NewSigmoid, NewGelu (approximate "none" or "tanh"), NewSilu,
//     NewRelu; Scalar: NewAddScalar, NewMulScalar
//   - Linear: NewMatMul (NumPy batch broadcasting), NewTranspose
//   - Reduce: NewReduceSum, NewReduceMean, NewReduceMax; Softmax:
//     NewSoftmax, NewLogSoftmax
//   - Data movement: NewGather (also a graph.MixedNode with int64 indices
//     as an input), NewScatterAdd, NewConcat, NewSplit (one node per
//     output), NewSlice, NewReshape
//
// Every node's Backward is checked against finite differences with
// graph/gradcheck in float32 and float64. Nodes hold no mutable
// state: Forward and Backward are safe for concurrent use, and Backward
// recomputes what it needs from the inputs instead of caching activations.
//
// Input and output shapes are known only when inputs arrive, so OutputShape
// returns nil (rank unknown) unless a node's attributes fix the shape (a
// Reshape to a fully specified shape). Every node implements
// graph.ShapeInferer, which computes the output shape from the input shapes
// (-1 marks a dynamic dimension and a nil shape an unknown rank, in the
// inputs and in the result).
//
// Backward returns freshly allocated gradients the caller owns; it never
// returns outputGradient itself. It reduces gradients over broadcast axes so
// that each input gradient has its input's shape. Inputs that are not
// differentiable (the int64 indices of a Gather used as a graph.MixedNode)
// get a nil gradient. A wrong number of inputs wraps graph.ErrArity, nil
// inputs and bad attributes graph.ErrInput, bad shapes and axes
// tensor.ErrShape or tensor.ErrIndex.
package ops

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// base holds what every node has: its engine and op type.
type base[T tensor.Numeric] struct {
	e  compute.Engine[T]
	op string
}

// OpType returns the ONNX operator name.
func (b *base[T]) OpType() string { return b.op }

// Parameters returns nil: the nodes of this package have no parameters.
func (b *base[T]) Parameters() []*graph.Parameter[T] { return nil }

// OutputShape returns nil: the output shape depends on the inputs (see
// InferShape).
func (b *base[T]) OutputShape() []int { return nil }

// errf returns an error "ops: OP: msg" wrapping sentinel.
func (b *base[T]) errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("ops: %s: %s: %w", b.op, fmt.Sprintf(format, args...), sentinel)
}

// wrap prefixes an engine error with the op name.
func (b *base[T]) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ops: %s: %w", b.op, err)
}

// arity checks the number of inputs and that none is nil.
func (b *base[T]) arity(inputs []*tensor.Tensor[T], want int) error {
	if len(inputs) != want {
		return b.errf(graph.ErrArity, "got %d inputs, want %d", len(inputs), want)
	}
	return b.notNil(inputs)
}

func (b *base[T]) notNil(inputs []*tensor.Tensor[T]) error {
	for i, in := range inputs {
		if in == nil {
			return b.errf(graph.ErrInput, "input %d is nil", i)
		}
	}
	return nil
}

// checkGrad checks that the output gradient has the output shape that
// infer gives for the inputs.
func (b *base[T]) checkGrad(infer graph.ShapeInferer, g *tensor.Tensor[T], inputs []*tensor.Tensor[T]) error {
	if g == nil {
		return b.errf(graph.ErrInput, "nil output gradient")
	}
	want, err := infer.InferShape(shapes(inputs)...)
	if err != nil {
		return err
	}
	if !tensor.SameShape(g.Shape(), want) {
		return b.errf(tensor.ErrShape, "output gradient has shape %v, want %v for inputs %v", g.Shape(), want, shapes(inputs))
	}
	return nil
}

// anyUnknown reports whether some shape is nil (rank unknown).
func anyUnknown(in [][]int) bool {
	for _, s := range in {
		if s == nil {
			return true
		}
	}
	return false
}

// shapes returns the shapes of ts, with []int{} (not nil, which would mean
// an unknown rank) for scalars.
func shapes[T tensor.Numeric](ts []*tensor.Tensor[T]) [][]int {
	s := make([][]int, len(ts))
	for i, t := range ts {
		if t != nil {
			s[i] = append([]int{}, t.Shape()...)
		}
	}
	return s
}

// normAxis maps a possibly negative axis into [0, rank).
func (b *base[T]) normAxis(axis, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, b.errf(tensor.ErrIndex, "axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

// broadcastShape returns the NumPy broadcast of shapes x and y, where -1
// is a dynamic dimension.
func (b *base[T]) broadcastShape(x, y []int) ([]int, error) {
	n := max(len(x), len(y))
	out := make([]int, n)
	for i := range n {
		dx, dy := 1, 1
		if j := i - (n - len(x)); j >= 0 {
			dx = x[j]
		}
		if j := i - (n - len(y)); j >= 0 {
			dy = y[j]
		}
		switch {
		case dx == dy || dy == 1:
			out[i] = dx
		case dx == 1:
			out[i] = dy
		case dx == -1 || dy == -1:
			// A dynamic size meets a known size > 1: at run time the
			// dynamic one must be 1 or equal.
			out[i] = max(dx, dy)
		default:
			return nil, b.errf(tensor.ErrShape, "shapes %v and %v do not broadcast", x, y)
		}
	}
	return out, nil
}

// unbroadcast sums g over the axes along which an operand of the given
// shape was broadcast to g's shape, returning a new tensor of that shape.
func unbroadcast[T tensor.Numeric](ctx context.Context, e compute.Engine[T], g *tensor.Tensor[T], shape []int) (*tensor.Tensor[T], error) {
	gs := g.Shape()
	if tensor.SameShape(gs, shape) {
		return g.Copy(), nil
	}
	lead := len(gs) - len(shape)
	if lead < 0 {
		return nil, fmt.Errorf("ops: unbroadcast: gradient shape %v has lower rank than %v: %w", gs, shape, tensor.ErrShape)
	}
	cur := g
	if lead > 0 {
		// Fold the leading axes into one and sum it away.
		n := 1
		for _, d := range gs[:lead] {
			n *= d
		}
		v, err := g.Reshape(append([]int{n}, gs[lead:]...)...)
		if err != nil {
			return nil, err
		}
		if cur, err = e.Sum(ctx, v, 0, false); err != nil {
			return nil, err
		}
	}
	for i, d := range shape {
		if d == 1 && cur.Dim(i) != 1 {
			var err error
			if cur, err = e.Sum(ctx, cur, i, true); err != nil {
				return nil, err
			}
		} else if d != cur.Dim(i) {
			return nil, fmt.Errorf("ops: unbroadcast: gradient shape %v does not broadcast from %v: %w", gs, shape, tensor.ErrShape)
		}
	}
	if cur == g {
		return g.Copy(), nil
	}
	return cur.Reshape(shape...)
}

// expand broadcasts g to shape (a new tensor).
func expand[T tensor.Numeric](ctx context.Context, e compute.Engine[T], g *tensor.Tensor[T], shape []int) (*tensor.Tensor[T], error) {
	z, err := tensor.New[T](shape, nil)
	if err != nil {
		return nil, err
	}
	return e.Add(ctx, z, g, z)
}
