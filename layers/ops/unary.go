package ops

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

// Unary is an elementwise unary node (Neg, Abs, Exp, Log, Sqrt, Rsqrt, Tanh,
// Erf, Sigmoid, Gelu, Silu, Relu). It takes one input.
//
// Backward multiplies the output gradient by the derivative, evaluated in
// float64 and rounded once to T. At the kinks of Abs and Relu (x = 0) the
// derivative is taken as 0.
type Unary[T tensor.Numeric] struct {
	base[T]
	fwd   func(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error)
	deriv func(x float64) float64 // nil for Neg
	attrs map[string]any
}

var (
	_ graph.Node[float32] = (*Unary[float32])(nil)
	_ graph.ShapeInferer  = (*Unary[float32])(nil)
)

func newUnary[T tensor.Numeric](e compute.Engine[T], op string,
	fwd func(context.Context, *tensor.Tensor[T], ...*tensor.Tensor[T]) (*tensor.Tensor[T], error),
	deriv func(float64) float64) *Unary[T] {
	return &Unary[T]{base: base[T]{e: e, op: op}, fwd: fwd, deriv: deriv}
}

// NewNeg returns a node computing −x.
func NewNeg[T tensor.Numeric](e compute.Engine[T]) *Unary[T] { return newUnary(e, "Neg", e.Neg, nil) }

// NewAbs returns a node computing |x|.
func NewAbs[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Abs", e.Abs, func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	})
}

// NewExp returns a node computing eˣ.
func NewExp[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Exp", e.Exp, math.Exp)
}

// NewLog returns a node computing ln x.
func NewLog[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Log", e.Log, func(x float64) float64 { return 1 / x })
}

// NewSqrt returns a node computing √x.
func NewSqrt[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Sqrt", e.Sqrt, func(x float64) float64 { return 0.5 / math.Sqrt(x) })
}

// NewRsqrt returns a node computing 1/√x (op type "Rsqrt"; not an ONNX op).
func NewRsqrt[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Rsqrt", e.Rsqrt, func(x float64) float64 { return -0.5 / (x * math.Sqrt(x)) })
}

// NewTanh returns a node computing tanh x.
func NewTanh[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Tanh", e.Tanh, func(x float64) float64 {
		t := math.Tanh(x)
		return 1 - t*t
	})
}

// NewErf returns a node computing the error function.
func NewErf[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Erf", e.Erf, func(x float64) float64 { return 2 / math.SqrtPi * math.Exp(-x*x) })
}

// NewSigmoid returns a node computing 1/(1+e⁻ˣ).
func NewSigmoid[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Sigmoid", e.Sigmoid, func(x float64) float64 {
		s := sigmoid(x)
		return s * (1 - s)
	})
}

// NewSilu returns a node computing x·sigmoid(x) (op type "Silu").
func NewSilu[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Silu", e.Silu, func(x float64) float64 {
		s := sigmoid(x)
		return s * (1 + x*(1-s))
	})
}

// NewRelu returns a node computing max(x, 0).
func NewRelu[T tensor.Numeric](e compute.Engine[T]) *Unary[T] {
	return newUnary(e, "Relu", e.Relu, func(x float64) float64 {
		if x > 0 {
			return 1
		}
		return 0
	})
}

// geluTanhC is √(2/π).
var geluTanhC = math.Sqrt(2 / math.Pi)

// NewGelu returns a GELU node. approximate is the ONNX attribute: "none"
// (or "") for the exact x·Φ(x), "tanh" for the tanh approximation. Any other
// value is an error wrapping graph.ErrInput.
func NewGelu[T tensor.Numeric](e compute.Engine[T], approximate string) (*Unary[T], error) {
	var n *Unary[T]
	switch approximate {
	case "", "none":
		approximate = "none"
		n = newUnary(e, "Gelu", e.Gelu, func(x float64) float64 {
			return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
		})
	case "tanh":
		n = newUnary(e, "Gelu", e.GeluTanh, func(x float64) float64 {
			t := math.Tanh(geluTanhC * (x + 0.044715*x*x*x))
			return 0.5*(1+t) + 0.5*x*(1-t*t)*geluTanhC*(1+3*0.044715*x*x)
		})
	default:
		b := base[T]{op: "Gelu"}
		return nil, b.errf(graph.ErrInput, "approximate %q, want \"none\" or \"tanh\"", approximate)
	}
	n.attrs = map[string]any{"approximate": approximate}
	return n, nil
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	z := math.Exp(x)
	return z / (1 + z)
}

