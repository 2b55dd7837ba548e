package core

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/internal/ortgolden"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestMatMulNBitsORT compares every case of the ONNX Runtime 1.30.0 golden
// file (tools/ort) with the layer: accuracy levels 0–3 within 1e-5 and level
// 4 within 1e-6 of Σ|a·w| per output (float16 cases: within 1 float16 ulp
// of Y plus that); the cases ORT rejects must give errors. Weight-as-input
// cases run through ForwardAny; every other case runs through Forward, and
// also through ForwardAny when its path does not depend on prepacking.
func TestMatMulNBitsORT(t *testing.T) {
	cases, err := ortgolden.Load(filepath.Join("..", "..", ortgolden.MatMulNBitsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("golden file has %d cases, want ≥ 40", len(cases))
	}
	// Both the fused kernels (internal/qgemm, the default) and the
	// reference loops must match ORT.
	// By default level-4 layers store 24-bit scales (≤ 2⁻¹⁶ relative):
	// their int8 results may differ from ORT's by that much more.
	for _, kernels := range []struct {
		name    string
		opts    []MatMulNBitsOption
		tolInt8 float64
	}{
		{"fused", nil, 1e-6 + 1.0/(1<<16)},
		{"fused-exact-scales", []MatMulNBitsOption{WithExactScales()}, 1e-6},
		{"reference", []MatMulNBitsOption{WithReferenceKernels()}, 1e-6},
	} {
		var worstFP32, worstInt8 float64
		for _, gc := range cases {
			t.Run(kernels.name+"/"+gc.Name, func(t *testing.T) {
				var rel float64
				if gc.DType == "float16" {
					rel = runORTCase(t, gc, numeric.Float16Ops{}, kernels.tolInt8, kernels.opts...)
				} else {
					rel = runORTCase(t, gc, numeric.Float32Ops{}, kernels.tolInt8, kernels.opts...)
				}
				if gc.ORTPath == ortgolden.PathInt8 {
					worstInt8 = max(worstInt8, rel)
				} else if gc.DType == "float32" {
					worstFP32 = max(worstFP32, rel)
				}
			})
		}
		t.Logf("%s kernels: %d ORT cases; worst |diff|/Σ|a·w|: float32 path %.3g, int8 path %.3g", kernels.name, len(cases), worstFP32, worstInt8)
	}
}

// runORTCase checks one golden case and returns the worst relative
// difference (to Σ|a·w|) of a float32 case.
func runORTCase[T tensor.Numeric](t *testing.T, gc ortgolden.Case, ops numeric.Arithmetic[T], tolInt8 float64, opts ...MatMulNBitsOption) float64 {
	ctx := context.Background()
	conv := func(f ortgolden.Floats) *tensor.Tensor[T] {
		v := make([]T, len(f.Values))
		for i, x := range f.Values {
			v[i] = ops.FromFloat32(x)
		}
		return tensor.Must(tensor.New(f.Shape, v))
	}
	at := MatMulNBitsAttrs{K: gc.Attrs.K, N: gc.Attrs.N, Bits: gc.Attrs.Bits, BlockSize: gc.Attrs.BlockSize, AccuracyLevel: gc.Attrs.AccuracyLevel}
	b := tensor.Must(tensor.New(gc.B.Shape, gc.B.Bytes))
	scales := conv(gc.Scales)
	var zp tensor.Any
	switch gc.ZeroPoints.Kind {
	case ortgolden.ZeroPointsPacked:
		zp = tensor.Must(tensor.New(gc.ZeroPoints.Shape, gc.ZeroPoints.Bytes))
	case ortgolden.ZeroPointsFloat:
		zp = conv(ortgolden.Floats{Shape: gc.ZeroPoints.Shape, Values: gc.ZeroPoints.Values})
	}
	var gIdx *tensor.Tensor[int32]
	if gc.GIdx != nil {
		gIdx = tensor.Must(tensor.New(gc.GIdx.Shape, gc.GIdx.Values))
	}
	var bias *tensor.Tensor[T]
	if gc.Bias != nil {
		bias = conv(*gc.Bias)
	}
	a := conv(gc.A)
	engine := compute.NewCPUEngine[T](ops)
	l, err := NewMatMulNBitsONNX(gc.Name, engine, ops, at, b, scales, zp, gIdx, bias, opts...)
	if gc.ExpectError {
		if err == nil {
			_, err = l.Forward(ctx, a)
		}
		if err == nil {
			t.Fatalf("ORT rejected this case (%s: %.80s…); got no error", gc.ErrorStage, gc.Error)
		}
		t.Logf("error as expected: %v", err)
		return 0
	}
	if err != nil {
		t.Fatalf("NewMatMulNBitsONNX: %v", err)
	}
	var y *tensor.Tensor[T]
	if gc.WeightsAsInputs {
		y, err = l.ForwardAny(ctx, a, b, scales, zp, gIdx, bias)
	} else {
		y, err = l.Forward(ctx, a)
	}
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	if !tensor.SameShape(y.Shape(), gc.Y.Shape) {
		t.Fatalf("output shape %v, want %v", y.Shape(), gc.Y.Shape)
	}
	mag := goldenMagnitudes(gc)
	tol := 1e-5
	if gc.ORTPath == ortgolden.PathInt8 {
		tol = tolInt8
	}
	worst := compareORT(t, "Forward", y, gc, mag, tol, ops)
	// The ONNX-input path of ForwardAny computes the same unless ORT took
	// the int8 path, which needs prepacked initializer weights.
	if !gc.WeightsAsInputs && gc.ORTPath != ortgolden.PathInt8 {
		y2, err := l.ForwardAny(ctx, a, b, scales, zp, gIdx, bias)
		if err != nil {
			t.Fatalf("ForwardAny: %v", err)
		}
		compareORT(t, "ForwardAny", y2, gc, mag, tol, ops)
	}
	return worst
}

// compareORT checks y against ORT's Y: |diff| ≤ tol·Σ|a·w| + 1e-7, plus one
// float16 ulp of Y for float16 cases. It returns the worst |diff|/Σ|a·w|.
func compareORT[T tensor.Numeric](t *testing.T, what string, y *tensor.Tensor[T], gc ortgolden.Case, mag []float64, tol float64, ops numeric.Arithmetic[T]) float64 {
	t.Helper()
	var worst float64
	for i, w := range gc.Y.Values {
		got := float64(ops.ToFloat32(y.Data()[i]))
		d := math.Abs(got - float64(w))
		allowed := tol*mag[i] + 1e-7
		if gc.DType == "float16" {
			allowed += math.Abs(float64(w)) * (1.0 / 1024)
		}
		if !(d <= allowed) {
			t.Errorf("%s: Y[%d] = %.9g, ORT %.9g (diff %.3g, Σ|a·w| %.4g, allowed %.3g; ORT path %s)",
				what, i, got, w, d, mag[i], allowed, gc.ORTPath)
		}
		if mag[i] > 0 {
			worst = max(worst, d/mag[i])
		}
	}
	return worst
}

// goldenMagnitudes returns Σ|a·w| (+|bias|) per output of a golden case,
// from the float64 reference decoder.
func goldenMagnitudes(gc ortgolden.Case) []float64 {
	rc := &refCase{
		attrs: MatMulNBitsAttrs{K: gc.Attrs.K, N: gc.Attrs.N, Bits: gc.Attrs.Bits, BlockSize: gc.Attrs.BlockSize},
		a:     gc.A.Values, b: gc.B.Bytes, scales: gc.Scales.Values,
	}
	switch gc.ZeroPoints.Kind {
	case ortgolden.ZeroPointsPacked:
		rc.zpPacked = gc.ZeroPoints.Bytes
	case ortgolden.ZeroPointsFloat:
		rc.zpFloat = gc.ZeroPoints.Values
	}
	if gc.GIdx != nil {
		rc.gIdx = gc.GIdx.Values[:gc.Attrs.K]
	}
	if gc.Bias != nil {
		rc.bias = gc.Bias.Values
	}
	_, mag := rc.want()
	return mag
}
