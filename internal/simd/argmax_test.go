package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestArgmax checks Argmax against argmaxGeneric at every length of
// lengths and at offsets into a longer slice: random values without NaN
// (the maximum placed in the vectors, in the tail, repeated, as ±0 or
// −Inf only), and with one or two NaNs at random places; with every
// vector width whose kernels this CPU runs.
func TestArgmax(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	inf := float32(math.Inf(1))
	cases := map[string]func(x []float32){
		"random":  func([]float32) {},
		"repeats": func(x []float32) { repeatMax(r, x, 3) },
		"tail":    func(x []float32) { x[len(x)-1] = 1e9 },
		"zeros": func(x []float32) {
			for i := range x {
				x[i] = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
			}
		},
		"neginf": func(x []float32) {
			for i := range x {
				x[i] = -inf
			}
		},
		"inf": func(x []float32) { x[r.IntN(len(x))] = inf },
		"nan": func(x []float32) { x[r.IntN(len(x))] = float32(math.NaN()) },
		"nan2": func(x []float32) {
			x[r.IntN(len(x))] = float32(math.NaN())
			x[r.IntN(len(x))] = float32(math.NaN())
		},
	}
	widths := []int{argmaxVector()} // and every narrower kernel this CPU runs
	if hasAVX512 && hasAVX2 {
		widths = append(widths, 8)
	}
	for name, fill := range cases {
		for _, n := range append(lengths, 262144) {
			for _, off := range []int{0, 3} {
				buf := make([]float32, n+off)
				for i := range buf {
					buf[i] = float32(r.NormFloat64() * 10)
				}
				x := buf[off:]
				if n > 0 {
					fill(x)
				}
				wi, wn := argmaxGeneric(x)
				for _, w := range widths {
					gi, gn := argmaxWidth(x, w)
					if gi != wi || gn != wn {
						t.Fatalf("%s n=%d off=%d width %d: Argmax = %d, %v; want %d, %v", name, n, off, w, gi, gn, wi, wn)
					}
				}
			}
		}
	}
}

// repeatMax copies the largest value of x to k random places.
func repeatMax(r *rand.Rand, x []float32, k int) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	for range k {
		x[r.IntN(len(x))] = m
	}
}

// BenchmarkArgmax runs Argmax, argmaxGeneric and (on AVX-512 CPUs) the
// AVX2 kernels over a 262144-value row (Gemma 3's vocabulary).
func BenchmarkArgmax(b *testing.B) {
	x := make([]float32, 262144)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	fns := []struct {
		name string
		fn   func([]float32) (int, bool)
	}{{"Argmax", Argmax}, {"generic", argmaxGeneric}}
	if hasAVX512 && hasAVX2 {
		fns = append(fns, struct {
			name string
			fn   func([]float32) (int, bool)
		}{"AVX2", func(x []float32) (int, bool) { return argmaxWidth(x, 8) }})
	}
	for _, f := range fns {
		b.Run(fmt.Sprint(f.name), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				f.fn(x)
			}
		})
	}
}