// Attributes returns the node's attributes ("approximate" for Gelu).
func (n *Unary[T]) Attributes() map[string]any {
	m := map[string]any{}
	for k, v := range n.attrs {
		m[k] = v
	}
	return m
}

// InferShape returns the input shape.
func (n *Unary[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	return append([]int(nil), in[0]...), nil
}

// Forward applies the function to the input.
func (n *Unary[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	y, err := n.fwd(ctx, inputs[0])
	return y, n.wrap(err)
}

// Backward returns outputGradient times the derivative at the input.
func (n *Unary[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	if n.deriv == nil { // Neg
		gx, err := n.e.Neg(ctx, g)
		return []*tensor.Tensor[T]{gx}, n.wrap(err)
	}
	ops := n.e.Ops()
	d, err := n.e.Map(ctx, inputs[0], func(v T) T { return ops.FromFloat64(n.deriv(ops.ToFloat64(v))) })
	if err != nil {
		return nil, n.wrap(err)
	}
	gx, err := n.e.Mul(ctx, g, d, d)
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{gx}, nil
}

// Scalar is an elementwise node combining its one input with a constant
// fixed at construction: AddScalar (x + s) or MulScalar (x · s). These are
// engine ops, not ONNX ops; an ONNX importer expresses them as Add or Mul
// with a constant input.
type Scalar[T tensor.Numeric] struct {
	base[T]
	s T
}

var (
	_ graph.Node[float32] = (*Scalar[float32])(nil)
	_ graph.ShapeInferer  = (*Scalar[float32])(nil)
)

// NewAddScalar returns a node computing x + s.
func NewAddScalar[T tensor.Numeric](e compute.Engine[T], s T) *Scalar[T] {
	return &Scalar[T]{base: base[T]{e: e, op: "AddScalar"}, s: s}
}

// NewMulScalar returns a node computing x · s.
func NewMulScalar[T tensor.Numeric](e compute.Engine[T], s T) *Scalar[T] {
	return &Scalar[T]{base: base[T]{e: e, op: "MulScalar"}, s: s}
}

// Attributes returns "scalar" (the constant).
func (n *Scalar[T]) Attributes() map[string]any { return map[string]any{"scalar": n.s} }

// InferShape returns the input shape.
func (n *Scalar[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 1 {
		return nil, n.errf(graph.ErrArity, "got %d input shapes, want 1", len(in))
	}
	return append([]int(nil), in[0]...), nil
}

// Forward computes x + s or x · s.
func (n *Scalar[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	var (
		y   *tensor.Tensor[T]
		err error
	)
	if n.op == "AddScalar" {
		y, err = n.e.AddScalar(ctx, inputs[0], n.s)
	} else {
		y, err = n.e.MulScalar(ctx, inputs[0], n.s)
	}
	return y, n.wrap(err)
}

// Backward returns a copy of outputGradient (AddScalar) or
// outputGradient · s (MulScalar).
func (n *Scalar[T]) Backward(ctx context.Context, g *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if err := n.arity(inputs, 1); err != nil {
		return nil, err
	}
	if err := n.checkGrad(n, g, inputs); err != nil {
		return nil, err
	}
	if n.op == "AddScalar" {
		return []*tensor.Tensor[T]{g.Copy()}, nil
	}
	gx, err := n.e.MulScalar(ctx, g, n.s)
	if err != nil {
		return nil, n.wrap(err)
	}
	return []*tensor.Tensor[T]{gx}, nil
}
