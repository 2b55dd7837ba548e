package generate

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// ErrGrammar is wrapped by the error of a constrained generation that no
// token of the vocabulary can continue (a vocabulary without the byte
// tokens the grammar needs).
var ErrGrammar = errors.New("generate: no token continues the grammar")

// grammarVocab is a Model's vocabulary as byte strings, indexed for
// grammar.Matcher.Fill; built on the first constrained generation.
type grammarVocab struct {
	once  sync.Once
	vocab *grammar.Vocab
}

// TokenBytes returns the bytes each token of t adds to generated text, as
// Tokenizer.Decode renders it: ▁ becomes a space in normal pieces, a byte
// token <0xXX> is its byte, user-defined pieces are verbatim, and control,
// unknown and unused tokens add nothing (nil). (Decode drops the space
// that begins the whole text when the vocabulary adds a space prefix;
// a JSON grammar never starts with one.)
func TokenBytes(t *tokenizer.Tokenizer) [][]byte { return t.TokenBytes() }

// grammarVocab returns the model's indexed vocabulary.
func (m *Model) grammarVocab() *grammar.Vocab {
	m.gvocab.once.Do(func() { m.gvocab.vocab = grammar.NewVocab(TokenBytes(m.Tokenizer)) })
	return m.gvocab.vocab
}

// constraint restricts one generation to the token sequences whose bytes
// a grammar accepts. A nil *constraint constrains nothing.
type constraint struct {
	model *Model
	match *grammar.Matcher
	vocab *grammar.Vocab
	allow []bool
	saved []float32
}

// newConstraint returns the constraint of g for logits of n tokens, or
// nil when g is nil.
func (m *Model) newConstraint(g *grammar.Grammar, n int) *constraint {
	if g == nil {
		return nil
	}
	v := m.grammarVocab()
	return &constraint{model: m, match: g.Matcher(), vocab: v, allow: make([]bool, max(n, v.Len())), saved: make([]float32, n)}
}

// sample picks the next token as smp does, among the tokens the grammar
// allows — the end-of-turn tokens only once it is complete — and advances
// the grammar over it. As llama.cpp does, it first samples from all
// tokens and keeps the choice if the grammar allows it; otherwise it
// masks every disallowed token and samples again. Both steps together
// draw from the masked distribution exactly, and greedy decoding picks
// the allowed token with the highest logit.
func (c *constraint) sample(smp *sampler, logits []float32, hist []int32) (int32, error) {
	if c == nil {
		return smp.sample(logits, hist), nil
	}
	copy(c.saved, logits)
	tok := smp.pick(logits, hist)
	if !c.allows(tok) {
		copy(logits, c.saved)
		if c.mask(logits) == 0 {
			return 0, fmt.Errorf("generate: after %d bytes of constrained output: %w", c.match.Len(), ErrGrammar)
		}
		tok = smp.pick(logits, hist)
		if !c.allows(tok) { // every allowed logit is -Inf (a -100 logit bias)
			best := -1
			for i, ok := range c.allow[:len(logits)] {
				if ok && (best < 0 || c.saved[i] > c.saved[best]) {
					best = i
				}
			}
			tok = int32(best)
		}
	}
	if smp.seen != nil {
		smp.seen[tok]++
	}
	if !c.model.isStop(tok) {
		c.match.Accept(c.vocab.Bytes(int(tok)))
	}
	return tok, nil
}

// allows reports whether the grammar allows token tok next.
func (c *constraint) allows(tok int32) bool {
	if c.model.isStop(tok) {
		return c.match.Done()
	}
	if int(tok) >= c.vocab.Len() {
		return false
	}
	b := c.vocab.Bytes(int(tok))
	return len(b) > 0 && c.match.Allows(b)
}

// mask sets the logits of the disallowed tokens to -Inf and returns the
// number of tokens left.
func (c *constraint) mask(logits []float32) int {
	c.match.Fill(c.vocab, c.allow)
	if c.match.Done() {
		for _, s := range c.model.stops {
			if int(s) < len(c.allow) {
				c.allow[s] = true
			}
		}
	}
	n := 0
	for i := range logits {
		if c.allow[i] {
			n++
		} else {
			logits[i] = float32(math.Inf(-1))
		}
	}
	return n
}

// done reports whether the grammar is complete and takes no more bytes:
// the generation is over.
func (c *constraint) done() bool { return c != nil && c.match.Done() && !c.match.More() }
