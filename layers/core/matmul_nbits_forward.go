package core

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Forward computes Y = A · Wᵀ + bias for the single input A of shape
// [..., K] (rank ≥ 1), returning [..., N]. At accuracy level 4 (without
// float zero points or g_idx, and except bits 2 with block size 16 or 256)
// A is quantized to int8 per row and block as ONNX Runtime's CompInt8 path
// does.
// Errors wrap tensor.ErrShape for a missing input or a last dimension ≠ K.
func (l *MatMulNBits[T]) Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("core: MatMulNBits %q: Forward takes 1 input (A), got %d: %w", l.name, len(inputs), tensor.ErrShape)
	}
	return l.forward(ctx, l.q, inputs[0], l.biasValue(), true)
}

// Backward returns [dA] with dA = dY · W (W dequantized from the packed
// weights; at accuracy level 4 this is the straight-through gradient, the
// int8 rounding of A being treated as the identity), and adds Σ_rows dY to
// the bias parameter's gradient when the layer has a bias. inputs must be
// the A given to the matching Forward; outputGradient has the output's
// shape.
func (l *MatMulNBits[T]) Backward(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("core: MatMulNBits %q: Backward takes 1 input (A), got %d: %w", l.name, len(inputs), tensor.ErrShape)
	}
	da, db, err := l.backward(ctx, l.q, outputGradient, inputs[0], true, l.bias != nil)
	if err != nil {
		return nil, err
	}
	if l.bias != nil {
		if err := l.bias.AccumulateGradient(l.ops, db); err != nil {
			return nil, fmt.Errorf("core: MatMulNBits %q: Backward: %w", l.name, err)
		}
	}
	return []*tensor.Tensor[T]{da}, nil
}

// ForwardAny implements graph.MixedNode, for graphs whose edges carry
// several element types. inputs are either A alone (as for Forward) or the
// inputs of an ONNX MatMulNBits node in order: A (T), B (uint8), scales (T)
// and optionally zero_points (uint8 packed, or T), g_idx (int32) and bias
// (T), where an absent optional input may be nil or an empty tensor. With
// weight inputs the layer's attributes (Attrs) apply to them instead of the
// stored weights, so a Constant[uint8] can feed B; they are validated as by
// NewMatMulNBitsONNX on every call and never cached. As in ONNX Runtime,
// whose int8 kernels need prepacked initializers, weights given as inputs
// always take the float32 path, whatever the accuracy level. Wrong element
// types give an error wrapping graph.ErrDType.
func (l *MatMulNBits[T]) ForwardAny(ctx context.Context, inputs ...tensor.Any) (*tensor.Tensor[T], error) {
	a, q, bias, own, err := l.unpackInputs("ForwardAny", inputs)
	if err != nil {
		return nil, err
	}
	return l.forward(ctx, q, a, bias, own)
}

// BackwardAny implements graph.MixedNode. It returns one gradient per input:
// dA first; with weight inputs, the gradient of a bias input (Σ_rows dY) in
// position 5 and nil for B, scales, zero_points and g_idx (the quantized
// weights are frozen). With A alone it is Backward, including the bias
// parameter's gradient.
func (l *MatMulNBits[T]) BackwardAny(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...tensor.Any) ([]*tensor.Tensor[T], error) {
	a, q, bias, own, err := l.unpackInputs("BackwardAny", inputs)
	if err != nil {
		return nil, err
	}
	if own {
		return l.Backward(ctx, outputGradient, a)
	}
	da, db, err := l.backward(ctx, q, outputGradient, a, false, bias != nil)
	if err != nil {
		return nil, err
	}
	grads := make([]*tensor.Tensor[T], len(inputs))
	grads[0] = da
	if bias != nil {
		grads[5] = db
	}
	return grads, nil
}

// InferShape implements graph.ShapeInferer: [..., K] gives [..., N]. A nil
// (unknown) input shape gives nil; a known last dimension other than K is an
// error wrapping tensor.ErrShape.
func (l *MatMulNBits[T]) InferShape(inputShapes ...[]int) ([]int, error) {
	if len(inputShapes) < 1 {
		return nil, fmt.Errorf("core: MatMulNBits %q: InferShape: no input shapes: %w", l.name, tensor.ErrShape)
	}
	s := inputShapes[0]
	if s == nil {
		return nil, nil
	}
	if len(s) < 1 || (s[len(s)-1] != -1 && s[len(s)-1] != l.q.k) {
		return nil, fmt.Errorf("core: MatMulNBits %q: input shape %v, want [..., %d] (last dimension K): %w", l.name, s, l.q.k, tensor.ErrShape)
	}
	out := append([]int(nil), s...)
	out[len(out)-1] = l.q.n
	return out, nil
}

