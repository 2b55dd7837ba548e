package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchShapes are the K×N shapes of issue 6 (Gemma 3 projections and a
// large-than-cache MLP matrix).
var benchShapes = [][2]int{{1152, 6912}, {2560, 10240}, {4096, 4096}, {4096, 14336}}

var benchMats = map[string]*Matrix{}

func benchMatrix(b *testing.B, k, n, bits, bs int, opts ...PackOption) *Matrix {
	key := fmt.Sprint(k, n, bits, bs, len(opts))
	if m := benchMats[key]; m != nil {
		return m
	}
	m, err := PackNBits(randQuant(rand.New(rand.NewPCG(1, 1)), n, k, bits, bs, false), opts...)
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
							m := benchMatrix(b, k, n, 4, bs, levelPack(level)...)
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
func streamRead(buf []uint64, threads int) { streamSink += StreamRead(buf, threads) }

// BenchmarkBandwidthVariants is BenchmarkBandwidth (block size 32) for
// every kernel variant this CPU runs, such as the AVX2 tier on an AVX-512
// machine.
// Example: go test -run - -bench BandwidthVariants ./internal/qgemm
func BenchmarkBandwidthVariants(b *testing.B) {
	for _, v := range allVariants() {
		for _, threads := range []int{1, 2} {
			for _, level := range []int{0, 4} {
				b.Run(fmt.Sprintf("%s/T%d/L%d", v.name, threads, level), func(b *testing.B) {
					benchBandwidth(b, v, threads, level, 32)
				})
			}
		}
	}
}

// BenchmarkBandwidth is the bandwidth check in one run: on the
// larger-than-cache 4096×14336 bits-4 matrix it alternates an M=1 MatMul
// and a plain streaming read of the same number of bytes with the same
// threads, so that both see the same machine load, and reports both rates
// and their ratio ("%stream"; the target is ≥ 70).
// Example: go test -run - -bench Bandwidth -benchtime 2s ./internal/qgemm
func BenchmarkBandwidth(b *testing.B) {
	for _, threads := range []int{1, 2} {
		for _, level := range []int{0, 4} {
			for _, bs := range []int{32, 128} {
				b.Run(fmt.Sprintf("K4096xN14336/M1/T%d/L%d/bs%d", threads, level, bs), func(b *testing.B) {
					benchBandwidth(b, best, threads, level, bs)
				})
			}
		}
	}
}

// benchBandwidth alternates an M=1 product of variant v on the 4096×14336
// 4-bit matrix with a streaming read of as many bytes, and reports both
// rates and the product's share of the read.
func benchBandwidth(b *testing.B, v variant, threads, level, bs int) {
	ctx := context.Background()
	const k, n = 4096, 14336
	m := benchMatrix(b, k, n, 4, bs, levelPack(level)...)
	a := randA(rand.New(rand.NewPCG(2, 2)), k)
	y := make([]float32, n)
	buf := make([]uint64, m.Footprint()/8/32*32)
	for i := range buf {
		buf[i] = uint64(i)
	}
	opt := Options{Threads: threads}
	if level == 4 {
		opt.Activations = Int8
	}
	var tm, ts time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := m.matmul(ctx, y, a, 1, nil, opt, v); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		streamRead(buf, threads)
		tm += t1.Sub(t0)
		ts += time.Since(t1)
	}
	w := float64(m.Footprint()) * float64(b.N) / tm.Seconds() / 1e9
	s := float64(8*len(buf)) * float64(b.N) / ts.Seconds() / 1e9
	b.ReportMetric(w, "weightGB/s")
	b.ReportMetric(s, "streamGB/s")
	b.ReportMetric(100*w/s, "%stream")
}

// levelPack returns the pack options the MatMulNBits layer uses at an
// accuracy level: 24-bit scales with int8 activations.
func levelPack(level int) []PackOption {
	if level == 4 {
		return []PackOption{CompactScales()}
	}
	return nil
}
