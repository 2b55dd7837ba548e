package core

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// TestMatMulNBitsFootprint reads the layers' reported resident size: a
// 4-bit layer keeps one copy of its weights (the repacked one), ≤ 0.6 bytes
// per weight with scales at block size ≥ 64, and at block size 32 at
// accuracy level 4 (24-bit scales); exact float32 scales at block size 32
// cost 0.625, the size of ONNX Runtime's own layout.
func TestMatMulNBitsFootprint(t *testing.T) {
	const n, k = 96, 1024
	rng := rand.New(rand.NewPCG(21, 22))
	w := make([]float32, n*k)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		bs       int
		level    int
		zp       bool
		opts     []MatMulNBitsOption
		want     float64
		atMost06 bool
	}{
		{"bs32/level4", 32, 4, false, nil, 0.59375, true},
		{"bs32/level4/zp", 32, 4, true, nil, 0.59375 + 1.0/32, false},
		{"bs32/level4/exact", 32, 4, false, []MatMulNBitsOption{WithExactScales()}, 0.625, false},
		{"bs32/level0", 32, 0, false, nil, 0.625, false},
		{"bs64/level0", 64, 0, false, nil, 0.5625, true},
		{"bs64/level0/zp", 64, 0, true, nil, 0.5625 + 1.0/64, true},
		{"bs128/level4", 128, 4, false, nil, 0.5 + 3.0/128, true},
		{"bs32/reference", 32, 0, false, []MatMulNBitsOption{WithReferenceKernels()}, 0.625, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := numeric.QuantizeBlockwise(w, n, k, numeric.BlockOptions{Bits: 4, BlockSize: tc.bs, Symmetric: !tc.zp})
			if err != nil {
				t.Fatal(err)
			}
			l, err := NewMatMulNBitsQuantized("fp", f32eng, f32ops, q, tc.level, nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := make([]float32, 3*k)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			runForward(t, l, []int{3, k}, a)
			got := float64(l.Footprint()) / (n * k)
			if got != tc.want {
				t.Errorf("got %v bytes per weight, want %v", got, tc.want)
			}
			if tc.atMost06 && got > 0.6 {
				t.Errorf("got %v bytes per weight, want ≤ 0.6", got)
			}
			// PackedWeights rebuilds the ONNX bytes from the repacked form.
			if pb := l.PackedWeights().Data(); string(pb) != string(q.B) {
				t.Errorf("PackedWeights differ from the quantized input")
			}
		})
	}
	// The dequantization cache is counted once built.
	q, err := numeric.QuantizeBlockwise(w, n, k, numeric.BlockOptions{Bits: 4, BlockSize: 64, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewMatMulNBitsQuantized("fp", f32eng, f32ops, q, 0, nil, WithDequantCache())
	if err != nil {
		t.Fatal(err)
	}
	// Asking for the footprint first must not keep the cache from being
	// built later.
	if got := float64(l.Footprint()) / (n * k); got != 0.5625 {
		t.Errorf("before the cache is built: got %v bytes per weight, want 0.5625", got)
	}
	if _, err := l.weightCache(ctx); err != nil {
		t.Fatal(err)
	}
	if l.cache == nil {
		t.Fatal("the dequantization cache was not built after Footprint")
	}
	if got := float64(l.Footprint()) / (n * k); got != 4.5625 {
		t.Errorf("with the dequantization cache: got %v bytes per weight, want 4.5625", got)
	}
}
