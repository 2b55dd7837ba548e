package qgemm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestI8Variants checks every int8 kernel variant against a plain triple
// loop on random data: K with and without a tail of 1–3, N with partial
// panels and tiles, rows covering every kernel height, and guard elements
// after each output row that must stay untouched.
func TestI8Variants(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const guard = int32(-12345)
	for _, v := range i8Variants {
		for _, k := range []int{0, 1, 3, 4, 7, 64, 130} {
			for _, n := range []int{1, 15, 16, 17, 64, 65, 130} {
				for _, rows := range []int{1, 5, 6, 7, 13} {
					name := fmt.Sprintf("%s/k%d/n%d/rows%d", v.name, k, n, rows)
					b := make([]int8, k*n)
					for i := range b {
						b[i] = int8(r.IntN(256) - 128)
					}
					m := PackI8(k, n, func(kk, j int) int8 { return b[kk*n+j] })
					lda := k + r.IntN(3) // unaligned row starts
					a := make([]uint8, rows*lda+1)
					for i := range a {
						a[i] = uint8(r.IntN(256))
					}
					a = a[1:] // unaligned start
					ldc := n + 2
					c := make([]int32, rows*ldc)
					for i := range c {
						c[i] = guard
					}
					if err := m.mulU8(context.Background(), c, ldc, a, lda, rows, nil, v); err != nil {
						t.Fatal(err)
					}
					for i := 0; i < rows; i++ {
						for j := 0; j < ldc; j++ {
							got := c[i*ldc+j]
							if j >= n {
								if got != guard {
									t.Fatalf("%s: guard c[%d][%d] overwritten with %d", name, i, j, got)
								}
								continue
							}
							var want int32
							for kk := 0; kk < k; kk++ {
								want += int32(a[i*lda+kk]) * int32(b[kk*n+j])
							}
							if got != want {
								t.Fatalf("%s: c[%d][%d] = %d, want %d", name, i, j, got, want)
							}
						}
					}
					if k > 0 {
						var s int32
						for kk := 0; kk < k; kk++ {
							s += int32(b[kk*n])
						}
						if m.ColSums()[0] != s {
							t.Fatalf("%s: ColSums()[0] = %d, want %d", name, m.ColSums()[0], s)
						}
					}
				}
			}
		}
	}
}

// TestI8RowBlocks checks products with more rows of A than one row block
// (i8BlockBytes) against a plain loop for every variant, and that
// MulU8Then reports every output element in exactly one block, after it
// is computed.
func TestI8RowBlocks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const k, n, rows = 2050, 70, 601 // rows·K > i8BlockBytes: five blocks, the last partial
	if rb := i8RowBlock(rows, k+2); rb >= rows || rows%rb == 0 {
		t.Fatalf("rows·K = %d, blocks of %d rows: want more than %d bytes of A and a partial last block", rows*k, rb, i8BlockBytes)
	}
	b := make([]int8, k*n)
	for i := range b {
		b[i] = int8(r.IntN(256) - 128)
	}
	m := PackI8(k, n, func(kk, j int) int8 { return b[kk*n+j] })
	a := make([]uint8, rows*k)
	for i := range a {
		a[i] = uint8(r.IntN(256))
	}
	want := make([]int32, rows*n)
	for i := 0; i < rows; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for kk := 0; kk < k; kk++ {
				s += int32(a[i*k+kk]) * int32(b[kk*n+j])
			}
			want[i*n+j] = s
		}
	}
	for _, v := range i8Variants {
		c := make([]int32, rows*n)
		seen := make([]int32, rows*n) // the value each done call saw
		var mu sync.Mutex
		done := func(r0, r1, c0, c1 int) {
			mu.Lock()
			defer mu.Unlock()
			for i := r0; i < r1; i++ {
				for j := c0; j < c1; j++ {
					if seen[i*n+j] != 0 {
						t.Errorf("%s: c[%d][%d] reported twice", v.name, i, j)
					}
					seen[i*n+j] = c[i*n+j] | 1<<30
				}
			}
		}
		if err := m.mulU8(context.Background(), c, n, a, k, rows, done, v); err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			if c[i] != w {
				t.Fatalf("%s: c[%d][%d] = %d, want %d", v.name, i/n, i%n, c[i], w)
			}
			if seen[i] != w|1<<30 {
				t.Fatalf("%s: done saw c[%d][%d] = %d, want %d reported once", v.name, i/n, i%n, seen[i]&^(1<<30), w)
			}
		}
	}
}

// BenchmarkI8 multiplies BERT-base-shaped products (128 rows) with each
// variant; GOP/s counts a multiply-add as 2 operations.
func BenchmarkI8(b *testing.B) {
	for _, sz := range [][2]int{{768, 768}, {768, 3072}, {3072, 768}} {
		k, n := sz[0], sz[1]
		m := PackI8(k, n, func(kk, j int) int8 { return int8(kk*7 + j*3) })
		const rows = 128
		a := make([]uint8, rows*k)
		for i := range a {
			a[i] = uint8(i * 13)
		}
		c := make([]int32, rows*n)
		for _, v := range i8Variants {
			b.Run(fmt.Sprintf("%s/k%d/n%d", v.name, k, n), func(b *testing.B) {
				for b.Loop() {
					if err := m.mulU8(context.Background(), c, n, a, k, rows, nil, v); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(2*float64(rows*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
			})
		}
	}
}

// TestI8RowBlock checks the row blocks of MulU8: all rows up to
// i8BlockBytes of A, else near-equal blocks of whole kernel calls that
// cover the rows, none of more than about i8BlockBytes.
func TestI8RowBlock(t *testing.T) {
	for _, tc := range []struct{ rows, lda, want int }{
		{1, 768, 1}, {128, 768, 128}, {341, 768, 341}, {128, 3072, 66}, {1024, 768, 342}, {1024, 3072, 90}, {601, 2052, 126},
	} {
		got := i8RowBlock(tc.rows, tc.lda)
		if got != tc.want {
			t.Errorf("i8RowBlock(%d, %d) = %d, want %d", tc.rows, tc.lda, got, tc.want)
		}
		if got < tc.rows && (got%i8MR != 0 || (got-i8MR)*tc.lda > i8BlockBytes) {
			t.Errorf("i8RowBlock(%d, %d) = %d: want whole kernel calls of about %d bytes", tc.rows, tc.lda, got, i8BlockBytes)
		}
	}
}
