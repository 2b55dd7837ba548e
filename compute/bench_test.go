package compute

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// engines returns the float32 engine with its fast paths ("fast") and one
// forced onto the generic per-element ops path ("generic").
func benchEngines() []struct {
	name string
	e    *CPUEngine[float32]
} {
	return []struct {
		name string
		e    *CPUEngine[float32]
	}{
		{"fast", f32()},
		{"generic", &CPUEngine[float32]{ops: numeric.Float32Ops{}, kind: kindInt}},
	}
}

// BenchmarkAdd measures float32 Add; the GB/s column counts both inputs
// and the output.
func BenchmarkAdd(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1 << 12, 1 << 20} {
		x, y := randF32(b, rng, n), randF32(b, rng, n)
		dst := randF32(b, rng, n)
		row := randF32(b, rng, 1024)
		x2 := randF32(b, rng, n/1024, 1024)
		for _, eng := range benchEngines() {
			b.Run(fmt.Sprintf("%s/n=%d", eng.name, n), func(b *testing.B) {
				b.SetBytes(int64(12 * n))
				for b.Loop() {
					if _, err := eng.e.Add(ctx, x, y, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(fmt.Sprintf("fast/row-broadcast/n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(8 * n))
			d2 := randF32(b, rng, n/1024, 1024)
			for b.Loop() {
				if _, err := f32().Add(ctx, x2, row, d2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSoftmax measures a last-axis softmax over a [64, 32000] batch of
// logits.
func BenchmarkSoftmax(b *testing.B) {
	ctx := context.Background()
	x := randF32(b, rand.New(rand.NewPCG(2, 2)), 64, 32000)
	dst := randF32(b, rand.New(rand.NewPCG(3, 3)), 64, 32000)
	for _, eng := range benchEngines() {
		b.Run(eng.name, func(b *testing.B) {
			b.SetBytes(int64(8 * x.Size()))
			for b.Loop() {
				if _, err := eng.e.Softmax(ctx, x, -1, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(x.Size())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
		})
	}
}

// BenchmarkSum measures reductions of a [64, 32000] tensor along each axis.
func BenchmarkSum(b *testing.B) {
	ctx := context.Background()
	x := randF32(b, rand.New(rand.NewPCG(4, 4)), 64, 32000)
	for _, eng := range benchEngines() {
		for _, axis := range []int{1, 0} {
			b.Run(fmt.Sprintf("%s/axis=%d", eng.name, axis), func(b *testing.B) {
				b.SetBytes(int64(4 * x.Size()))
				for b.Loop() {
					if _, err := eng.e.Sum(ctx, x, axis, false); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkUnary measures the transcendental kernels on 1M float32 values.
func BenchmarkUnary(b *testing.B) {
	ctx := context.Background()
	e := f32()
	x := randF32(b, rand.New(rand.NewPCG(5, 5)), 1<<20)
	dst := randF32(b, rand.New(rand.NewPCG(6, 6)), 1<<20)
	for _, tc := range unaryCases[float32]() {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.run(e, ctx, x, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(x.Size())*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
		})
	}
}

// BenchmarkMatMulBatched measures attention-shaped batched products, where
// each GEMM is small and batches run in parallel.
func BenchmarkMatMulBatched(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	q, k := randF32(b, rng, 8, 128, 64), randF32(b, rng, 8, 64, 128)
	dst := randF32(b, rng, 8, 128, 128)
	b.Run("8x128x64x128", func(b *testing.B) {
		for b.Loop() {
			if _, err := f32().MatMul(ctx, q, k, dst); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(2*8*128*64*128*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
