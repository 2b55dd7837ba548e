package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Linear is a dense layer, y = x·W + b, for x of shape [..., in], a weight W
// of shape [in, out] and a bias b of shape [out]; y has shape [..., out].
// (W is stored input-major so the forward pass is a plain MatMul; it is the
// transpose of PyTorch's Linear.weight.)
//
// Forward and Backward are safe for concurrent use; Backward accumulates
// the weight and bias gradients into the parameters under their mutexes.
type Linear[T tensor.Numeric] struct {
	name    string
	e       compute.Engine[T]
	ops     numeric.Arithmetic[T]
	in, out int
	weight  *graph.Parameter[T]
	bias    *graph.Parameter[T]
}

var (
	_ graph.Node[float32] = (*Linear[float32])(nil)
	_ graph.ShapeInferer  = (*Linear[float32])(nil)
	_ graph.Node[float64] = (*Linear[float64])(nil)
	_ graph.ShapeInferer  = (*Linear[float64])(nil)
)

// NewLinear returns a Linear layer called name mapping in features to out
// features. The weight is drawn from the Xavier (Glorot) uniform
// distribution U(−a, a), a = √(6/(in+out)), using rng; the bias is zero.
// Its parameters are named name+".weight" and name+".bias". It returns an
// error for non-positive sizes or a nil engine, ops or rng.
func NewLinear[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T], in, out int, rng *rand.Rand) (*Linear[T], error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("core: Linear %q: %w: sizes %d×%d must be positive", name, tensor.ErrShape, in, out)
	}
	if engine == nil || ops == nil || rng == nil {
		return nil, fmt.Errorf("core: Linear %q: %w: nil engine, ops or rng", name, graph.ErrInput)
	}
	a := math.Sqrt(6 / float64(in+out))
	w := make([]T, in*out)
	for i := range w {
		w[i] = ops.FromFloat64((2*rng.Float64() - 1) * a)
	}
	return NewLinearFromWeights(name, engine, ops,
		tensor.Must(tensor.New([]int{in, out}, w)), tensor.Must(tensor.New[T]([]int{out}, nil)))
}

// NewLinearFromWeights returns a Linear layer with the given weight [in, out]
// and bias [out] (nil for no bias). The layer keeps the tensors (it does not
// copy them); training updates them in place. It returns an error wrapping
// tensor.ErrShape for mismatched shapes.
func NewLinearFromWeights[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T], weight, bias *tensor.Tensor[T]) (*Linear[T], error) {
	if engine == nil || ops == nil || weight == nil {
		return nil, fmt.Errorf("core: Linear %q: %w: nil engine, ops or weight", name, graph.ErrInput)
	}
	if weight.Dims() != 2 {
		return nil, fmt.Errorf("core: Linear %q: %w: weight has shape %v, want [in, out]", name, tensor.ErrShape, weight.Shape())
	}
	l := &Linear[T]{name: name, e: engine, ops: ops, in: weight.Dim(0), out: weight.Dim(1)}
	var err error
	if l.weight, err = graph.NewParameter(name+".weight", weight); err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", name, err)
	}
	if bias != nil {
		if !tensor.SameShape(bias.Shape(), []int{l.out}) {
			return nil, fmt.Errorf("core: Linear %q: %w: bias has shape %v, want [%d]", name, tensor.ErrShape, bias.Shape(), l.out)
		}
		if l.bias, err = graph.NewParameter(name+".bias", bias); err != nil {
			return nil, fmt.Errorf("core: Linear %q: %w", name, err)
		}
	}
	return l, nil
}

// OpType returns "Linear" (ONNX expresses it as Gemm, or MatMul and Add for
// inputs of rank above 2).
func (l *Linear[T]) OpType() string { return "Linear" }

// Attributes returns the feature counts and whether there is a bias.
func (l *Linear[T]) Attributes() map[string]any {
	return map[string]any{"in_features": l.in, "out_features": l.out, "bias": l.bias != nil}
}

// OutputShape returns nil: the output has the input's leading axes, which
// are known only from the input (see InferShape).
func (l *Linear[T]) OutputShape() []int { return nil }