// asTensor returns x as a *tensor.Tensor[U]; ok is false for another element
// type. present is false for nil, a typed nil or an empty tensor.
func asTensor[U tensor.Numeric](x tensor.Any) (t *tensor.Tensor[U], present, ok bool) {
	if x == nil {
		return nil, false, true
	}
	t, ok = x.(*tensor.Tensor[U])
	if !ok {
		return nil, false, false
	}
	return t, t != nil && t.Size() > 0, true
}

// unpackInputs splits the dtype-erased inputs of ForwardAny/BackwardAny.
// own reports that the layer's stored weights (and bias parameter) are used.
func (l *MatMulNBits[T]) unpackInputs(op string, in []tensor.Any) (a *tensor.Tensor[T], q *qweights, bias *tensor.Tensor[T], own bool, err error) {
	dt := numeric.DTypeOf[T]()
	bad := func(i int, what string, want numeric.DType) error {
		got := "nil"
		if in[i] != nil {
			got = in[i].DType().String()
		}
		return fmt.Errorf("core: MatMulNBits %q: %s: input %d (%s) is %s, want %s: %w", l.name, op, i, what, got, want, graph.ErrDType)
	}
	if len(in) < 1 || len(in) > 6 {
		return nil, nil, nil, false, fmt.Errorf("core: MatMulNBits %q: %s takes 1 to 6 inputs (A, B, scales, zero_points, g_idx, bias), got %d: %w",
			l.name, op, len(in), tensor.ErrShape)
	}
	a, _, ok := asTensor[T](in[0])
	if !ok {
		return nil, nil, nil, false, bad(0, "A", dt)
	}
	if len(in) == 1 {
		return a, l.q, l.biasValue(), true, nil
	}
	if len(in) < 3 {
		return nil, nil, nil, false, fmt.Errorf("core: MatMulNBits %q: %s: weight inputs need B and scales, got %d inputs: %w", l.name, op, len(in), tensor.ErrShape)
	}
	b, _, ok := asTensor[uint8](in[1])
	if !ok {
		return nil, nil, nil, false, bad(1, "B", numeric.Uint8)
	}
	scales, _, ok := asTensor[T](in[2])
	if !ok {
		return nil, nil, nil, false, bad(2, "scales", dt)
	}
	var zp tensor.Any
	if len(in) > 3 && in[3] != nil && in[3].Size() > 0 {
		zp = in[3]
	}
	var gIdx *tensor.Tensor[int32]
	if len(in) > 4 {
		g, present, ok := asTensor[int32](in[4])
		if !ok {
			return nil, nil, nil, false, bad(4, "g_idx", numeric.Int32)
		}
		if present {
			gIdx = g
		}
	}
	if len(in) > 5 {
		bt, present, ok := asTensor[T](in[5])
		if !ok {
			return nil, nil, nil, false, bad(5, "bias", dt)
		}
		if present {
			if bt.Dims() != 1 || bt.Size() != l.q.n {
				return nil, nil, nil, false, fmt.Errorf("core: MatMulNBits %q: %s: bias shape %v, want [%d] (N): %w", l.name, op, bt.Shape(), l.q.n, tensor.ErrShape)
			}
			bias = bt
		}
	}
	q, err = onnxWeights(l.name, l.ops, l.Attrs(), b, scales, zp, gIdx)
	if err != nil {
		return nil, nil, nil, false, err
	}
	return a, q, bias, false, nil
}

func (l *MatMulNBits[T]) biasValue() *tensor.Tensor[T] {
	if l.bias == nil {
		return nil
	}
	return l.bias.Value
}

