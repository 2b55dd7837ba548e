package generate

import (
	"math"
	"testing"
)

// TestSamplerNaN: pick reports a NaN anywhere in the logits, first or not,
// greedy or sampling, and leaves nan at -1 for finite logits (-Inf
// included).
func TestSamplerNaN(t *testing.T) {
	nan := float32(math.NaN())
	for _, temp := range []float64{0, 0.7} {
		for _, at := range []int{0, 3, 7} {
			s := newSampler(Sampling{Temperature: temp, Seed: 1}, 8)
			logits := []float32{1, 2, 3, 4, 5, 6, 7, 8}
			logits[at] = nan
			s.nan = -1
			s.pick(logits, nil)
			if s.nan != at {
				t.Errorf("temperature %g, NaN at %d: nan = %d", temp, at, s.nan)
			}
		}
		s := newSampler(Sampling{Temperature: temp, Seed: 1}, 4)
		if tok := s.pick([]float32{float32(math.Inf(-1)), 2, 9, 1}, nil); s.nan != -1 || (temp == 0 && tok != 2) {
			t.Errorf("temperature %g, finite logits: token %d, nan = %d", temp, tok, s.nan)
		}
	}
}
