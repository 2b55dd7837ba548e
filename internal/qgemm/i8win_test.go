package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestI8WinVariants checks every windowed int8 kernel variant against a
// plain loop over the windows on random data: one and several runs per
// row, overlapping rows (lda smaller than a run), N with partial panels and
// tiles, rows covering every kernel height in two blocks written out of
// order around a guard row, guard elements after each output row.
func TestI8WinVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const guard = int32(-12345)
	for _, v := range i8WinVariants {
		for _, tc := range []struct{ run, segs, stride, lda int }{
			{4, 1, 4, 4}, {8, 3, 20, 3}, {24, 7, 45, 6}, {192, 3, 640, 64}, {64, 1, 64, 128}, {12, 2, 12, 0},
		} {
			for _, n := range []int{1, 16, 17, 64, 65, 130} {
				for _, rows := range []int{1, 5, 6, 7, 13} {
					name := fmt.Sprintf("%s/run%d/segs%d/stride%d/lda%d/n%d/rows%d", v.name, tc.run, tc.segs, tc.stride, tc.lda, n, rows)
					k := tc.run * tc.segs
					b := make([]int8, k*n)
					for i := range b {
						b[i] = int8(r.IntN(256) - 128)
					}
					m := PackI8(k, n, func(kk, j int) int8 { return b[kk*n+j] })
					a := make([]uint8, (rows-1)*tc.lda+(tc.segs-1)*tc.stride+tc.run+1)
					for i := range a {
						a[i] = uint8(r.IntN(256))
					}
					a = a[1:] // unaligned start
					ldc := n + 2
					c := make([]int32, (rows+1)*ldc)
					for i := range c {
						c[i] = guard
					}
					// the rows in two blocks, the second first in c, and
					// an empty one
					h := rows / 2
					m.mulU8Win(c, ldc, []Win{
						{A: a, Lda: tc.lda, Rows: h, Segs: tc.segs, Stride: tc.stride, Row: rows - h + 1},
						{A: a[h*tc.lda:], Lda: tc.lda, Rows: rows - h, Segs: tc.segs, Stride: tc.stride, Row: 0},
						{Segs: tc.segs, Stride: tc.stride},
					}, v)
					for ci := 0; ci <= rows; ci++ {
						if ci == rows-h {
							for j := range ldc {
								if c[ci*ldc+j] != guard {
									t.Fatalf("%s: guard row c[%d][%d] overwritten", name, ci, j)
								}
							}
							continue
						}
						i := ci + h // the row of A
						if ci > rows-h {
							i = ci - (rows - h + 1)
						}
						for j := 0; j < ldc; j++ {
							got := c[ci*ldc+j]
							if j >= n {
								if got != guard {
									t.Fatalf("%s: guard c[%d][%d] overwritten with %d", name, i, j, got)
								}
								continue
							}
							var want int32
							for kk := 0; kk < k; kk++ {
								s, o := kk/tc.run, kk%tc.run
								want += int32(a[i*tc.lda+s*tc.stride+o]) * int32(b[kk*n+j])
							}
							if got != want {
								t.Fatalf("%s: c[%d][%d] = %d, want %d", name, i, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestI8WinPanics checks that MulU8Win rejects runs that are not whole
// quads, a short A and a short C.
func TestI8WinPanics(t *testing.T) {
	m := PackI8(24, 16, func(k, j int) int8 { return 1 })
	for _, tc := range []struct {
		name                    string
		a, c, lda, segs, stride int
	}{
		{"run of 6", 100, 16, 8, 4, 8},
		{"stride below run", 100, 16, 8, 2, 8},
		{"short a", 30, 32, 8, 2, 12},
		{"short c", 100, 20, 8, 2, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("MulU8Win did not panic")
				}
			}()
			m.MulU8Win(make([]int32, tc.c), 16, []Win{{A: make([]uint8, tc.a), Lda: tc.lda, Rows: 2, Segs: tc.segs, Stride: tc.stride}})
		})
	}
}

// BenchmarkI8Win times MulU8Win on the windows of ResNet-18's conv1
// (7×7×3, stride 2: runs of 24 bytes, 6 apart) and of a 56×56 3×3
// convolution of 64 channels, 60 output positions a call, against MulU8 on
// the same rows gathered (the im2row form), in multiply-adds per second.
func BenchmarkI8Win(b *testing.B) {
	for _, tc := range []struct {
		name                   string
		run, segs, lda, stride int
		n                      int
	}{
		{"conv1", 24, 7, 6, 224 * 3, 64},
		{"3x3c64", 192, 3, 64, 56 * 64, 64},
		{"3x3c256", 768, 3, 256, 14 * 256, 256},
	} {
		k := tc.run * tc.segs
		m := PackI8(k, tc.n, func(kk, j int) int8 { return int8(kk*7 + j) })
		const rows = 60
		a := make([]uint8, (rows-1)*tc.lda+(tc.segs-1)*tc.stride+tc.run)
		for i := range a {
			a[i] = uint8(i * 13)
		}
		c := make([]int32, rows*tc.n)
		ws := []Win{{A: a, Lda: tc.lda, Rows: rows, Segs: tc.segs, Stride: tc.stride}}
		macs := float64(rows * k * tc.n)
		for _, v := range i8WinVariants {
			b.Run(tc.name+"/win/"+v.name, func(b *testing.B) {
				for range b.N {
					m.mulU8Win(c, tc.n, ws, v)
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
		g := make([]uint8, rows*k) // the same rows gathered
		for r := range rows {
			for s := range tc.segs {
				copy(g[r*k+s*tc.run:], a[r*tc.lda+s*tc.stride:r*tc.lda+s*tc.stride+tc.run])
			}
		}
		b.Run(tc.name+"/gathered", func(b *testing.B) {
			ctx := context.Background()
			for range b.N {
				if err := m.MulU8(ctx, c, tc.n, g, k, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
