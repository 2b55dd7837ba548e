package generate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/zerfoo/zerfoo/internal/simd"
)

// ErrOptions is wrapped by the error for an invalid sampling option.
var ErrOptions = errors.New("generate: invalid option")

// Sampling selects the next token from logits. The zero value is greedy
// decoding (argmax).
type Sampling struct {
	Temperature float64 // 0: greedy; otherwise logits are divided by it
	TopK        int     // keep the K most likely tokens (0: all)
	TopP        float64 // keep the smallest set with probability ≥ TopP (0 or 1: all)
	MinP        float64 // drop tokens with p < MinP·p_max (0: none)
	// RepetitionPenalty divides positive (multiplies negative) logits of
	// tokens among the last 64 ones, prompt included (llama.cpp's
	// repeat_penalty and repeat_last_n 64); 0 or 1: off.
	RepetitionPenalty float64
	// PresencePenalty and FrequencyPenalty are OpenAI's: the logit of a
	// token generated c > 0 times so far in this generation is lowered by
	// PresencePenalty + c·FrequencyPenalty. They count the generated
	// tokens only, all of them (llama.cpp counts the last repeat_last_n
	// tokens, prompt included). Each in [-2, 2]; 0: off.
	PresencePenalty, FrequencyPenalty float64
	// LogitBias adds its value to the logit of its token id before
	// sampling (OpenAI's logit_bias): values in [-100, 100], where -100
	// bans the token (its probability becomes 0) and 100 all but forces
	// it. Ids outside the vocabulary are an error wrapping ErrOptions
	// when the generation starts.
	LogitBias map[int32]float64
	Seed      uint64
}

// Validate reports an invalid option.
func (s *Sampling) Validate() error {
	switch {
	case s.Temperature < 0 || math.IsNaN(s.Temperature) || math.IsInf(s.Temperature, 0):
		return fmt.Errorf("generate: temperature %g must be ≥ 0: %w", s.Temperature, ErrOptions)
	case s.TopK < 0:
		return fmt.Errorf("generate: top-k %d must be ≥ 0: %w", s.TopK, ErrOptions)
	case !(s.TopP >= 0 && s.TopP <= 1):
		return fmt.Errorf("generate: top-p %g must be in [0, 1]: %w", s.TopP, ErrOptions)
	case !(s.MinP >= 0 && s.MinP <= 1):
		return fmt.Errorf("generate: min-p %g must be in [0, 1]: %w", s.MinP, ErrOptions)
	case s.RepetitionPenalty < 0 || math.IsNaN(s.RepetitionPenalty) || math.IsInf(s.RepetitionPenalty, 0):
		return fmt.Errorf("generate: repetition penalty %g must be ≥ 0: %w", s.RepetitionPenalty, ErrOptions)
	case !(s.PresencePenalty >= -2 && s.PresencePenalty <= 2):
		return fmt.Errorf("generate: presence penalty %g must be in [-2, 2]: %w", s.PresencePenalty, ErrOptions)
	case !(s.FrequencyPenalty >= -2 && s.FrequencyPenalty <= 2):
		return fmt.Errorf("generate: frequency penalty %g must be in [-2, 2]: %w", s.FrequencyPenalty, ErrOptions)
	}
	for id, b := range s.LogitBias {
		if !(b >= -100 && b <= 100) {
			return fmt.Errorf("generate: logit bias %g of token %d must be in [-100, 100]: %w", b, id, ErrOptions)
		}
	}
	return nil
}

// checkVocab reports a LogitBias token outside a vocabulary of n tokens.
func (s *Sampling) checkVocab(n int) error {
	for id := range s.LogitBias {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("generate: logit bias for token %d outside the vocabulary of %d: %w", id, n, ErrOptions)
		}
	}
	return nil
}

// ErrNaN is wrapped by the error a generation returns when the model's
// logits hold a NaN, which no sampling can rank.
var ErrNaN = errors.New("generate: NaN logits")

// nanAt returns the index of the first NaN in logits, or -1.
func nanAt(logits []float32) int {
	for i, v := range logits {
		if v != v {
			return i
		}
	}
	return -1
}

// penaltyWindow is the number of recent tokens the repetition penalty sees.
const penaltyWindow = 64

