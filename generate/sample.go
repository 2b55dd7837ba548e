package generate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

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

// penaltyWindow is the number of recent tokens the repetition penalty sees.
const penaltyWindow = 64

// sampler holds the sampling state of one generation.
type sampler struct {
	opt Sampling
	rng *rand.Rand
	// buf holds the candidate buffers, taken from bufPool on the first
	// draw that needs them (greedy decoding never does) and given back by
	// release: a vocabulary of 262,144 needs 2 MiB, which a server would
	// otherwise allocate for every request.
	buf *sampleBufs
	// seen counts the tokens sample returned (presence and frequency
	// penalties); nil when both are off.
	seen map[int32]int
	// nan is the index of a NaN logit that pick found, or -1: a NaN
	// cannot be ranked, so the token pick returned beside it means
	// nothing. Callers reset it before sampling.
	nan int
}

// sampleBufs are a sampler's candidate ids and their weights: w over the
// vocabulary, p over a cut set.
type sampleBufs struct {
	idx  []int32
	w    []float32
	p    []float64
	keys []uint64 // rank's sort keys
}

var bufPool sync.Pool // of *sampleBufs

func newSampler(opt Sampling, vocab int) *sampler {
	s := &sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x5eed)), nan: -1}
	if opt.PresencePenalty != 0 || opt.FrequencyPenalty != 0 {
		s.seen = make(map[int32]int)
	}
	return s
}

// bufs returns s's buffers for a vocabulary of n.
func (s *sampler) bufs(n int) *sampleBufs {
	if s.buf == nil {
		s.buf, _ = bufPool.Get().(*sampleBufs)
		if s.buf == nil {
			s.buf = new(sampleBufs)
		}
	}
	if len(s.buf.idx) < n {
		s.buf.idx, s.buf.w = make([]int32, n), make([]float32, n)
	}
	return s.buf
}

