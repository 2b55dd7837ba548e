package gemma3

import (
	"math"
	"testing"
)

// TestSoftcap checks softcap against float64 c·tanh(x/c) over logits from
// 1e−6 to 1e4 of both signs (and ±Inf, NaN) for caps 3 and 30: within 4
// units in the last place of the float32 result.
func TestSoftcap(t *testing.T) {
	for _, c := range []float32{3, 30} {
		var xs []float32
		for e := -6.0; e <= 4; e += 0.001 {
			v := float32(math.Pow(10, e))
			xs = append(xs, v, -v)
		}
		xs = append(xs, 0, float32(math.Inf(1)), float32(math.Inf(-1)))
		got := append([]float32(nil), xs...)
		softcap(got, c)
		for i, x := range xs {
			want := float32(float64(c) * math.Tanh(float64(x)/float64(c)))
			ulp := math.Nextafter32(float32(math.Abs(float64(want))), float32(math.Inf(1))) - float32(math.Abs(float64(want)))
			if d := math.Abs(float64(got[i] - want)); d > 4*float64(ulp) {
				t.Fatalf("cap %g: softcap(%g) = %g, want %g (%.1f ulp)", c, x, got[i], want, d/float64(ulp))
			}
		}
		nan := []float32{float32(math.NaN())}
		if softcap(nan, c); !math.IsNaN(float64(nan[0])) {
			t.Errorf("cap %g: softcap(NaN) = %g", c, nan[0])
		}
	}
}

// BenchmarkSoftcap soft-caps a Gemma 3 vocabulary's logits (262144).
func BenchmarkSoftcap(b *testing.B) {
	x := make([]float32, 262144)
	for i := range x {
		x[i] = float32(i%200-100) / 10
	}
	for b.Loop() {
		softcap(x, 30)
	}
	b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds()/1e6, "Mlogits/s")
}
