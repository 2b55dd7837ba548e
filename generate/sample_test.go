package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refCandidates is the specification of sampler.candidates: every token
// ranked by logit (ties by id), cut by top-k, then to the shortest prefix
// whose untempered probabilities (normalized over what top-k kept) reach
// top-p, then without the tokens of p < min-p·p_max.
func refCandidates(o Sampling, logits []float32) []int32 {
	idx := make([]int32, len(logits))
	for i := range idx {
		idx[i] = int32(i)
	}
	rankRef(idx, logits)
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	mx := float64(logits[idx[0]])
	if o.TopP > 0 && o.TopP < 1 {
		var sum, c float64
		for _, t := range idx {
			sum += math.Exp(float64(logits[t]) - mx)
		}
		for i, t := range idx {
			if c += math.Exp(float64(logits[t])-mx) / sum; c >= o.TopP {
				idx = idx[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		for i, t := range idx {
			if math.Exp(float64(logits[t])-mx) < o.MinP {
				idx = idx[:i]
				break
			}
		}
	}
	return idx
}

// rankRef is the specification of rank: idx sorted by before.
func rankRef(idx []int32, logits []float32) {
	slices.SortFunc(idx, func(a, b int32) int {
		switch {
		case before(logits, a, b):
			return -1
		case before(logits, b, a):
			return 1
		}
		return 0
	})
}

// TestRank compares rank with rankRef on logits with many ties, ±0,
// ±Inf, subnormals and the extremes of float32.
func TestRank(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 1, -1}
	var keys []uint64
	for _, n := range []int{0, 1, 2, 3, 17, 100, 5000} {
		for range 20 {
			logits := make([]float32, n)
			for i := range logits {
				switch r.IntN(3) {
				case 0:
					logits[i] = special[r.IntN(len(special))]
				case 1:
					logits[i] = float32(r.IntN(5) - 2) // ties
				default:
					logits[i] = float32(r.NormFloat64() * 10)
				}
			}
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(n - 1 - i)
			}
			r.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			want := slices.Clone(idx)
			rankRef(want, logits)
			keys = rank(idx, logits, keys)
			if !slices.Equal(idx, want) {
				t.Fatalf("n %d: rank %v, want %v (logits %v)", n, idx[:min(n, 10)], want[:min(n, 10)], logits[:min(n, 10)])
			}
		}
	}
}

// refProbs returns the probability of drawing each token: the tempered
// softmax over refCandidates.
func refProbs(o Sampling, logits []float32) []float64 {
	idx := refCandidates(o, logits)
	p := make([]float64, len(logits))
	mx := float64(logits[idx[0]])
	var sum float64
	for _, t := range idx {
		p[t] = math.Exp((float64(logits[t]) - mx) / o.Temperature)
		sum += p[t]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// samplingCases are the option sets of the sampler tests.
var samplingCases = []Sampling{
	{Temperature: 1},
	{Temperature: 0.7, TopK: 5},
	{Temperature: 1.3, TopP: 0.8},
	{Temperature: 1, MinP: 0.1},
	{Temperature: 0.9, TopK: 8, TopP: 0.9, MinP: 0.05},
	{Temperature: 2, TopP: 0.5, MinP: 0.01},
	{Temperature: 1, TopK: 1},
}

// TestSamplerCandidates checks that the candidates the sampler draws from
// are the specification's, on vocabularies of 50 and 5,000 with ties,
// banned tokens and a flat or a peaked distribution: the same set, in the
// same order where the sampler ranks them.
func TestSamplerCandidates(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{50, 5000} {
		for _, peaked := range []bool{false, true} {
			logits := make([]float32, n)
			for i := range logits {
				logits[i] = float32(math.Round(r.NormFloat64()*4) / 2) // many ties
				if peaked && i%97 == 0 {
					logits[i] += 12
				}
				if i%13 == 5 {
					logits[i] = float32(math.Inf(-1)) // banned by logit_bias
				}
			}
			for _, o := range samplingCases {
				s := newSampler(o, n)
				b := s.bufs(n)
				top := slices.Index(logits, slices.Max(logits))
				got := s.candidates(b, logits, top)
				want := refCandidates(o, logits)
				name := fmt.Sprintf("n=%d peaked=%v %+v", n, peaked, o)
				if got == nil { // every token
					if len(want) != n {
						t.Errorf("%s: every token, want %d of them", name, len(want))
					}
					continue
				}
				ranked := o.TopK > 0 || o.TopP > 0
				if !ranked {
					got = slices.Clone(got)
					rankRef(got, logits)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: candidates %v…(%d), want %v…(%d)", name, got[:min(8, len(got))], len(got), want[:min(8, len(want))], len(want))
				}
				s.release()
			}
		}
	}
}

// TestSamplerDistribution draws tokens for each option set from logits
// of 40 tokens (200,000 draws) and of 3,000 (10,000 draws; where nothing
// is cut the sampler takes its vector path over the whole vocabulary) and
// checks every token's frequency against the specification's probability
// within five standard deviations.
func TestSamplerDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{40, 3000} {
		draws := 200_000
		if n > 40 {
			draws = 10_000
		}
		logits := make([]float32, n)
		for i := range logits {
			logits[i] = float32(r.NormFloat64() * 1.5)
		}
		logits[7] = logits[3] // a tie
		for _, o := range samplingCases {
			o.Seed = 11
			s := newSampler(o, n)
			count := make([]int, n)
			l := make([]float32, n)
			for range draws {
				copy(l, logits)
				count[s.pick(l, nil)]++
			}
			s.release()
			p := refProbs(o, logits)
			// Tokens expected fewer than 20 times are checked together.
			check := func(what string, c int, p float64) {
				f := float64(c) / float64(draws)
				sd := math.Sqrt(p * (1 - p) / float64(draws))
				if math.Abs(f-p) > 5*sd+1e-6 {
					t.Errorf("n=%d %+v: %s drawn %.5f of the time, want %.5f (±%.5f)", n, o, what, f, p, 5*sd)
				}
			}
			var rareC int
			var rareP float64
			for tok, c := range count {
				if p[tok]*float64(draws) < 20 {
					rareC, rareP = rareC+c, rareP+p[tok]
					continue
				}
				check(fmt.Sprintf("token %d", tok), c, p[tok])
			}
			check("the rare tokens", rareC, rareP)
		}
	}
}

// BenchmarkSample measures one draw from a 262,144-token vocabulary
// (Gemma 3's) of random logits for OpenAI's default sampling (temperature
// 1, nothing cut), llama.cpp's (top-k 40, top-p 0.95, min-p 0.05,
// temperature 0.8) and top-p 0.9 alone.
// Example: go test -run - -bench Sample ./generate
func BenchmarkSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 262144
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	l := make([]float32, n)
	for _, c := range []struct {
		name string
		o    Sampling
	}{
		{"openai-default", Sampling{Temperature: 1, Seed: 1}},
		{"llama.cpp-default", Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, Seed: 1}},
		{"top-p-0.9", Sampling{Temperature: 1, TopP: 0.9, Seed: 1}},
	} {
		s := newSampler(c.o, n)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				copy(l, logits)
				s.pick(l, nil)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "draws/s")
		})
	}
}

// BenchmarkLogprobs measures the log-probability of a sampled token and
// its 5 best alternatives over Gemma 3's 262,144-token vocabulary
// (logprobs: true, top_logprobs: 5).
func BenchmarkLogprobs(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, 262144)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	scratch := make([]float32, len(logits))
	for b.Loop() {
		logprobs(logits, 17, 5, scratch)
	}
}
