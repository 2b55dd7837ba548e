package generate

import "github.com/zerfoo/zerfoo/internal/simd"

// MaxTopLogprobs is the most alternatives Options.TopLogprobs may ask for
// (OpenAI's limit).
const MaxTopLogprobs = 20

// Token is one generated token as Options.OnToken receives it.
type Token struct {
	ID int32
	// Logprob is the natural log of the token's probability under the
	// model's distribution at that step: the softmax of the raw logits,
	// before logit bias, penalties, temperature and truncation (as
	// llama.cpp reports probabilities by default).
	Logprob float64
	// Top lists the Options.TopLogprobs most likely tokens of that
	// distribution, most likely first (ties: lower id first).
	Top []TokenProb
}

// TokenProb is a token id with its log-probability.
type TokenProb struct {
	ID      int32
	Logprob float64
}

// logprobs computes the Token of id from the logits it was sampled from.
func logprobs(logits []float32, id int32, top int, scratch []float32) Token {
	lse := simd.LogSumExp(logits, scratch[:len(logits)])
	t := Token{ID: id, Logprob: float64(logits[id]) - lse}
	if top <= 0 {
		return t
	}
	k := min(top, len(logits))
	ids := topK(make([]int32, 0, k), logits, k) // ranked as Top is
	t.Top = make([]TokenProb, len(ids))
	for i, id := range ids {
		t.Top[i] = TokenProb{id, float64(logits[id]) - lse}
	}
	return t
}
