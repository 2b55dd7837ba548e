package generate

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/zerfoo/zerfoo/models/gemma3"
)

// Pooling is how an embedding reduces the final hidden states of a
// prompt's tokens (the final-normed states the LM head reads) to one
// vector, as llama-server's --pooling.
type Pooling uint8

const (
	// PoolMean averages the states of every token, the first (<bos>)
	// included (llama-server's mean).
	PoolMean Pooling = iota
	// PoolLast takes the last token's state (llama-server's last).
	PoolLast
	// PoolCLS takes the first token's state (llama-server's cls).
	PoolCLS
)

// String returns the name ParsePooling reads: "mean", "last" or "cls".
func (p Pooling) String() string {
	switch p {
	case PoolMean:
		return "mean"
	case PoolLast:
		return "last"
	case PoolCLS:
		return "cls"
	}
	return fmt.Sprintf("Pooling(%d)", uint8(p))
}

// ParsePooling returns the Pooling named s (mean, last or cls, any case),
// or an error wrapping ErrOptions that names s.
func ParsePooling(s string) (Pooling, error) {
	for _, p := range []Pooling{PoolMean, PoolLast, PoolCLS} {
		if strings.EqualFold(s, p.String()) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("generate: unknown pooling %q (want mean, last or cls): %w", s, ErrOptions)
}

// pooler accumulates the hidden states of one prompt's tokens, chunk by
// chunk, in token order.
type pooler struct {
	pool Pooling
	n    int // the prompt's tokens
	seen int // tokens added so far
	sum  []float64
	out  []float32
}

func newPooler(pool Pooling, n, hidden int) *pooler {
	p := &pooler{pool: pool, n: n, out: make([]float32, hidden)}
	if pool == PoolMean {
		p.sum = make([]float64, hidden)
	}
	return p
}

// add takes the states of the next len(h)/hidden tokens.
func (p *pooler) add(h []float32) {
	H := len(p.out)
	rows := len(h) / H
	switch p.pool {
	case PoolMean:
		for k := 0; k < rows; k++ {
			for i, v := range h[k*H : (k+1)*H] {
				p.sum[i] += float64(v)
			}
		}
	case PoolCLS:
		if p.seen == 0 && rows > 0 {
			copy(p.out, h[:H])
		}
	case PoolLast:
		if p.seen+rows == p.n && rows > 0 {
			copy(p.out, h[(rows-1)*H:])
		}
	}
	p.seen += rows
}

// result returns the pooled vector (once every token was added).
func (p *pooler) result() []float32 {
	if p.pool == PoolMean {
		for i, s := range p.sum {
			p.out[i] = float32(s / float64(p.n))
		}
	}
	return p.out
}

// Normalize scales v to unit Euclidean length, as llama-server normalizes
// embeddings by default (embd_normalize 2); a zero vector stays zero.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// checkEmbed returns the error for a prompt that cannot be embedded in
// maxLen positions: empty, too long (gemma3.ErrContext) or with a token
// outside the vocabulary (gemma3.ErrToken).
func (m *Model) checkEmbed(prompt []int32, maxLen int, pool Pooling) error {
	if pool > PoolCLS {
		return fmt.Errorf("generate: unknown pooling %d: %w", uint8(pool), ErrOptions)
	}
	if len(prompt) == 0 {
		return fmt.Errorf("generate: empty prompt: %w", ErrOptions)
	}
	if len(prompt) > maxLen {
		return fmt.Errorf("generate: prompt of %d tokens does not fit the context of %d: %w", len(prompt), maxLen, gemma3.ErrContext)
	}
	V := m.Model.Config.Vocab
	for i, t := range prompt {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("generate: token %d at index %d is outside the vocabulary [0, %d): %w", t, i, V, gemma3.ErrToken)
		}
	}
	return nil
}

// Embed runs the prompt token ids through the model and returns their
// final hidden states pooled into one vector of Config.Hidden values, not
// normalized (see Normalize). The prompt is taken as given: tokenize with
// the model's <bos> (Tokenizer.Encode with addSpecial) as llama-server
// does. It runs alone, in a State of its own; a Batcher's Embed shares the
// batch with other requests. Errors: an empty prompt or unknown pooling
// (ErrOptions), one longer than the model's context (gemma3.ErrContext), a
// token outside the vocabulary (gemma3.ErrToken), memory beyond the
// model's budget (budget.ErrExceeded), ctx's.
func (m *Model) Embed(ctx context.Context, prompt []int32, pool Pooling) ([]float32, error) {
	if err := m.checkEmbed(prompt, m.Model.Config.Context, pool); err != nil {
		return nil, err
	}
	chunk := min(128, len(prompt))
	b, err := m.Model.NewBatch(gemma3.BatchOptions{MaxRows: chunk, MaxSeqs: 1, MaxLen: len(prompt), Threads: m.threads})
	if err != nil {
		return nil, err
	}
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: len(prompt), Batch: chunk, Threads: m.threads, CacheOnly: true})
	if err := st.Err(); err != nil {
		return nil, err
	}
	H := m.Model.Config.Hidden
	p := newPooler(pool, len(prompt), H)
	hidden := make([]float32, chunk*H)
	for i := 0; i < len(prompt); i += chunk {
		k := min(chunk, len(prompt)-i)
		if err := b.Forward(ctx, []gemma3.Seq{{State: st, Tokens: prompt[i : i+k], Hidden: hidden[:k*H]}}); err != nil {
			return nil, err
		}
		p.add(hidden[:k*H])
	}
	return p.result(), nil
}
