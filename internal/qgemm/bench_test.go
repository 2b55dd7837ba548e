package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// benchShapes are the K×N shapes of issue 6 (Gemma 3 projections and a
// large-than-cache MLP matrix).
var benchShapes = [][2]int{{1152, 6912}, {2560, 10240}, {4096, 4096}, {4096, 14336}}

var benchMats = map[string]*Matrix{}

func benchMatrix(b *testing.B, k, n, bits, bs int) *Matrix {
	key := fmt.Sprint(k, n, bits, bs)
	if m := benchMats[key]; m != nil {
		return m
	}
	m, err := PackNBits(randQuant(rand.New(rand.NewPCG(1, 1)), n, k, bits, bs, false))
	if err != nil {
		b.Fatal(err)
	}
	benchMats[key] = m
	return m
}

// BenchmarkMatMul reports GFLOP/s and weight GB/s (repacked bytes read per
// second) for bits 4, no zero points, over the shapes.
// Example: go test -run - -bench 'MatMul/K4096xN4096/M1/' ./internal/qgemm
func BenchmarkMatMul(b *testing.B) {
	ctx := context.Background()
	for _, sh := range benchShapes {
		k, n := sh[0], sh[1]
		for _, rows := range []int{1, 128} {
			for _, threads := range []int{1, 2} {
				for _, level := range []int{0, 4} {
					for _, bs := range []int{32, 128} {
						name := fmt.Sprintf("K%dxN%d/M%d/T%d/L%d/bs%d", k, n, rows, threads, level, bs)
						b.Run(name, func(b *testing.B) {
							m := benchMatrix(b, k, n, 4, bs)
							a := randA(rand.New(rand.NewPCG(2, 2)), rows*k)
							y := make([]float32, rows*n)
							opt := Options{Threads: threads}
							if level == 4 {
								opt.Activations = Int8
							}
							b.ResetTimer()
							for b.Loop() {
								if err := m.MatMul(ctx, y, a, rows, nil, opt); err != nil {
									b.Fatal(err)
								}
							}
							sec := b.Elapsed().Seconds() / float64(b.N)
							b.ReportMetric(2*float64(rows*k*n)/sec/1e9, "GFLOP/s")
							b.ReportMetric(float64(m.Footprint())/sec/1e9, "weightGB/s")
						})
					}
				}
			}
		}
	}
}

// BenchmarkStream is a plain streaming read of the bytes of the bits-4,
// block-32 matrix of each shape, with the same threads: the bandwidth bound
// of M=1 MatMul.
func BenchmarkStream(b *testing.B) {
	for _, sh := range benchShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("K%dxN%d/T%d", sh[0], sh[1], threads), func(b *testing.B) {
				m := benchMatrix(b, sh[0], sh[1], 4, 32)
				buf := make([]uint64, m.Footprint()/8)
				for i := range buf {
					buf[i] = uint64(i)
				}
				b.ResetTimer()
				for b.Loop() {
					streamRead(buf, threads)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(8*len(buf))/sec/1e9, "GB/s")
			})
		}
	}
}

var streamSink uint64

// streamRead reads every word of buf, split over threads chunks.
func streamRead(buf []uint64, threads int) {
	var sums [64]uint64
	_ = workerpool.ForN(context.Background(), len(buf)/32, 4096, threads, func(lo, hi int) {
		sums[lo%64] = xorWords(buf[lo*32 : hi*32])
	})
	streamSink += sums[0]
}