// InferShape maps an input shape [..., in] to [..., out]. It returns an
// error wrapping tensor.ErrShape for a scalar input or a last axis other
// than in (or -1).
func (l *Linear[T]) InferShape(inputShapes ...[]int) ([]int, error) {
	if len(inputShapes) != 1 {
		return nil, fmt.Errorf("core: Linear %q: %w: got %d inputs, want 1", l.name, graph.ErrArity, len(inputShapes))
	}
	s := inputShapes[0]
	if s == nil {
		return nil, nil
	}
	if len(s) == 0 || (s[len(s)-1] >= 0 && s[len(s)-1] != l.in) {
		return nil, fmt.Errorf("core: Linear %q: %w: input shape %v, want [..., %d]", l.name, tensor.ErrShape, s, l.in)
	}
	out := append([]int{}, s...)
	out[len(out)-1] = l.out
	return out, nil
}

// Parameters returns the weight and (if present) the bias.
func (l *Linear[T]) Parameters() []*graph.Parameter[T] {
	if l.bias == nil {
		return []*graph.Parameter[T]{l.weight}
	}
	return []*graph.Parameter[T]{l.weight, l.bias}
}

// Weight returns the weight parameter ([in, out]).
func (l *Linear[T]) Weight() *graph.Parameter[T] { return l.weight }

// Bias returns the bias parameter ([out]), or nil if the layer has none.
func (l *Linear[T]) Bias() *graph.Parameter[T] { return l.bias }

// flat views x [..., in] as [rows, in].
func (l *Linear[T]) flat(inputs []*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if len(inputs) != 1 || inputs[0] == nil {
		return nil, fmt.Errorf("core: Linear %q: %w: takes one non-nil input, got %d", l.name, graph.ErrArity, len(inputs))
	}
	x := inputs[0]
	if x.Dims() == 0 || x.Dim(-1) != l.in {
		return nil, fmt.Errorf("core: Linear %q: %w: input shape %v, want [..., %d]", l.name, tensor.ErrShape, x.Shape(), l.in)
	}
	return x.Reshape(-1, l.in)
}

// Forward returns x·W + b with shape [..., out].
func (l *Linear[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	x2, err := l.flat(inputs)
	if err != nil {
		return nil, err
	}
	y, err := l.e.MatMul(ctx, x2, l.weight.Value)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	if l.bias != nil {
		if y, err = l.e.Add(ctx, y, l.bias.Value, y); err != nil {
			return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
		}
	}
	shape := inputs[0].Shape()
	shape[len(shape)-1] = l.out
	return y.Reshape(shape...)
}

// Backward returns the input gradient g·Wᵀ and accumulates the weight
// gradient xᵀ·g and the bias gradient Σ g (over all leading axes).
func (l *Linear[T]) Backward(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	x2, err := l.flat(inputs)
	if err != nil {
		return nil, err
	}
	if outputGradient == nil || outputGradient.Size() != x2.Dim(0)*l.out {
		return nil, fmt.Errorf("core: Linear %q: %w: output gradient %v for input %v", l.name, tensor.ErrShape, linearShapeOf(outputGradient), inputs[0].Shape())
	}
	g2, err := outputGradient.Reshape(-1, l.out)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	wt, err := l.e.Transpose(ctx, l.weight.Value, nil)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	dx, err := l.e.MatMul(ctx, g2, wt)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	xt, err := l.e.Transpose(ctx, x2, nil)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	dw, err := l.e.MatMul(ctx, xt, g2)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	if err := l.weight.AccumulateGradient(l.ops, dw); err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	if l.bias != nil {
		db, err := l.e.Sum(ctx, g2, 0, false)
		if err != nil {
			return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
		}
		if err := l.bias.AccumulateGradient(l.ops, db); err != nil {
			return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
		}
	}
	dxs, err := dx.Reshape(inputs[0].Shape()...)
	if err != nil {
		return nil, fmt.Errorf("core: Linear %q: %w", l.name, err)
	}
	return []*tensor.Tensor[T]{dxs}, nil
}

func linearShapeOf[T tensor.Numeric](t *tensor.Tensor[T]) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}
