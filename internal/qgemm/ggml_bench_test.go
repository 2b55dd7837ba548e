package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

var ggmlBenchMats = map[quant.Type]*GGML{}

// ggmlBenchMatrix returns a random N=4096 × K=14336 matrix of type t
// (test-backend-ops' MUL_MAT perf case: m=4096, k=14336).
func ggmlBenchMatrix(b *testing.B, t quant.Type) *GGML {
	if m := ggmlBenchMats[t]; m != nil {
		return m
	}
	const n, k = 4096, 14336
	data := randGGML(rand.New(rand.NewPCG(1, 1)), t, n, k)
	rb, _ := t.RowBytes(k)
	m, err := PackGGML(t, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
	if err != nil {
		b.Fatal(err)
	}
	ggmlBenchMats[t] = m
	return m
}

// BenchmarkGGML reports GFLOP/s of the super-block kernels on
// test-backend-ops' MUL_MAT case (m=4096, k=14336) at n=1 and n=512 rows,
// 1 and 2 threads, and at n=1 the weight bytes read per second beside a
// streaming read of as many bytes alternated with it ("%stream").
// Example: go test -run - -bench 'GGML/Q4_K/' ./internal/qgemm
func BenchmarkGGML(b *testing.B) {
	ctx := context.Background()
	for _, t := range ggmlTypes {
		for _, rows := range []int{1, 512} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/M%d/T%d", t, rows, threads), func(b *testing.B) {
					m := ggmlBenchMatrix(b, t)
					a := randA(rand.New(rand.NewPCG(2, 2)), rows*m.K)
					y := make([]float32, rows*m.N)
					var buf []uint64
					if rows == 1 {
						buf = make([]uint64, m.Footprint()/8/32*32)
						for i := range buf {
							buf[i] = uint64(i)
						}
					}
					var tm, ts time.Duration
					b.ResetTimer()
					for b.Loop() {
						t0 := time.Now()
						if err := m.MatMul(ctx, y, a, rows, threads); err != nil {
							b.Fatal(err)
						}
						t1 := time.Now()
						tm += t1.Sub(t0)
						if buf != nil {
							streamRead(buf, threads)
							ts += time.Since(t1)
						}
					}
					sec := tm.Seconds() / float64(b.N)
					b.ReportMetric(2*float64(rows*m.K*m.N)/sec/1e9, "GFLOP/s")
					if buf != nil {
						w := float64(m.Footprint()) / sec / 1e9
						s := float64(8*len(buf)) * float64(b.N) / ts.Seconds() / 1e9
						b.ReportMetric(w, "weightGB/s")
						b.ReportMetric(100*w/s, "%stream")
					}
				})
			}
		}
	}
}

// BenchmarkGGMLVariants runs every super-block kernel variant this CPU
// has (such as the AVX2 tier on an AVX-512 machine) on the BenchmarkGGML
// matrix at 1 and 64 rows, one thread, and reports GFLOP/s and the weight
// bytes read per second.
// Example: go test -run - -bench 'GGMLVariants/Q4_K/' ./internal/qgemm
func BenchmarkGGMLVariants(b *testing.B) {
	ctx := context.Background()
	for _, t := range ggmlTypes {
		for _, rows := range []int{1, 64} {
			for _, v := range ggmlVariants {
				b.Run(fmt.Sprintf("%v/M%d/%s", t, rows, v.name), func(b *testing.B) {
					m := ggmlBenchMatrix(b, t)
					a := randA(rand.New(rand.NewPCG(2, 2)), rows*m.K)
					y := make([]float32, rows*m.N)
					for b.Loop() {
						if err := m.matmul(ctx, y, a, rows, 1, v); err != nil {
							b.Fatal(err)
						}
					}
					sec := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(2*float64(rows*m.K*m.N)/sec/1e9, "GFLOP/s")
					b.ReportMetric(float64(m.Footprint())/sec/1e9, "weightGB/s")
				})
			}
		}
	}
}
