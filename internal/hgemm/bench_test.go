package hgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/internal/qgemm"
)

// benchShapes are N×K: a Gemma-3-sized MLP matrix (larger than any cache),
// a small projection and a 262144-token embedding used as the output
// layer (335 MB at 16 bits).
var benchShapes = [][2]int{{4096, 14336}, {640, 2048}, {262144, 640}}

var benchMats = map[string]*Matrix{}

// benchMatrix returns an n×k matrix of format f holding normally
// distributed values (no subnormals, NaN or Inf), cached across benchmarks.
func benchMatrix(b *testing.B, f Format, n, k int) *Matrix {
	key := fmt.Sprint(f, n, k)
	if m := benchMats[key]; m != nil {
		return m
	}
	// A table of codes, repeated at a stride prime to it: cheap to fill
	// and not periodic along a row.
	rng := rand.New(rand.NewPCG(1, 1))
	var table [4099]uint16
	for i := range table {
		table[i] = bits16(f, float32(rng.NormFloat64()*0.05))
	}
	data := make([]byte, 2*n*k)
	for i := 0; i < n*k; i++ {
		c := table[(i*7+i/4099)%len(table)]
		data[2*i], data[2*i+1] = byte(c), byte(c>>8)
	}
	m, err := New(f, n, k, data)
	if err != nil {
		b.Fatal(err)
	}
	benchMats[key] = m
	return m
}

// BenchmarkMatMul reports GFLOP/s and weight bytes per second (MB/s, from
// b.SetBytes) over the shapes, rows 1 (decode) and 128 (prefill), on 1
// and 2 threads, and GFLOP/s of the fastest iteration (best-GFLOP/s: on a
// machine shared with other work the mean also measures the other work).
// Example: go test -run - -bench 'MatMul/F16/N4096xK14336/M1/' ./internal/hgemm
func BenchmarkMatMul(b *testing.B) {
	for _, f := range formats {
		for _, sh := range benchShapes {
			for _, rows := range []int{1, 128} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%v/N%dxK%d/M%d/T%d", f, sh[0], sh[1], rows, threads), func(b *testing.B) {
						benchMatMul(b, &best, f, sh[0], sh[1], rows, threads)
					})
				}
			}
		}
	}
}

// BenchmarkVariants is BenchmarkMatMul on the 640×2048 shape for every
// variant this CPU runs, the generic one included.
// Example: go test -run - -bench Variants ./internal/hgemm
func BenchmarkVariants(b *testing.B) {
	for _, v := range allVariants() {
		for _, f := range formats {
			for _, rows := range []int{1, 128} {
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%v/M%d/T%d", v.name, f, rows, threads), func(b *testing.B) {
						benchMatMul(b, &v, f, 640, 2048, rows, threads)
					})
				}
			}
		}
	}
}

func benchMatMul(b *testing.B, v *variant, f Format, n, k, rows, threads int) {
	ctx := context.Background()
	m := benchMatrix(b, f, n, k)
	x := randReals(rand.New(rand.NewPCG(2, 2)), rows*k)
	y := make([]float32, rows*n)
	b.SetBytes(int64(2 * n * k))
	best := time.Duration(1 << 62)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := m.matmul(ctx, y, x, rows, threads, v); err != nil {
			b.Fatal(err)
		}
		best = min(best, time.Since(t0))
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	flop := 2 * float64(rows*k*n)
	b.ReportMetric(flop/sec/1e9, "GFLOP/s")
	b.ReportMetric(flop/best.Seconds()/1e9, "best-GFLOP/s")
}

// BenchmarkStream is a plain streaming read (qgemm.StreamRead) of as many
// bytes as each shape's weights, with the same threads: the bound of the
// rows = 1 product.
// Example: go test -run - -bench Stream ./internal/hgemm
func BenchmarkStream(b *testing.B) {
	for _, sh := range benchShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("N%dxK%d/T%d", sh[0], sh[1], threads), func(b *testing.B) {
				buf := streamBuf(2 * sh[0] * sh[1])
				b.SetBytes(int64(8 * len(buf)))
				b.ResetTimer()
				for b.Loop() {
					streamSink += qgemm.StreamRead(buf, threads)
				}
			})
		}
	}
}

var streamSink uint64

func streamBuf(bytes int) []uint64 {
	buf := make([]uint64, bytes/8/32*32)
	for i := range buf {
		buf[i] = uint64(i)
	}
	return buf
}

// BenchmarkBandwidth alternates a rows = 1 product and a streaming read of
// as many bytes with the same threads, so that both see the same machine
// load, and reports both rates (GB/s) from the fastest iteration of each
// (on a machine shared with other work the mean mostly measures the other
// work) and their ratio (%stream; the target is ≥ 90).
// Example: go test -run - -bench Bandwidth -benchtime 2s ./internal/hgemm
func BenchmarkBandwidth(b *testing.B) {
	ctx := context.Background()
	for _, f := range formats {
		for _, sh := range benchShapes {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/N%dxK%d/T%d", f, sh[0], sh[1], threads), func(b *testing.B) {
					n, k := sh[0], sh[1]
					m := benchMatrix(b, f, n, k)
					x := randReals(rand.New(rand.NewPCG(2, 2)), k)
					y := make([]float32, n)
					buf := streamBuf(2 * n * k)
					tm, ts := time.Duration(1<<62), time.Duration(1<<62)
					b.ResetTimer()
					for b.Loop() {
						t0 := time.Now()
						if err := m.MatMul(ctx, y, x, 1, threads); err != nil {
							b.Fatal(err)
						}
						t1 := time.Now()
						streamSink += qgemm.StreamRead(buf, threads)
						tm = min(tm, t1.Sub(t0))
						ts = min(ts, time.Since(t1))
					}
					w := float64(2*n*k) / tm.Seconds() / 1e9
					s := float64(8*len(buf)) / ts.Seconds() / 1e9
					b.ReportMetric(w, "weightGB/s")
					b.ReportMetric(s, "streamGB/s")
					b.ReportMetric(100*w/s, "%stream")
				})
			}
		}
	}
}