// checkInput validates A against q and returns the row count M.
func (l *MatMulNBits[T]) checkInput(op string, q *qweights, a *tensor.Tensor[T]) (int, error) {
	if a == nil {
		return 0, fmt.Errorf("core: MatMulNBits %q: %s: nil input A: %w", l.name, op, tensor.ErrShape)
	}
	if a.Dims() < 1 || a.Dim(-1) != q.k {
		return 0, fmt.Errorf("core: MatMulNBits %q: %s: input shape %v, want [..., %d] (last dimension K): %w",
			l.name, op, a.Shape(), q.k, tensor.ErrShape)
	}
	return a.Size() / q.k, nil
}

// forward computes the output with weights q; own allows the layer's
// dequantization cache (q must then be l.q).
func (l *MatMulNBits[T]) forward(ctx context.Context, q *qweights, a, bias *tensor.Tensor[T], own bool) (*tensor.Tensor[T], error) {
	m, err := l.checkInput("Forward", q, a)
	if err != nil {
		return nil, err
	}
	shape := a.Shape()
	shape[len(shape)-1] = q.n
	af := toFloat32(l.ops, a.Data(), false)
	var bf []float32
	if bias != nil {
		bf = toFloat32(l.ops, bias.Data(), false)
	}
	y := make([]float32, m*q.n)
	// The fused kernels serve the layer's own weights (packed once); weights
	// given as inputs and the reference option use the reference loops.
	var fused *qgemm.Matrix
	if own && !l.cfg.reference {
		fused = q.fused
	}
	if own && q.useInt8() {
		if fused != nil {
			err = fused.MatMul(ctx, y, af, m, bf, qgemm.Options{Activations: qgemm.Int8})
		} else {
			err = q.gemmInt8(ctx, af, m, bf, y)
		}
	} else {
		var w []float32
		if own {
			w, err = l.weightCache(ctx)
		}
		switch {
		case err != nil:
		case w == nil && fused != nil:
			err = fused.MatMul(ctx, y, af, m, bf, qgemm.Options{Activations: qgemm.Float32})
		default:
			err = q.gemmF32(ctx, af, m, bf, w, y)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: Forward: %w", l.name, err)
	}
	out, err := tensor.New(shape, fromFloat32(l.ops, y))
	if err != nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: Forward: %w", l.name, err)
	}
	l.mu.Lock()
	l.lastShape = shape
	l.mu.Unlock()
	return out, nil
}

// backward returns dA = dY·W and, when withBias, db = Σ_rows dY as an [N]
// tensor.
func (l *MatMulNBits[T]) backward(ctx context.Context, q *qweights, dyT, a *tensor.Tensor[T], own, withBias bool) (da, db *tensor.Tensor[T], err error) {
	m, err := l.checkInput("Backward", q, a)
	if err != nil {
		return nil, nil, err
	}
	want := a.Shape()
	want[len(want)-1] = q.n
	if dyT == nil || !tensor.SameShape(dyT.Shape(), want) {
		var got []int
		if dyT != nil {
			got = dyT.Shape()
		}
		return nil, nil, fmt.Errorf("core: MatMulNBits %q: Backward: output gradient shape %v, want %v: %w", l.name, got, want, tensor.ErrShape)
	}
	dy := toFloat32(l.ops, dyT.Data(), false)
	var w []float32
	if own {
		if w, err = l.weightCache(ctx); err != nil {
			return nil, nil, fmt.Errorf("core: MatMulNBits %q: Backward: %w", l.name, err)
		}
	}
	dad := make([]float32, m*q.k)
	if err := q.gemmBackward(ctx, dy, m, w, dad); err != nil {
		return nil, nil, fmt.Errorf("core: MatMulNBits %q: Backward: %w", l.name, err)
	}
	if da, err = tensor.New(a.Shape(), fromFloat32(l.ops, dad)); err != nil {
		return nil, nil, err
	}
	if withBias {
		s := make([]float32, q.n)
		for r := 0; r < m; r++ {
			for j, v := range dy[r*q.n : (r+1)*q.n] {
				s[j] += v
			}
		}
		db = tensor.Must(tensor.New([]int{q.n}, fromFloat32(l.ops, s)))
	}
	return da, db, nil
}

var (
	_ graph.Node[float32]      = (*MatMulNBits[float32])(nil)
	_ graph.MixedNode[float32] = (*MatMulNBits[float32])(nil)
	_ graph.ShapeInferer       = (*MatMulNBits[float32])(nil)
)
