package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
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

// BenchmarkOneRowGroups alternates, iteration by iteration, the one-row
// product of the BenchmarkGGML matrix (test-backend-ops' 4096×14336) by
// the kernels of this CPU's best tier that read one group per call and by
// those that read 4 groups at once (variants avx512 and avx512x4, or
// without AVX-512 avxvnni/avxvnnix4 or avx2/avx2x4; with AVX-512, for
// Q4_0 and Q8_0 also the GGUF Matrix kernels), and a streaming read of as
// many bytes, so that all three see the same machine load. It reports each one's weight bytes per
// second from the median iteration, x4/x1 (the ratio of the two) and the
// x4 product's share of the streaming read (%stream).
// Example: go test -run - -bench 'OneRowGroups/Q6_K/T1' -benchtime 40x ./internal/qgemm
func BenchmarkOneRowGroups(b *testing.B) {
	ctx := context.Background()
	var v1, v4 ggmlVariant
	var m1, m4 variant
	for _, v := range ggmlVariants {
		if v.groups > 1 {
			v4 = v
		}
	}
	for _, v := range ggmlVariants {
		if v.id == v4.id && v.groups <= 1 {
			v1 = v
		}
	}
	for _, v := range archVariants {
		switch {
		case v.id == idAVX512 && v.groups <= 1:
			m1 = v
		case v.id == idAVX512:
			m4 = v
		}
	}
	if v4.groups <= 1 {
		b.Skip("no kernels that read several groups")
	}
	// With AVX-512, Q4_0 and Q8_0 twice: as the GGUF Matrix kernels run
	// them (named "-Matrix") and as GGML super-block tiles.
	types := ggmlTypes
	if m4.groups > 1 {
		types = append([]quant.Type{quant.Q4_0, quant.Q8_0}, ggmlTypes...)
	}
	for i, t := range types {
		matrix := m4.groups > 1 && i < 2
		name := t.String()
		if matrix {
			name += "-Matrix"
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/T%d", name, threads), func(b *testing.B) {
				const n, k = 4096, 14336
				var run1, run4 func() error
				var bytes int
				a := randA(rand.New(rand.NewPCG(2, 2)), k)
				y := make([]float32, n)
				if matrix {
					data := randGGML(rand.New(rand.NewPCG(1, 1)), t, n, k)
					var src Source = Q80{N: n, K: k, Data: data}
					if t == quant.Q4_0 {
						src = Q40{N: n, K: k, Data: data}
					}
					m, err := PackGGUF(src)
					if err != nil {
						b.Fatal(err)
					}
					opt := Options{Activations: Int8, Threads: threads}
					run1 = func() error { return m.matmul(ctx, y, a, 1, nil, opt, m1) }
					run4 = func() error { return m.matmul(ctx, y, a, 1, nil, opt, m4) }
					bytes = m.Footprint()
				} else {
					m := ggmlBenchMatrix(b, t)
					// The same tiles with a choice of prefetch of their own
					// (GGML.pf): a trial timing both variants' products
					// would pick for neither.
					m4 := &GGML{N: m.N, K: m.K, Groups: m.Groups, f: m.f, tiles: m.tiles}
					run1 = func() error { return m.matmul(ctx, y, a, 1, threads, v1) }
					run4 = func() error { return m4.matmul(ctx, y, a, 1, threads, v4) }
					bytes = m.Footprint()
				}
				// Written, so that the read comes from memory, not from the
				// kernel's shared zero page that untouched pages map to.
				buf := make([]uint64, bytes/8/32*32)
				for i := range buf {
					buf[i] = uint64(i)
				}
				var t1, t4, ts []time.Duration
				for b.Loop() {
					t0 := time.Now()
					if err := run1(); err != nil {
						b.Fatal(err)
					}
					tm := time.Now()
					if err := run4(); err != nil {
						b.Fatal(err)
					}
					tn := time.Now()
					streamRead(buf, threads)
					t1, t4, ts = append(t1, tm.Sub(t0)), append(t4, tn.Sub(tm)), append(ts, time.Since(tn))
				}
				med := func(d []time.Duration) float64 {
					slices.Sort(d)
					return float64(bytes) / d[len(d)/2].Seconds() / 1e9
				}
				g1, g4, gs := med(t1), med(t4), med(ts)
				b.ReportMetric(g1, "x1GB/s")
				b.ReportMetric(g4, "x4GB/s")
				b.ReportMetric(g4/g1, "x4/x1")
				b.ReportMetric(gs, "streamGB/s")
				b.ReportMetric(100*g4/gs, "%stream")
			})
		}
	}
}

// BenchmarkGridExpand measures the expansion of grid tiles into the
// table-code tiles that prompts multiply (expandGrid; GB/s of grid tiles
// read, ns per weight), per variant of this CPU.
func BenchmarkGridExpand(b *testing.B) {
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
		f := gridFormat(typ)
		rng := rand.New(rand.NewPCG(5, uint64(typ)))
		n, k := 256, 4096
		data := randGGML(rng, typ, n, k)
		rb, _ := typ.RowBytes(k)
		m, err := packGGML(f, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
		if err != nil {
			b.Fatal(err)
		}
		tiles := m.Groups * k / f.sb
		dst := make([]uint8, tiles*f.grid.wide.tileBytes())
		for _, v := range ggmlVariants {
			b.Run(fmt.Sprintf("%v/%s", typ, v.name), func(b *testing.B) {
				b.SetBytes(int64(len(m.tiles)))
				for b.Loop() {
					expandGrid(v, f, dst, m.tiles, tiles)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*k), "ns/weight")
			})
		}
	}
}

// BenchmarkPackGrid measures PackGGML of grid types (the load's repacking;
// ns per weight), with whatever form this CPU packs them in.
func BenchmarkPackGrid(b *testing.B) {
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
		rng := rand.New(rand.NewPCG(6, uint64(typ)))
		n, k := 512, 4096
		data := randGGML(rng, typ, n, k)
		rb, _ := typ.RowBytes(k)
		f := gridFormat(typ)
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := packGGML(f, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*k), "ns/weight")
		})
	}
}

// BenchmarkPack measures PackGGML of the types of the standard mixes (the
// load's repacking; ns per weight; -cpu 1 for one thread), in the form
// this CPU packs them in.
func BenchmarkPack(b *testing.B) {
	for _, typ := range []quant.Type{quant.Q8_0, quant.Q4_0, quant.Q5_0, quant.Q5_1, quant.IQ4_NL, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.Q3_K, quant.IQ4_XS} {
		rng := rand.New(rand.NewPCG(7, uint64(typ)))
		n, k := 512, 4096
		data := randGGML(rng, typ, n, k)
		rb, _ := typ.RowBytes(k)
		b.Run(typ.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := PackGGML(typ, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n*k), "ns/weight")
		})
	}
}