// sampler holds the reusable buffers of one generation.
type sampler struct {
	opt  Sampling
	rng  *rand.Rand
	idx  []int32
	prob []float64
	// seen counts the tokens sample returned (presence and frequency
	// penalties); nil when both are off.
	seen map[int32]int
	// nan is the index of a NaN logit that pick found, or -1: a NaN
	// cannot be ranked, so the token pick returned beside it means
	// nothing. Callers reset it before sampling.
	nan int
}

func newSampler(opt Sampling, vocab int) *sampler {
	s := &sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x5eed)), idx: make([]int32, vocab), prob: make([]float64, vocab), nan: -1}
	if opt.PresencePenalty != 0 || opt.FrequencyPenalty != 0 {
		s.seen = make(map[int32]int)
	}
	return s
}

// sample picks the next token; it modifies logits (bias and penalties).
// Tokens it returns count for the presence and frequency penalties of the
// next calls.
func (s *sampler) sample(logits []float32, history []int32) int32 {
	t := s.pick(logits, history)
	if s.seen != nil {
		s.seen[t]++
	}
	return t
}

func (s *sampler) pick(logits []float32, history []int32) int32 {
	o := &s.opt
	for id, b := range o.LogitBias {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		if b <= -100 {
			logits[id] = float32(math.Inf(-1))
		} else {
			logits[id] += float32(b)
		}
	}
	for t, c := range s.seen {
		logits[t] -= float32(o.PresencePenalty + float64(c)*o.FrequencyPenalty)
	}
	if o.RepetitionPenalty > 0 && o.RepetitionPenalty != 1 {
		p := float32(o.RepetitionPenalty)
		h := history[max(0, len(history)-penaltyWindow):]
		for i, t := range h {
			if slices.Contains(h[:i], t) {
				continue // penalize each token once
			}
			if logits[t] > 0 {
				logits[t] /= p
			} else {
				logits[t] *= p
			}
		}
	}
	if o.Temperature == 0 {
		// The first largest logit, or the first NaN.
		best, nan := simd.Argmax(logits)
		if nan {
			s.nan = best
			return 0
		}
		return int32(best)
	}
	if i := nanAt(logits); i >= 0 { // negligible beside the ranking below
		s.nan = i
		return 0
	}
	// Candidates sorted by logit, cut by top-k.
	n := len(logits)
	idx := s.idx[:n]
	for i := range idx {
		idx[i] = int32(i)
	}
	cmp := func(a, b int32) int {
		if logits[a] != logits[b] {
			if logits[a] > logits[b] {
				return -1
			}
			return 1
		}
		return int(a - b)
	}
	if o.TopK > 0 && o.TopK < n {
		idx = topK(idx, logits, o.TopK)
	}
	slices.SortFunc(idx, cmp)
	// top-p and min-p on the untempered distribution.
	prob := s.prob[:len(idx)]
	mx := float64(logits[idx[0]])
	if math.IsInf(mx, -1) {
		return idx[0] // every token banned: no distribution to draw from
	}
	var sum float64
	for i, t := range idx {
		prob[i] = math.Exp(float64(logits[t]) - mx)
		sum += prob[i]
	}
	keep := len(idx)
	if o.TopP > 0 && o.TopP < 1 {
		var c float64
		for i, p := range prob {
			c += p / sum
			if c >= o.TopP {
				keep = i + 1
				break
			}
		}
	}
	if o.MinP > 0 {
		for i := 1; i < keep; i++ {
			if prob[i] < o.MinP*prob[0] {
				keep = i
				break
			}
		}
	}
	idx, prob = idx[:keep], prob[:keep]
	sum = 0
	for i, t := range idx {
		prob[i] = math.Exp((float64(logits[t]) - mx) / o.Temperature)
		sum += prob[i]
	}
	r := s.rng.Float64() * sum
	for i, p := range prob {
		r -= p
		if r < 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}

// topK moves the k largest logits to idx[:k] (unordered) by quickselect.
func topK(idx []int32, logits []float32, k int) []int32 {
	lo, hi := 0, len(idx)-1
	for lo < hi {
		p := logits[idx[(lo+hi)/2]]
		i, j := lo, hi
		for i <= j {
			for logits[idx[i]] > p {
				i++
			}
			for logits[idx[j]] < p {
				j--
			}
			if i <= j {
				idx[i], idx[j] = idx[j], idx[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return idx[:k]
		}
	}
	return idx[:k]
}
