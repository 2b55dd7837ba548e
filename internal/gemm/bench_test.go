package gemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BenchmarkMatMul times C = A·B (row-major, no transposes) for the shapes of
// issue 2, for the dispatched kernel, the pure-Go kernel and gonum's Sgemm,
// reporting GFLOP/s (and GB/s of A, B and C traffic for the GEMV shape).
func BenchmarkMatMul(b *testing.B) {
	shapes := []shape{{1, 4096, 4096}, {128, 2048, 2048}, {512, 512, 512}, {1024, 1024, 1024}}
	impls := []struct {
		name string
		run  func(m, n, k int, a, bm, c []float32) error
	}{
		{"zerfoo", func(m, n, k int, a, bm, c []float32) error {
			return Sgemm(context.Background(), false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
		}},
		{"zerfoo-generic", func(m, n, k int, a, bm, c []float32) error {
			return sgemm(context.Background(), &variants[0], false, false, m, n, k, 1, a, k, bm, n, 0, c, n)
		}},
		{"gonum", func(m, n, k int, a, bm, c []float32) error {
			gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bm, n, 0, c, n)
			return nil
		}},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range shapes {
		a := randMat(rng, sh.m, sh.k, sh.k)
		bm := randMat(rng, sh.k, sh.n, sh.n)
		c := make([]float32, sh.m*sh.n)
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", sh.m, sh.k, sh.n, im.name), func(b *testing.B) {
				if err := im.run(sh.m, sh.n, sh.k, a, bm, c); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					_ = im.run(sh.m, sh.n, sh.k, a, bm, c)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(2*float64(sh.m)*float64(sh.n)*float64(sh.k)/sec/1e9, "GFLOP/s")
				if sh.m == 1 {
					bytes := 4 * float64(sh.m*sh.k+sh.k*sh.n+sh.m*sh.n)
					b.ReportMetric(bytes/sec/1e9, "GB/s")
				}
			})
		}
	}
}

// BenchmarkMatMulTransB times C = A·Bᵀ with B stored n×k (the layout of
// model weights) for decode-sized and prefill-sized m.
func BenchmarkMatMulTransB(b *testing.B) {
	const n, k = 2048, 2048
	rng := rand.New(rand.NewPCG(7, 8))
	bm := randMat(rng, n, k, k)
	for _, m := range []int{1, 4, 16, 64, 256} {
		a := randMat(rng, m, k, k)
		c := make([]float32, m*n)
		b.Run(fmt.Sprintf("m=%d/k=%d/n=%d", m, k, n), func(b *testing.B) {
			for b.Loop() {
				if err := Sgemm(context.Background(), false, true, m, n, k, 1, a, k, bm, k, 0, c, n); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(2*float64(m*n*k)/sec/1e9, "GFLOP/s")
			b.ReportMetric(4*float64(m*k+n*k+m*n)/sec/1e9, "GB/s")
		})
	}
}
