package qat

import (
	"context"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Linear is a core.Linear trained through fake quantization:
// y = x·FakeQuantize(W) + b, with W [in, out] = [K, N] quantized block-wise
// along K per output feature, exactly as Export (and MatMulNBits) will store
// it. It shares the wrapped layer's parameters, so the float weights it trains
// are the wrapped layer's; Backward accumulates the straight-through weight
// gradient xᵀ·g (masked by STEClipped) and the exact bias gradient.
//
// Forward and Backward are safe for concurrent use and keep no per-call
// state: Backward recomputes the fake-quantized weight (O(K·N), small next to
// the matrix products).
type Linear struct {
	name   string
	e      compute.Engine[float32]
	cfg    Config
	weight *graph.Parameter[float32]
	bias   *graph.Parameter[float32]
	in     int
	out    int
}

var (
	_ graph.Node[float32] = (*Linear)(nil)
	_ graph.ShapeInferer  = (*Linear)(nil)
)

// NewLinear wraps base (whose parameters it shares) with fake quantization
// of its weight under cfg. Its name is base's parameter prefix (the weight
// is named name+".weight"). It returns an error for a nil engine or layer or
// an invalid config.
func NewLinear(engine compute.Engine[float32], base *core.Linear[float32], cfg Config) (*Linear, error) {
	if engine == nil || base == nil {
		return nil, fmt.Errorf("qat: Linear: %w: nil engine or layer", graph.ErrInput)
	}
	w := base.Weight()
	name := strings.TrimSuffix(w.Name, ".weight")
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("qat: Linear %q: %w", name, err)
	}
	return &Linear{name: name, e: engine, cfg: cfg, weight: w, bias: base.Bias(), in: w.Value.Dim(0), out: w.Value.Dim(1)}, nil
}

// Config returns the layer's quantization scheme.
func (l *Linear) Config() Config { return l.cfg }

// OpType returns "QATLinear".
func (l *Linear) OpType() string { return "QATLinear" }

// Attributes returns the feature counts, whether there is a bias and the
// quantization scheme.
func (l *Linear) Attributes() map[string]any {
	return map[string]any{"in_features": l.in, "out_features": l.out, "bias": l.bias != nil,
		"bits": l.cfg.Bits, "block_size": l.cfg.BlockSize, "symmetric": l.cfg.Symmetric, "ste": l.cfg.STE.String()}
}

// OutputShape returns nil: the output has the input's leading axes.
func (l *Linear) OutputShape() []int { return nil }

// InferShape maps an input shape [..., in] to [..., out].
func (l *Linear) InferShape(inputShapes ...[]int) ([]int, error) {
	if len(inputShapes) != 1 {
		return nil, fmt.Errorf("qat: Linear %q: %w: got %d inputs, want 1", l.name, graph.ErrArity, len(inputShapes))
	}
	s := inputShapes[0]
	if s == nil {
		return nil, nil
	}
	if len(s) == 0 || (s[len(s)-1] >= 0 && s[len(s)-1] != l.in) {
		return nil, fmt.Errorf("qat: Linear %q: %w: input shape %v, want [..., %d]", l.name, tensor.ErrShape, s, l.in)
	}
	out := append([]int{}, s...)
	out[len(out)-1] = l.out
	return out, nil
}

// Parameters returns the weight and (if present) the bias of the wrapped
// layer.
func (l *Linear) Parameters() []*graph.Parameter[float32] {
	if l.bias == nil {
		return []*graph.Parameter[float32]{l.weight}
	}
	return []*graph.Parameter[float32]{l.weight, l.bias}
}

// Weight returns the float weight parameter ([in, out]).
func (l *Linear) Weight() *graph.Parameter[float32] { return l.weight }

// Bias returns the bias parameter, or nil.
func (l *Linear) Bias() *graph.Parameter[float32] { return l.bias }

// QuantizedWeight returns the fake-quantized weight [in, out] the forward
// pass uses, and its block-wise quantization.
func (l *Linear) QuantizedWeight() (*tensor.Tensor[float32], *numeric.BlockQuantized, error) {
	wq := make([]float32, l.in*l.out)
	q, err := FakeQuantize(wq, l.weight.Value.Data(), l.in, l.out, LayoutKN, l.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("qat: Linear %q: %w", l.name, err)
	}
	t, err := tensor.New([]int{l.in, l.out}, wq)
	return t, q, err
}

