package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/tensor"
)

// BenchmarkMatMulNBitsForward measures Forward for K = N = 2048, 4 bits,
// block size 32 (the fused internal/qgemm kernels; level0_cached uses the
// dequantized cache and Sgemm). GFLOP/s counts 2·M·N·K; weight-GB/s counts the packed weights and
// scales read once per call.
func BenchmarkMatMulNBitsForward(b *testing.B) {
	const k, n = 2048, 2048
	rng := rand.New(rand.NewPCG(1, 2))
	at := MatMulNBitsAttrs{K: k, N: n, Bits: 4, BlockSize: 32}
	base := genCase(rng, at, []int{16}, zpNone, false, false)
	for _, m := range []int{1, 16} {
		for _, v := range []struct {
			name  string
			level int
			opts  []MatMulNBitsOption
		}{
			{"level0", 0, nil},
			{"level4", 4, nil},
			{"level0_cached", 0, []MatMulNBitsOption{WithDequantCache()}},
		} {
			b.Run(fmt.Sprintf("M%d/%s", m, v.name), func(b *testing.B) {
				c := *base
				c.attrs.AccuracyLevel = v.level
				l := c.layer(b, v.opts...)
				a := tensor.Must(tensor.New([]int{m, k}, c.a[:m*k]))
				ctx := context.Background()
				if _, err := l.Forward(ctx, a); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := l.Forward(ctx, a); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*float64(m*n*k)/sec/1e9, "GFLOP/s")
				b.ReportMetric(float64(len(c.b)+4*len(c.scales))/sec/1e9, "weight-GB/s")
			})
		}
	}
}

// BenchmarkMatMulNBitsBackward measures Backward (dA = dY·W, dequantizing W
// a block range at a time) for K = N = 2048, 4 bits, block size 32, from
// the repacked weights (default) and from the ONNX layout (reference).
func BenchmarkMatMulNBitsBackward(b *testing.B) {
	const k, n = 2048, 2048
	rng := rand.New(rand.NewPCG(3, 4))
	at := MatMulNBitsAttrs{K: k, N: n, Bits: 4, BlockSize: 32}
	base := genCase(rng, at, []int{64}, zpNone, false, false)
	for _, m := range []int{1, 64} {
		for _, v := range []struct {
			name string
			opts []MatMulNBitsOption
		}{{"repacked", nil}, {"reference", []MatMulNBitsOption{WithReferenceKernels()}}} {
			b.Run(fmt.Sprintf("M%d/%s", m, v.name), func(b *testing.B) {
				l := base.layer(b, v.opts...)
				a := tensor.Must(tensor.New([]int{m, k}, base.a[:m*k]))
				dy := tensor.Must(tensor.New([]int{m, n}, base.a[:m*n]))
				ctx := context.Background()
				for b.Loop() {
					if _, err := l.Backward(ctx, dy, a); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*float64(m*n*k)/sec/1e9, "GFLOP/s")
			})
		}
	}
}
