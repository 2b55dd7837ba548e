package generate

import (
	"container/heap"
	"github.com/zerfoo/zerfoo/internal/simd"
)

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
	// A min-heap of the best top seen so far.
	h := make(probHeap, 0, top)
	for i, v := range logits {
		p := TokenProb{int32(i), float64(v)}
		if len(h) < top {
			heap.Push(&h, p)
		} else if better(p, h[0]) {
			h[0] = p
			heap.Fix(&h, 0)
		}
	}
	t.Top = make([]TokenProb, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		p := heap.Pop(&h).(TokenProb)
		p.Logprob -= lse
		t.Top[i] = p
	}
	return t
}

// better orders by logit, then lower id.
func better(a, b TokenProb) bool {
	if a.Logprob != b.Logprob {
		return a.Logprob > b.Logprob
	}
	return a.ID < b.ID
}

type probHeap []TokenProb

func (h probHeap) Len() int           { return len(h) }
func (h probHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h probHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *probHeap) Push(x any)        { *h = append(*h, x.(TokenProb)) }
func (h *probHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
