package simd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func randBytes(r *rand.Rand, n int) []uint8 {
	b := make([]uint8, n)
	for i := range b {
		b[i] = uint8(r.IntN(256))
	}
	return b
}

// TestMaxU8 checks MaxU8 against maxU8Generic over lengths around the
// 64-byte blocks, unaligned starts, and that nothing past len(x) changes.
func TestMaxU8(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{0, 1, 15, 63, 64, 65, 127, 128, 200, 1000} {
		for _, off := range []int{0, 1, 7} {
			d, x := randBytes(r, n+off+8), randBytes(r, n+off)
			want := append([]uint8(nil), d...)
			maxU8Generic(want[off:off+n], x[off:])
			got := append([]uint8(nil), d...)
			MaxU8(got[off:], x[off:])
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n %d, offset %d, i %d: MaxU8(%d, x) = %d, want %d", n, off, i, d[i], got[i], want[i])
				}
			}
		}
	}
}

// TestAddU8 checks AddU8 against addU8Generic (bit for bit) over lengths
// around the 16-element blocks with guard bytes after dst, on scale ratios
// that make ties and clamping at both ends.
func TestAddU8(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	params := []addU8Args{
		{ra: 0.5, rb: 0.5, base: 0, lo: 0, hi: 255},       // halves: ties to even
		{ra: 1.7, rb: 0.9, base: -120.25, lo: 0, hi: 255}, // clamps at 0 and 255
		{ra: 0.031, rb: 2.3, base: 17.5, lo: 10, hi: 200}, // narrowed range
		{ra: 0.0078125, rb: 0.99, base: 3.49, lo: 0, hi: 255},
	}
	for _, pa := range params {
		for _, n := range []int{0, 1, 15, 16, 17, 33, 64, 100, 1000} {
			t.Run(fmt.Sprintf("%v/n%d", pa, n), func(t *testing.T) {
				a, b := randBytes(r, n+1), randBytes(r, n+1)
				want := make([]uint8, n+4)
				got := make([]uint8, n+4)
				for i := n; i < n+4; i++ {
					want[i], got[i] = 0xA5, 0xA5
				}
				addU8Generic(want[:n], a[1:], b[1:], &pa)
				AddU8(got[:n], a[1:], b[1:], pa.ra, pa.rb, pa.base, pa.lo, pa.hi)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("i %d (a %d, b %d): AddU8 = %d, want %d", i, a[1+min(i, n-1)], b[1+min(i, n-1)], got[i], want[i])
					}
				}
			})
		}
	}
}

// TestRequantRows checks RequantRows against requantGeneric row by row
// over column counts around the 16-element blocks, with and without the
// per-row add, row strides wider than the columns and guard bytes between
// the rows.
func TestRequantRows(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, cols := range []int{1, 15, 16, 17, 64, 70} {
		for _, rows := range []int{1, 2, 7} {
			for _, withAdd := range []bool{false, true} {
				ldd, lda := cols+5, cols+3
				acc := make([]int32, rows*lda)
				for i := range acc {
					acc[i] = int32(r.IntN(1<<16) - 1<<15)
				}
				sub, mult := make([]int32, cols), make([]float32, cols)
				for j := range sub {
					sub[j] = int32(r.IntN(2000) - 1000)
					mult[j] = 0.001 + 0.02*r.Float32()
				}
				mult[0] = 0.5 // ties
				var add []int32
				if withAdd {
					add = make([]int32, rows)
					for i := range add {
						add[i] = int32(r.IntN(4000) - 2000)
					}
				}
				want, got := make([]uint8, rows*ldd), make([]uint8, rows*ldd)
				for i := range want {
					want[i], got[i] = 0x5A, 0x5A
				}
				for i := range rows {
					a := int32(0)
					if add != nil {
						a = add[i]
					}
					requantGeneric(want[i*ldd:i*ldd+cols], acc[i*lda:i*lda+cols], a, sub, mult, -100, 120, 100)
				}
				RequantRows(got, ldd, acc, lda, rows, add, sub, mult, -100, 120, 100)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("cols %d, rows %d, add %v: byte %d = %d, want %d", cols, rows, withAdd, i, got[i], want[i])
					}
				}
			}
		}
	}
}
