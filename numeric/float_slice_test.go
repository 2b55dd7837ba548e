package numeric

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSliceConversions(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	src := make([]float32, 37)
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 100)
	}
	src[0], src[1], src[2], src[3] = float32(math.Inf(-1)), 1e6, 3e-7, float32(math.NaN())
	src[4], src[5], src[6] = 65519, -65520, float32(math.Copysign(0, -1))
	for _, n := range []int{0, 1, 36, 37} {
		h := make([]Float16, n+1) // one guard element
		b := make([]BFloat16, n+1)
		guardH, guardB := Float16FromFloat32(-7), BFloat16FromFloat32(-7)
		h[n], b[n] = guardH, guardB
		if got := Float32SliceToFloat16(h, src[:n]); got != n {
			t.Errorf("Float32SliceToFloat16(n=%d): got count %d, want %d", n, got, n)
		}
		if got := Float32SliceToBFloat16(b, src[:n]); got != n {
			t.Errorf("Float32SliceToBFloat16(n=%d): got count %d, want %d", n, got, n)
		}
		if h[n] != guardH || b[n] != guardB {
			t.Errorf("n=%d: guard element overwritten", n)
		}
		back := make([]float32, n+5)
		if got := Float16SliceToFloat32(back, h[:n]); got != n {
			t.Errorf("Float16SliceToFloat32(n=%d): got count %d, want %d", n, got, n)
		}
		for i := range n {
			if want := Float16FromFloat32(src[i]); h[i] != want || !sameFloat32(back[i], want.Float32()) {
				t.Errorf("float16 [%d] of %v: got %#x → %v, want %#x → %v", i, src[i], h[i].Bits(), back[i], want.Bits(), want.Float32())
			}
		}
		if got := BFloat16SliceToFloat32(back, b[:n]); got != n {
			t.Errorf("BFloat16SliceToFloat32(n=%d): got count %d, want %d", n, got, n)
		}
		for i := range n {
			if want := BFloat16FromFloat32(src[i]); b[i] != want || !sameFloat32(back[i], want.Float32()) {
				t.Errorf("bfloat16 [%d] of %v: got %#x → %v, want %#x → %v", i, src[i], b[i].Bits(), back[i], want.Bits(), want.Float32())
			}
		}
		// A short destination limits the count.
		if got := Float32SliceToFloat16(h[:n/2], src[:n]); got != n/2 {
			t.Errorf("short dst: got count %d, want %d", got, n/2)
		}
	}
}

// sameFloat32 reports whether a and b have the same bits.
func sameFloat32(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func benchSrc() []float32 {
	rng := rand.New(rand.NewPCG(13, 14))
	src := make([]float32, 4096)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	return src
}

// BenchmarkConvert measures the slice conversions on 4096 elements; the
// bytes are those of the float32 side.
func BenchmarkConvert(b *testing.B) {
	src := benchSrc()
	h := make([]Float16, len(src))
	bf := make([]BFloat16, len(src))
	out := make([]float32, len(src))
	Float32SliceToFloat16(h, src)
	Float32SliceToBFloat16(bf, src)
	run := func(name string, f func()) {
		b.Run(fmt.Sprintf("%s/n=%d", name, len(src)), func(b *testing.B) {
			b.SetBytes(int64(4 * len(src)))
			for b.Loop() {
				f()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/elem")
		})
	}
	run("Float32ToFloat16", func() { Float32SliceToFloat16(h, src) })
	run("Float32ToBFloat16", func() { Float32SliceToBFloat16(bf, src) })
	run("Float16ToFloat32", func() { Float16SliceToFloat32(out, h) })
	run("BFloat16ToFloat32", func() { BFloat16SliceToFloat32(out, bf) })
	run("Float32ToFloat8E4M3FN", func() {
		for i, v := range src {
			h[i] = Float16{uint16(Float8E4M3FNFromFloat32(v).bits)}
		}
	})
}
