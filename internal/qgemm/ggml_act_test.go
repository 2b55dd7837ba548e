package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQuantizeActs checks quantizeActs (the vector row quantizers where
// the CPU has them) against quantizeActRowsRef, byte for byte, for every
// format: rows of random values with special super-blocks (all zero, a
// largest magnitude that comes first with the negative sign and again
// positive, ±Inf, a NaN, huge and subnormal values), K of one, three and
// rowChunk+3 super-blocks (more than one call of a vector quantizer).
func TestQuantizeActs(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, typ := range ggmlTypes {
		f := formats[typ]
		for _, nsb := range []int{1, 3, rowChunk + 3} {
			k := nsb * f.sb
			const rows = 3
			a := make([]float32, rows*k)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			special := func(r, sb int, fill func(x []float32)) {
				if sb < nsb {
					fill(a[r*k+sb*f.sb : r*k+(sb+1)*f.sb])
				}
			}
			special(0, 0, func(x []float32) { clear(x) })
			special(0, 1, func(x []float32) { x[3], x[7] = -9, 9 })
			special(1, 0, func(x []float32) { x[5] = float32(math.Inf(1)) })
			special(1, 2, func(x []float32) { x[1] = float32(math.NaN()) })
			special(2, 0, func(x []float32) {
				for i := range x {
					x[i] *= 1e37
				}
			})
			special(2, 1, func(x []float32) {
				for i := range x {
					x[i] *= 1e-40
				}
			})
			special(2, nsb-1, func(x []float32) { x[len(x)-1] = float32(math.Inf(-1)) })
			var got ggmlActs
			quantizeActs(f, a, rows, k, &got)
			wantQA := make([]int8, rows*k)
			wantAux := make([]byte, len(got.aux))
			for r := 0; r < rows; r++ {
				quantizeActRowsRef(f, a[r*k:(r+1)*k], wantQA[r*k:(r+1)*k], wantAux, r, rows)
			}
			name := fmt.Sprintf("%v/K=%d", typ, k)
			if i := mismatch(got.qa, wantQA); i >= 0 {
				t.Errorf("%s: qa[%d] (row %d) = %d, want %d", name, i, i/k, got.qa[i], wantQA[i])
			}
			if i := mismatch(got.aux, wantAux); i >= 0 {
				t.Errorf("%s: aux byte %d (super-block %d) = %#x, want %#x", name, i, i/(rows*f.auxBytes()), got.aux[i], wantAux[i])
			}
		}
	}
}

// mismatch returns the first index where a and b differ, or -1.
func mismatch[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// BenchmarkQuantizeQ8K times quantizeQ8KFn (the vector quantizer where the
// CPU has one) against quantizeQ8KGo on one row of 6912 values (27
// super-blocks, gemma-3-1b's feed-forward width).
func BenchmarkQuantizeQ8K(b *testing.B) {
	const k = 6912
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	qa := make([]int8, k)
	d, bsums := make([]float32, k/256), make([]int16, k/16)
	for _, impl := range []struct {
		name string
		fn   func([]float32, []int8, []float32, []int16) int
	}{{"dispatched", quantizeQ8KFn}, {"go", quantizeQ8KGo}} {
		b.Run(impl.name, func(b *testing.B) {
			for b.Loop() {
				impl.fn(x, qa, d, bsums)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/k, "ns/element")
		})
	}
}
