package generate

import (
	"reflect"
	"testing"
)

// TestDefaultSampling: the folder's values replace the base's, do_sample
// false means greedy, do_sample true without a temperature means 1 over a
// greedy base.
func TestDefaultSampling(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	k := func(x int) *int { return &x }
	b := func(x bool) *bool { return &x }
	base := Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepetitionPenalty: 1, Seed: 9}
	for _, tc := range []struct {
		name string
		c    SamplingConfig
		base Sampling
		want Sampling
	}{
		{"none", SamplingConfig{}, base, base},
		{"gemma3 generation_config", SamplingConfig{DoSample: b(true), TopK: k(64), TopP: f(0.95)}, base,
			Sampling{Temperature: 0.8, TopK: 64, TopP: 0.95, MinP: 0.05, RepetitionPenalty: 1, Seed: 9}},
		{"do_sample over a greedy base", SamplingConfig{DoSample: b(true), TopK: k(64)}, Sampling{TopK: 40},
			Sampling{Temperature: 1, TopK: 64}},
		{"do_sample false", SamplingConfig{DoSample: b(false), Temperature: f(0.7), TopK: k(50), TopP: f(1)}, base,
			Sampling{Temperature: 0, TopK: 50, TopP: 1, MinP: 0.05, RepetitionPenalty: 1, Seed: 9}},
		{"gguf keys", SamplingConfig{Temperature: f(0.6), MinP: f(0.1), RepetitionPenalty: f(1.1)}, base,
			Sampling{Temperature: 0.6, TopK: 40, TopP: 0.95, MinP: 0.1, RepetitionPenalty: 1.1, Seed: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{sampling: tc.c}
			if got := m.DefaultSampling(tc.base); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DefaultSampling(%+v) = %+v, want %+v", tc.base, got, tc.want)
			}
		})
	}
}
