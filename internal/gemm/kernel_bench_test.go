package gemm

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkKernel times each micro-kernel alone on L1-resident panels, the
// single-core ceiling for the blocked algorithm.
func BenchmarkKernel(b *testing.B) {
	const k = 256
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			a := make([]float32, k*v.mr)
			bp := make([]float32, k*v.nr)
			c := make([]float32, v.mr*v.nr)
			for b.Loop() {
				v.kernel(k, &a[0], &bp[0], &c[0], v.nr, true)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(k*v.mr*v.nr)/sec/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkVariants times every variant at 512³ (for tuning).
func BenchmarkVariants(b *testing.B) {
	const n = 512
	a, bm, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for _, v := range variants[1:] {
		b.Run(fmt.Sprintf("%s/%d", v.name, n), func(b *testing.B) {
			for b.Loop() {
				_ = sgemm(context.Background(), &v, false, false, n, n, n, 1, a, n, bm, n, 0, c, n)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(n*n*n)/sec/1e9, "GFLOP/s")
		})
	}
}
