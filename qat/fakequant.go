package qat

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// STE selects the straight-through estimator used by Backward.
type STE int

const (
	// STEPassThrough passes the gradient to every weight unchanged: the
	// fake-quantize step is treated as the identity. This is the default.
	STEPassThrough STE = iota
	// STEClipped passes the gradient unchanged except where the quantizer
	// saturated (the rounded code x·(1/scale)+zp fell outside
	// [0, 2^bits−1] and was clamped); there it is zero.
	STEClipped
)

// String returns "pass-through" or "clipped".
func (s STE) String() string {
	switch s {
	case STEPassThrough:
		return "pass-through"
	case STEClipped:
		return "clipped"
	}
	return fmt.Sprintf("STE(%d)", int(s))
}

// Layout is the orientation of a weight matrix given to FakeQuantize.
type Layout int

const (
	// LayoutKN is [K][N] row-major (K input features, N output features):
	// the orientation of core.Linear's weight and of an ONNX MatMul's B
	// input. Blocks run down each column.
	LayoutKN Layout = iota
	// LayoutNK is [N][K] row-major, the PyTorch Linear.weight and
	// MatMulNBits orientation. Blocks run along each row.
	LayoutNK
)

// Config is a block-wise quantization scheme for fake quantization, the
// same parameters numeric.BlockOptions and MatMulNBits take.
type Config struct {
	Bits      int  // 2, 4 or 8
	BlockSize int  // 16, 32, 64, 128 or 256
	Symmetric bool // no zero points (2^(Bits−1)) and a signed scale
	STE       STE  // gradient rule of Backward
}

// Options returns the numeric.BlockOptions of the scheme (codes in padding
// set to the zero point, numeric's default).
func (c Config) Options() numeric.BlockOptions {
	return numeric.BlockOptions{Bits: c.Bits, BlockSize: c.BlockSize, Symmetric: c.Symmetric}
}

// Validate returns an error wrapping numeric.ErrQuantization for bits or a
// block size MatMulNBits does not take, or an unknown STE.
func (c Config) Validate() error {
	if err := numeric.ValidateBlockParams(c.Bits, c.BlockSize); err != nil {
		return fmt.Errorf("qat: %w", err)
	}
	if c.STE != STEPassThrough && c.STE != STEClipped {
		return fmt.Errorf("qat: %w: unknown straight-through estimator %d", numeric.ErrQuantization, int(c.STE))
	}
	return nil
}

// FakeQuantize writes dequant(quant(w)) to dst for the k×n weight matrix w in
// the given layout and returns the quantized weights it decoded, exactly as
// numeric.QuantizeBlockwise (LayoutNK) or numeric.QuantizeBlockwiseKN
// (LayoutKN) produce them. dst must hold k*n values and may be w itself.
// The error wraps numeric.ErrQuantization for an invalid config, sizes that
// do not match, or a NaN or infinity in w.
func FakeQuantize(dst, w []float32, k, n int, layout Layout, cfg Config) (*numeric.BlockQuantized, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(dst) != k*n {
		return nil, fmt.Errorf("qat: %w: destination holds %d values, want %d×%d", numeric.ErrQuantization, len(dst), k, n)
	}
	var q *numeric.BlockQuantized
	var err error
	switch layout {
	case LayoutKN:
		q, err = numeric.QuantizeBlockwiseKN(w, k, n, cfg.Options())
	case LayoutNK:
		q, err = numeric.QuantizeBlockwise(w, n, k, cfg.Options())
	default:
		return nil, fmt.Errorf("qat: %w: unknown layout %d", numeric.ErrQuantization, int(layout))
	}
	if err != nil {
		return nil, fmt.Errorf("qat: %w", err)
	}
	if layout == LayoutNK {
		for r := range n {
			if err := q.DequantizeRow(dst[r*k:(r+1)*k], r); err != nil {
				return nil, fmt.Errorf("qat: %w", err)
			}
		}
		return q, nil
	}
	row := make([]float32, k)
	for c := range n {
		if err := q.DequantizeRow(row, c); err != nil {
			return nil, fmt.Errorf("qat: %w", err)
		}
		for i, v := range row {
			dst[i*n+c] = v
		}
	}
	return q, nil
}

// Saturated reports, for every element of w (k×n in the given layout, the
// matrix q was quantized from), whether the quantizer clamped its code:
// whether roundf(x·(1/scale) + zp), computed in float32 as the quantizer
// does, lies outside [0, 2^bits−1]. It is the mask STEClipped zeroes.
func Saturated(q *numeric.BlockQuantized, w []float32, layout Layout) []bool {
	k, n := q.K, q.N
	out := make([]bool, k*n)
	maxq := float32(int(1)<<q.Bits - 1)
	for r := range n {
		for b := range q.KBlocks() {
			s := q.Scale(r, b)
			var inv float32
			if s != 0 {
				inv = 1 / s
			}
			zp := float32(q.ZeroPoint(r, b))
			for i := b * q.BlockSize; i < min(k, (b+1)*q.BlockSize); i++ {
				idx := r*k + i
				if layout == LayoutKN {
					idx = i*n + r
				}
				t := float32(math.Round(float64(float32(w[idx]*inv) + zp)))
				out[idx] = t < 0 || t > maxq
			}
		}
	}
	return out
}