// release gives s's buffers back for other generations; s may still
// sample afterwards (it takes buffers again).
func (s *sampler) release() {
	if s.buf != nil {
		bufPool.Put(s.buf)
		s.buf = nil
	}
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
		// The product rounded on its own (an explicit conversion), so
		// that arm64 cannot fuse it into the sum: the same bits on every
		// architecture.
		logits[t] -= float32(o.PresencePenalty + float64(float64(c)*o.FrequencyPenalty))
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
	n := len(logits)
	top, nan := simd.Argmax(logits) // the first largest logit, or the first NaN
	if nan {
		s.nan = top
		return 0
	}
	mx := float64(logits[top])
	if o.Temperature == 0 || math.IsInf(mx, 0) {
		// Greedy; or every token banned (-Inf: no distribution to draw
		// from), or an infinite logit, which takes all the mass.
		return int32(top)
	}
	b := s.bufs(n)
	idx := s.candidates(b, logits, top)
	u := s.rng.Float64()
	if idx == nil {
		// Every token: e^((l−mx)/T) in float32 by the vector kernels,
		// drawn from in id order.
		w, x := b.w[:n], logits
		if o.Temperature != 1 {
			inv := float32(1 / o.Temperature)
			if math.IsInf(float64(inv), 0) {
				return int32(top) // a temperature too small for float32: greedy
			}
			m := logits[top]
			for i, l := range logits {
				w[i] = (l - m) * inv
			}
			x = w
		}
		_, sum := simd.ExpSub(w, x)
		r := u * sum
		for i, p := range w {
			r -= float64(p)
			if r < 0 {
				return int32(i)
			}
		}
		return int32(top)
	}
	// A cut set (usually tens of tokens): its weights in float64.
	b.p = b.p[:0]
	var sum float64
	for _, t := range idx {
		e := math.Exp((float64(logits[t]) - mx) / o.Temperature)
		b.p = append(b.p, e)
		sum += e
	}
	r := u * sum
	for i, e := range b.p {
		if r -= e; r < 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}

// candidates returns the tokens s draws from after logits (largest at top): every
// token (nil, in id order), or those that top-k, top-p and min-p keep,
// ranked by logit (ties by id) where top-k or top-p had to rank them, in
// b's memory. Nothing ranks the whole vocabulary: sorting 262,144 logits
// took 40 ms per token.
func (s *sampler) candidates(b *sampleBufs, logits []float32, top int) []int32 {
	o, n, mx := &s.opt, len(logits), float64(logits[top])
	var idx []int32
	ranked := false
	if o.TopK > 0 && o.TopK < n {
		idx, ranked = topK(b.idx[:0], logits, o.TopK), true
	}
	if o.TopP > 0 && o.TopP < 1 {
		idx, ranked = topP(b, logits, idx, o.TopP, top), true
	}
	if o.MinP > 0 {
		// p < MinP·p_max: the logit is below mx + ln MinP (untempered).
		lim := math.Log(o.MinP)
		drop := func(t int32) bool { return float64(logits[t])-mx < lim }
		switch {
		case ranked:
			if i := slices.IndexFunc(idx, drop); i > 0 {
				idx = idx[:i]
			}
		default:
			idx = b.idx[:0]
			for t := range logits {
				if !drop(int32(t)) {
					idx = append(idx, int32(t))
				}
			}
		}
	}
	return idx
}

// before reports whether token a ranks before token b: a higher logit,
// or the same and a lower id.
func before(logits []float32, a, b int32) bool {
	return logits[a] > logits[b] || logits[a] == logits[b] && a < b
}

// rank sorts idx by logit, highest first, ties by id (before's order),
// and returns keys, its scratch of sort keys (grown to len(idx)). Each
// key holds the logit's order (orderKey, inverted) above the id, so that
// one sort of integers gives the order without a comparison function:
// the tens of thousands of candidates top-p keeps on a flat distribution
// ranked in about half the time.
func rank(idx []int32, logits []float32, keys []uint64) []uint64 {
	keys = slices.Grow(keys[:0], len(idx))[:len(idx)]
	for i, t := range idx {
		keys[i] = uint64(^orderKey(logits[t]))<<32 | uint64(uint32(t))
	}
	slices.Sort(keys)
	for i, k := range keys {
		idx[i] = int32(uint32(k))
	}
	return keys
}

// orderKey maps a logit (not NaN) to an integer of the same order: the
// sign bit flipped for positive values, every bit for negative ones, −0
// taken as +0 (they compare equal).
func orderKey(l float32) uint32 {
	if l == 0 {
		return 1 << 31
	}
	u := math.Float32bits(l)
	if u>>31 != 0 {
		return ^u
	}
	return u | 1<<31
}

// topP returns the smallest ranked prefix of the candidates (idx, ranked;
// nil: every token; top the largest logit's token) whose untempered probabilities, normalized over the
// candidates, sum to at least p, in dst's buffers. Over every token it
// ranks only the tokens of probability ≥ a threshold that starts at
// 2⁻¹⁰·p_max and drops 16-fold until their mass reaches p: they are the
// whole prefix, since every other token ranks after them.
func topP(b *sampleBufs, logits []float32, idx []int32, p float64, top int) []int32 {
	if idx != nil {
		mx := float64(logits[top])
		var sum float64
		for _, t := range idx {
			sum += math.Exp(float64(logits[t]) - mx)
		}
		var c float64
		for i, t := range idx {
			if c += math.Exp(float64(logits[t])-mx) / sum; c >= p {
				return idx[:i+1]
			}
		}
		return idx
	}
	w := b.w[:len(logits)]
	simd.Softmax(w, logits)
	for th := w[top] / 1024; ; th /= 16 { // w[top] is the largest probability
		all := th < 1e-30
		idx = b.idx[:0]
		var mass float64
		for t, v := range w {
			if v >= th || all {
				idx = append(idx, int32(t))
				mass += float64(v)
			}
		}
		if mass < p && !all {
			continue
		}
		b.keys = rank(idx, logits, b.keys)
		var c float64
		for i, t := range idx {
			if c += float64(w[t]); c >= p {
				return idx[:i+1]
			}
		}
		return idx
	}
}

// topK returns the k tokens that rank first (see before), ranked, in
// dst's memory (cap ≥ k): a heap of the best k so far, whose root is the
// worst of them, so that most tokens cost one comparison.
func topK(dst []int32, logits []float32, k int) []int32 {
	h := dst[:0]
	down := func(i int) { // restore the heap below i: a worse token above a better one
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && before(logits, h[c], h[c+1]) {
				c++
			}
			if !before(logits, h[i], h[c]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for t := range logits[:k] {
		h = append(h, int32(t))
		for i := len(h) - 1; i > 0 && before(logits, h[(i-1)/2], h[i]); i = (i - 1) / 2 {
			h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
		}
	}
	// A later token ranks before the root only with a higher logit.
	worst := logits[h[0]]
	for t := k; t < len(logits); t++ {
		if logits[t] > worst {
			h[0] = int32(t)
			down(0)
			worst = logits[h[0]]
		}
	}
	var keys [64]uint64 // enough for the usual k, without an allocation
	rank(h, logits, keys[:0])
	return h
}