// Export returns the MatMulNBits layer of the current weights: the weight
// quantized with numeric.QuantizeBlockwiseKN under the layer's scheme (so its
// dequantized weights equal QuantizedWeight bit for bit) and a copy of the
// bias. accuracyLevel and opts are passed to core.NewMatMulNBitsQuantized.
func (l *Linear) Export(accuracyLevel int, opts ...core.MatMulNBitsOption) (*core.MatMulNBits[float32], error) {
	q, err := numeric.QuantizeBlockwiseKN(l.weight.Value.Data(), l.in, l.out, l.cfg.Options())
	if err != nil {
		return nil, fmt.Errorf("qat: Linear %q: %w", l.name, err)
	}
	var bias *tensor.Tensor[float32]
	if l.bias != nil {
		bias = l.bias.Value.Copy()
	}
	m, err := core.NewMatMulNBitsQuantized(l.name, l.e, l.e.Ops(), q, accuracyLevel, bias, opts...)
	if err != nil {
		return nil, fmt.Errorf("qat: Linear %q: %w", l.name, err)
	}
	return m, nil
}

// flat views x [..., in] as [rows, in].
func (l *Linear) flat(inputs []*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
	if len(inputs) != 1 || inputs[0] == nil {
		return nil, fmt.Errorf("qat: Linear %q: %w: takes one non-nil input, got %d", l.name, graph.ErrArity, len(inputs))
	}
	x := inputs[0]
	if x.Dims() == 0 || x.Dim(-1) != l.in {
		return nil, fmt.Errorf("qat: Linear %q: %w: input shape %v, want [..., %d]", l.name, tensor.ErrShape, x.Shape(), l.in)
	}
	return x.Reshape(-1, l.in)
}

// Forward returns x·FakeQuantize(W) + b with shape [..., out].
func (l *Linear) Forward(ctx context.Context, inputs ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
	x2, err := l.flat(inputs)
	if err != nil {
		return nil, err
	}
	wq, _, err := l.QuantizedWeight()
	if err != nil {
		return nil, err
	}
	y, err := l.e.MatMul(ctx, x2, wq)
	if err != nil {
		return nil, fmt.Errorf("qat: Linear %q: %w", l.name, err)
	}
	if l.bias != nil {
		if y, err = l.e.Add(ctx, y, l.bias.Value, y); err != nil {
			return nil, fmt.Errorf("qat: Linear %q: %w", l.name, err)
		}
	}
	shape := inputs[0].Shape()
	shape[len(shape)-1] = l.out
	return y.Reshape(shape...)
}

// Backward returns the input gradient g·FakeQuantize(W)ᵀ and accumulates the
// straight-through weight gradient xᵀ·g and the bias gradient Σ g.
func (l *Linear) Backward(ctx context.Context, outputGradient *tensor.Tensor[float32], inputs ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
	x2, err := l.flat(inputs)
	if err != nil {
		return nil, err
	}
	if outputGradient == nil || outputGradient.Size() != x2.Dim(0)*l.out {
		return nil, fmt.Errorf("qat: Linear %q: %w: output gradient %v for input %v", l.name, tensor.ErrShape, shapeOf(outputGradient), inputs[0].Shape())
	}
	wrap := func(err error) error { return fmt.Errorf("qat: Linear %q: %w", l.name, err) }
	g2, err := outputGradient.Reshape(-1, l.out)
	if err != nil {
		return nil, wrap(err)
	}
	wq, q, err := l.QuantizedWeight()
	if err != nil {
		return nil, err
	}
	wt, err := l.e.Transpose(ctx, wq, nil)
	if err != nil {
		return nil, wrap(err)
	}
	dx, err := l.e.MatMul(ctx, g2, wt)
	if err != nil {
		return nil, wrap(err)
	}
	xt, err := l.e.Transpose(ctx, x2, nil)
	if err != nil {
		return nil, wrap(err)
	}
	dw, err := l.e.MatMul(ctx, xt, g2)
	if err != nil {
		return nil, wrap(err)
	}
	if l.cfg.STE == STEClipped {
		d := dw.Data()
		for i, s := range Saturated(q, l.weight.Value.Data(), LayoutKN) {
			if s {
				d[i] = 0
			}
		}
	}
	if err := l.weight.AccumulateGradient(nil, dw); err != nil {
		return nil, wrap(err)
	}
	if l.bias != nil {
		db, err := l.e.Sum(ctx, g2, 0, false)
		if err != nil {
			return nil, wrap(err)
		}
		if err := l.bias.AccumulateGradient(nil, db); err != nil {
			return nil, wrap(err)
		}
	}
	dxs, err := dx.Reshape(inputs[0].Shape()...)
	if err != nil {
		return nil, wrap(err)
	}
	return []*tensor.Tensor[float32]{dxs}, nil
}