// FakeQuant is a graph node computing dequant(quant(W)) for a 2-D float32
// weight input W, with the straight-through estimator as its Backward (see
// the package documentation). It holds no parameters and no per-call state.
type FakeQuant struct {
	name   string
	cfg    Config
	layout Layout
}

var (
	_ graph.Node[float32] = (*FakeQuant)(nil)
	_ graph.ShapeInferer  = (*FakeQuant)(nil)
)

// NewFakeQuant returns a fake-quantize node for weights in the given layout.
// It returns an error for an invalid config or layout.
func NewFakeQuant(name string, cfg Config, layout Layout) (*FakeQuant, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w", name, err)
	}
	if layout != LayoutKN && layout != LayoutNK {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w: unknown layout %d", name, numeric.ErrQuantization, int(layout))
	}
	return &FakeQuant{name: name, cfg: cfg, layout: layout}, nil
}

// OpType returns "FakeQuant".
func (f *FakeQuant) OpType() string { return "FakeQuant" }

// Attributes returns bits, block_size, symmetric, layout and ste.
func (f *FakeQuant) Attributes() map[string]any {
	layout := "KN"
	if f.layout == LayoutNK {
		layout = "NK"
	}
	return map[string]any{"bits": f.cfg.Bits, "block_size": f.cfg.BlockSize, "symmetric": f.cfg.Symmetric,
		"layout": layout, "ste": f.cfg.STE.String()}
}

// OutputShape returns nil: the output has the input's shape.
func (f *FakeQuant) OutputShape() []int { return nil }

// InferShape returns the input shape, which must have rank 2.
func (f *FakeQuant) InferShape(inputShapes ...[]int) ([]int, error) {
	if len(inputShapes) != 1 {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w: got %d inputs, want 1", f.name, graph.ErrArity, len(inputShapes))
	}
	s := inputShapes[0]
	if s != nil && len(s) != 2 {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w: input shape %v, want rank 2", f.name, tensor.ErrShape, s)
	}
	return append([]int(nil), s...), nil
}

// Parameters returns nil.
func (f *FakeQuant) Parameters() []*graph.Parameter[float32] { return nil }

// kn returns K and N of a weight input.
func (f *FakeQuant) kn(inputs []*tensor.Tensor[float32]) (k, n int, err error) {
	if len(inputs) != 1 || inputs[0] == nil {
		return 0, 0, fmt.Errorf("qat: FakeQuant %q: %w: takes one non-nil input, got %d", f.name, graph.ErrArity, len(inputs))
	}
	w := inputs[0]
	if w.Dims() != 2 {
		return 0, 0, fmt.Errorf("qat: FakeQuant %q: %w: input shape %v, want rank 2", f.name, tensor.ErrShape, w.Shape())
	}
	if f.layout == LayoutKN {
		return w.Dim(0), w.Dim(1), nil
	}
	return w.Dim(1), w.Dim(0), nil
}

// Forward returns dequant(quant(W)) with W's shape.
func (f *FakeQuant) Forward(_ context.Context, inputs ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
	k, n, err := f.kn(inputs)
	if err != nil {
		return nil, err
	}
	out := make([]float32, k*n)
	if _, err := FakeQuantize(out, inputs[0].Data(), k, n, f.layout, f.cfg); err != nil {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w", f.name, err)
	}
	return tensor.New(inputs[0].Shape(), out)
}

// Backward returns a copy of the output gradient (STEPassThrough), or the
// copy with zeros where the quantizer saturated (STEClipped).
func (f *FakeQuant) Backward(_ context.Context, outputGradient *tensor.Tensor[float32], inputs ...*tensor.Tensor[float32]) ([]*tensor.Tensor[float32], error) {
	k, n, err := f.kn(inputs)
	if err != nil {
		return nil, err
	}
	if outputGradient == nil || outputGradient.Size() != k*n {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w: output gradient %v for input %v", f.name, tensor.ErrShape, shapeOf(outputGradient), inputs[0].Shape())
	}
	g := append([]float32(nil), outputGradient.Data()...)
	if f.cfg.STE == STEClipped {
		q, err := FakeQuantize(make([]float32, k*n), inputs[0].Data(), k, n, f.layout, f.cfg)
		if err != nil {
			return nil, fmt.Errorf("qat: FakeQuant %q: %w", f.name, err)
		}
		for i, s := range Saturated(q, inputs[0].Data(), f.layout) {
			if s {
				g[i] = 0
			}
		}
	}
	dw, err := tensor.New(inputs[0].Shape(), g)
	if err != nil {
		return nil, fmt.Errorf("qat: FakeQuant %q: %w", f.name, err)
	}
	return []*tensor.Tensor[float32]{dw}, nil
}

func shapeOf(t *tensor.Tensor[float32]) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}
