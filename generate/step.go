package generate

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// sink receives what a stepper produces: each generated token (with its
// log-probabilities when Options.OnToken is set) and the text that may be
// shown. RunTokens passes them to the callbacks at once; a Batcher queues
// them for the request's goroutine.
type sink interface {
	token(id int32, t *Token) error
	text(piece string) error
}

// callbacks is the sink of a direct generation: Options' callbacks.
type callbacks struct{ opt *Options }

func (c callbacks) token(_ int32, t *Token) error {
	if c.opt.OnToken != nil {
		return c.opt.OnToken(*t)
	}
	return nil
}

func (c callbacks) text(s string) error {
	if c.opt.OnText != nil && s != "" {
		return c.opt.OnText(s)
	}
	return nil
}

// stepper is the per-sequence part of generation shared by RunTokens and
// the Batcher: given the logits after the sequence's last token it samples
// the next one (penalties, logit bias, grammar), finds the stops (end of
// turn, stop strings, MaxTokens, a full context) and produces the tokens
// and text.
type stepper struct {
	m      *Model
	opt    *Options
	out    sink
	smp    *sampler
	con    *constraint
	filter stopFilter
	hist   []int32
	raw    []float32 // the logits before sampling changes them, for OnToken
	res    Result
	text   strings.Builder
	start  time.Time // of the decode
	// decoded counts the tokens of res.Tokens whose text is in pending or
	// already filtered; pending is text not yet filtered (an incomplete
	// UTF-8 character).
	decoded int
	pending string
	// endTurn is set when the generation ended with an end-of-turn or EOS
	// token (the token returned last), which is not in res.Tokens.
	endTurn bool
}

// newStepper returns the stepper of a generation after prompt; history is
// the tokens before prompt in the cache (for the penalties), maxLen the
// cache's length.
func (m *Model) newStepper(opt *Options, out sink, prompt, history []int32, maxLen int) *stepper {
	vocab := m.Model.Config.Vocab
	s := &stepper{
		m: m, opt: opt, out: out,
		smp:    newSampler(opt.Sampling, vocab),
		con:    m.newConstraint(opt.Grammar, vocab),
		filter: stopFilter{stops: opt.Stop},
		// The cache bounds the tokens: at most maxLen fed, one more sampled.
		hist: append(append(make([]int32, 0, maxLen+1), history...), prompt...),
		res:  Result{PromptTokens: len(prompt)},
	}
	if opt.OnToken != nil {
		s.raw = make([]float32, vocab)
	}
	return s
}

// emit passes on text.
func (s *stepper) emit(t string) error {
	s.text.WriteString(t)
	return s.out.text(t)
}

// flush passes on the text of the new tokens; stop reports a stop string.
func (s *stepper) flush(final bool) (stop bool, err error) {
	// Only the new tokens are decoded: the first flush drops the text's
	// space prefix as Decode does, later ones continue it.
	decode := s.m.Tokenizer.DecodeMore
	if s.decoded == 0 {
		decode = s.m.Tokenizer.Decode
	}
	t, err := decode(s.res.Tokens[s.decoded:], false)
	if err != nil {
		return false, err
	}
	if s.decoded < len(s.res.Tokens) {
		s.decoded = len(s.res.Tokens)
		s.pending += t
	}
	if !final && !utf8.ValidString(s.pending) {
		return false, nil // wait for the rest of a multi-byte character
	}
	out, stop := s.filter.push(s.pending)
	s.pending = ""
	if final && !stop {
		out += s.filter.flush()
	}
	return stop, s.emit(out)
}

// finish ends the generation for reason r.
func (s *stepper) finish(r FinishReason) error {
	var err error
	if !s.filter.done {
		var stop bool
		if stop, err = s.flush(true); stop {
			r = FinishStop // the last bytes completed a stop string
		}
	}
	s.smp.release()
	s.res.Decode = time.Since(s.start)
	s.res.Text = s.text.String()
	if err == nil {
		s.res.Finish = r
	}
	return err
}

// fail ends the generation with err, which it returns.
func (s *stepper) fail(err error) error {
	s.smp.release()
	s.res.Decode = time.Since(s.start)
	s.res.Text = s.text.String()
	s.res.Finish = ""
	return err
}

// next samples after logits, the sequence being at position pos of a
// cache of maxLen. It returns the token to feed and whether the generation
// is over (then res.Finish says why; the token is the end of turn to keep
// in the cache if endTurn is set, else nothing to feed). An error ends the
// generation.
func (s *stepper) next(logits []float32, pos, maxLen int) (tok int32, done bool, err error) {
	copy(s.raw, logits)
	s.smp.nan = -1
	tok, err = s.con.sample(s.smp, logits, s.hist)
	if i := s.smp.nan; i >= 0 {
		return 0, true, s.fail(fmt.Errorf("generate: the model's logit for token %d after %d tokens is NaN (corrupt or overflowing weights): %w", i, pos, ErrNaN))
	}
	if err != nil {
		return 0, true, s.fail(err)
	}
	if s.m.isStop(tok) {
		s.endTurn = true
		return tok, true, s.finish(FinishStop)
	}
	s.res.Tokens = append(s.res.Tokens, tok)
	s.hist = append(s.hist, tok)
	var t *Token
	if s.opt.OnToken != nil {
		lp := logprobs(s.raw, tok, s.opt.TopLogprobs, s.smp.bufs(len(s.raw)).w)
		t = &lp
	}
	if err := s.out.token(tok, t); err != nil {
		return 0, true, s.fail(err)
	}
	stop, err := s.flush(false)
	switch {
	case err != nil:
		return 0, true, s.fail(err)
	case stop, s.con.done():
		return 0, true, s.finish(FinishStop)
	case len(s.res.Tokens) == s.opt.MaxTokens:
		return 0, true, s.finish(FinishLength)
	case pos >= maxLen:
		return 0, true, s.finish(FinishContext)
	}
	return tok, false, nil
}
