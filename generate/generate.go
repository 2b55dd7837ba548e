// Package generate turns a Gemma 3 GGUF file into text: load, generate,
// close.
//
//	m, err := generate.Load(ctx, "gemma-3-270m-it-Q4_0.gguf")
//	text, err := m.Generate(ctx, "Why is the sky blue?", generate.Options{MaxTokens: 64})
//	m.Close()
//
// Generation stops at the vocabulary's EOS or <end_of_turn>, at one of
// Options.Stop, after Options.MaxTokens tokens, when the context is full,
// or when ctx is cancelled; Result.Finish says which. Options.OnText
// streams the text as it is produced. Session keeps a chat conversation.
package generate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Model is a loaded model with its tokenizer.
type Model struct {
	Model     *gemma3.Model
	Tokenizer *tokenizer.Tokenizer
	// ChatTemplate is the file's tokenizer.chat_template ("" if none).
	// Chat prompts are rendered with Gemma's template when this is empty
	// or Gemma's (see EncodeChat).
	ChatTemplate string
	stops        []int32
	file         *gguf.File
	threads      int // WithThreads
}

// Options tunes a generation.
type Options struct {
	Sampling
	// MaxTokens bounds the tokens generated; 0 means no bound but the
	// context: generation runs until the end of the turn, a stop string or
	// a full context (MaxLen). Negative is an error wrapping ErrOptions.
	MaxTokens int
	// MaxLen bounds the positions, prompt plus generated tokens, that Run
	// and RunTokens keep in the KV cache (0: the model's context). The
	// cache is sized to min(MaxLen, prompt + MaxTokens) and checked against
	// the model's budget (WithBudget) before it is allocated. A Session has
	// its own length and ignores MaxLen.
	MaxLen int
	// Stop lists strings that end the generation, as OpenAI's stop: when
	// the text contains one, generation stops, and that string and all
	// after it are left out of Result.Text and of OnText. Text that could
	// be the start of a stop string is held back from OnText until the
	// next tokens tell. Empty strings are an error wrapping ErrOptions.
	Stop []string
	// Chat wraps the prompt in the Gemma chat template as one user turn;
	// control-token text in the prompt stays text (see Model.EncodeChat).
	Chat bool
	// Literal tokenizes control-token text in a raw (not Chat) prompt,
	// such as "<start_of_turn>", as plain text. By default it becomes the
	// control tokens, as llama.cpp's tools parse it, so that a prompt
	// already in the chat template runs as the model was trained.
	Literal bool
	// OnText, if set, receives the generated text piece by piece; an error
	// stops generation and is returned.
	OnText func(piece string) error
	// OnToken, if set, receives each generated token (the end-of-turn or
	// EOS token that ends the generation excepted) with its
	// log-probability, before the token's text reaches OnText; an error
	// stops generation and is returned.
	OnToken func(Token) error
	// TopLogprobs is the number of most likely tokens each Token passed to
	// OnToken lists in Top (0 to MaxTopLogprobs).
	TopLogprobs int
	// Threads bounds the kernels' parallelism (0: the model's WithThreads,
	// else all workers).
	Threads int
}

// validate reports an invalid option.
func (o *Options) validate() error {
	if err := o.Sampling.Validate(); err != nil {
		return err
	}
	switch {
	case o.MaxTokens < 0:
		return fmt.Errorf("generate: max tokens %d must be ≥ 0: %w", o.MaxTokens, ErrOptions)
	case o.MaxLen < 0:
		return fmt.Errorf("generate: max length %d must be ≥ 0: %w", o.MaxLen, ErrOptions)
	case o.Threads < 0:
		return fmt.Errorf("generate: threads %d must be ≥ 0: %w", o.Threads, ErrOptions)
	case o.TopLogprobs < 0 || o.TopLogprobs > MaxTopLogprobs:
		return fmt.Errorf("generate: top logprobs %d must be in [0, %d]: %w", o.TopLogprobs, MaxTopLogprobs, ErrOptions)
	}
	for i, s := range o.Stop {
		if s == "" {
			return fmt.Errorf("generate: stop string %d is empty: %w", i, ErrOptions)
		}
	}
	return nil
}

// FinishReason says why a generation ended.
type FinishReason string

// The reasons a generation ends without an error.
const (
	// FinishStop: the model ended its turn (EOS or <end_of_turn>) or wrote
	// one of Options.Stop.
	FinishStop FinishReason = "stop"
	// FinishLength: Options.MaxTokens tokens were generated.
	FinishLength FinishReason = "length"
	// FinishContext: the KV cache is full (Options.MaxLen, the model's
	// context, or the Session's length).
	FinishContext FinishReason = "context"
)

// Result describes a finished generation.
type Result struct {
	Text string // the generated text, without a stop string and what followed it
	// Tokens are the generated tokens, the EOS or end-of-turn token
	// excluded; they include the tokens of a stop string.
	Tokens       []int32
	PromptTokens int
	Prompt       time.Duration // prefill time
	Decode       time.Duration // time of the generation steps
	Finish       FinishReason  // why generation ended; "" when it ended with an error
}

// Generate returns the text generated after prompt.
func (m *Model) Generate(ctx context.Context, prompt string, opt Options) (string, error) {
	r, err := m.Run(ctx, prompt, opt)
	return r.Text, err
}

// Encode tokenizes a raw prompt (with BOS, control-token text such as
// "<start_of_turn>" parsed into the control tokens), or a single chat user
// turn (see EncodeChat).
func (m *Model) Encode(prompt string, chat bool) ([]int32, error) {
	if !chat {
		return m.Tokenizer.Encode(prompt, true, true), nil
	}
	return m.EncodeChat([]tokenizer.Message{{Role: "user", Content: prompt}})
}

// Run generates after prompt and reports timings.
func (m *Model) Run(ctx context.Context, prompt string, opt Options) (Result, error) {
	if err := opt.validate(); err != nil {
		return Result{}, err
	}
	var ids []int32
	var err error
	switch {
	case opt.Chat:
		ids, err = m.Encode(prompt, true)
	default:
		ids = m.Tokenizer.Encode(prompt, true, !opt.Literal)
	}
	if err != nil {
		return Result{}, err
	}
	return m.RunTokens(ctx, ids, opt)
}

// RunTokens generates after the prompt token ids. A prompt that fills the
// context (Options.MaxLen or the model's) is an error wrapping
// gemma3.ErrContext.
func (m *Model) RunTokens(ctx context.Context, prompt []int32, opt Options) (Result, error) {
	if err := opt.validate(); err != nil {
		return Result{}, err
	}
	if err := opt.checkVocab(m.Model.Config.Vocab); err != nil {
		return Result{}, err
	}
	if len(prompt) == 0 {
		return Result{}, fmt.Errorf("generate: empty prompt: %w", ErrOptions)
	}
	maxLen := m.Model.Config.Context
	if opt.MaxLen > 0 {
		maxLen = min(maxLen, opt.MaxLen)
	}
	if len(prompt) >= maxLen {
		return Result{}, fmt.Errorf("generate: prompt of %d tokens does not fit the context of %d: %w", len(prompt), maxLen, gemma3.ErrContext)
	}
	if opt.MaxTokens > 0 && opt.MaxTokens < maxLen-len(prompt) {
		maxLen = len(prompt) + opt.MaxTokens
	}
	st, err := m.newState(maxLen, opt.Threads)
	if err != nil {
		return Result{}, err
	}
	return m.continueState(ctx, st, prompt, nil, opt)
}

// continueState feeds prompt to st, then samples until a stop. history is
// the tokens already in st (for the repetition penalty).
func (m *Model) continueState(ctx context.Context, st *gemma3.State, prompt, history []int32, opt Options) (Result, error) {
	res := Result{PromptTokens: len(prompt)}
	logits := make([]float32, m.Model.Config.Vocab)
	t0 := time.Now()
	if err := st.Forward(ctx, prompt, logits); err != nil {
		return res, err
	}
	res.Prompt = time.Since(t0)
	t1 := time.Now()
	// The cache bounds the tokens: at most MaxLen fed, one more sampled.
	hist := append(append(make([]int32, 0, st.MaxLen()+1), history...), prompt...)
	smp := newSampler(opt.Sampling, len(logits))
	filter := stopFilter{stops: opt.Stop}
	var text strings.Builder
	emit := func(s string) error {
		text.WriteString(s)
		if opt.OnText != nil && s != "" {
			return opt.OnText(s)
		}
		return nil
	}
	decoded := 0
	// flush passes on the text of the new tokens; stop reports a stop string.
	flush := func(final bool) (stop bool, err error) {
		s, err := m.Tokenizer.Decode(res.Tokens, false)
		if err != nil {
			return false, err
		}
		if !final && !utf8.ValidString(s[decoded:]) {
			return false, nil // wait for the rest of a multi-byte character
		}
		out, stop := filter.push(s[decoded:])
		decoded = len(s)
		if final && !stop {
			out += filter.flush()
		}
		return stop, emit(out)
	}
	finish := func(r FinishReason) (Result, error) {
		var err error
		if !filter.done {
			var stop bool
			if stop, err = flush(true); stop {
				r = FinishStop // the last bytes completed a stop string
			}
		}
		res.Decode = time.Since(t1)
		res.Text = text.String()
		if err == nil {
			res.Finish = r
		}
		return res, err
	}
	fail := func(err error) (Result, error) {
		res.Decode = time.Since(t1)
		res.Text = text.String()
		return res, err
	}
	var raw []float32 // the logits before sampling changes them, for OnToken
	if opt.OnToken != nil {
		raw = make([]float32, len(logits))
	}
	for {
		if i := nanAt(logits); i >= 0 {
			return fail(fmt.Errorf("generate: the model's logit for token %d after %d tokens is NaN (corrupt or overflowing weights): %w", i, st.Pos(), ErrNaN))
		}
		copy(raw, logits)
		tok := smp.sample(logits, hist)
		if m.isStop(tok) {
			if st.Pos() < st.MaxLen() { // keep the end-of-turn token in the cache for chat
				if err := st.Forward(ctx, []int32{tok}, nil); err != nil {
					return fail(err)
				}
			}
			return finish(FinishStop)
		}
		res.Tokens = append(res.Tokens, tok)
		hist = append(hist, tok)
		if opt.OnToken != nil {
			if err := opt.OnToken(logprobs(raw, tok, opt.TopLogprobs)); err != nil {
				return fail(err)
			}
		}
		stop, err := flush(false)
		switch {
		case err != nil:
			return fail(err)
		case stop:
			return finish(FinishStop)
		case len(res.Tokens) == opt.MaxTokens:
			return finish(FinishLength)
		case st.Pos() >= st.MaxLen():
			return finish(FinishContext)
		}
		if err := st.Forward(ctx, []int32{tok}, logits); err != nil {
			return fail(err)
		}
	}
}

func (m *Model) isStop(t int32) bool {
	for _, s := range m.stops {
		if s == t {
			return true
		}
	}
	return false
}

// Session is a chat conversation: it keeps the messages and the KV cache,
// so each turn only runs the new tokens.
type Session struct {
	m      *Model
	st     *gemma3.State
	msgs   []tokenizer.Message
	cached []int32
}

// NewSession starts a conversation holding at most maxLen tokens (0: 4096,
// capped at the model's context). system, if not empty, is the system
// prompt. The KV cache is checked against the model's budget (WithBudget).
func (m *Model) NewSession(system string, maxLen int) (*Session, error) {
	if maxLen < 0 {
		return nil, fmt.Errorf("generate: session length %d must be ≥ 0: %w", maxLen, ErrOptions)
	}
	if maxLen == 0 {
		maxLen = 4096
	}
	st, err := m.newState(maxLen, 0)
	if err != nil {
		return nil, err
	}
	s := &Session{m: m, st: st}
	if system != "" {
		s.msgs = append(s.msgs, tokenizer.Message{Role: "system", Content: system})
	}
	return s, nil
}

// Send adds a user message, generates the model's answer and keeps both.
// The answer ends as Run's do; with MaxTokens 0 or more than the room left,
// it may end because the session is full (FinishContext), and the next
// Send fails with an error wrapping gemma3.ErrContext. Options.MaxLen and
// Options.Threads are ignored (the session has its own).
func (s *Session) Send(ctx context.Context, user string, opt Options) (Result, error) {
	if err := opt.validate(); err != nil {
		return Result{}, err
	}
	if err := opt.checkVocab(s.m.Model.Config.Vocab); err != nil {
		return Result{}, err
	}
	msgs := append(s.msgs, tokenizer.Message{Role: "user", Content: user})
	ids, err := s.m.EncodeChat(msgs)
	if err != nil {
		return Result{}, err
	}
	if len(ids) >= s.st.MaxLen() {
		return Result{}, fmt.Errorf("generate: conversation of %d tokens fills the session length %d: %w", len(ids), s.st.MaxLen(), gemma3.ErrContext)
	}
	// Reuse the cached prefix.
	n := 0
	for n < len(s.cached) && n < len(ids) && s.cached[n] == ids[n] {
		n++
	}
	if n == len(ids) {
		n--
	}
	if err := s.st.Rewind(n); err != nil {
		s.st.Reset()
		n = 0
	}
	res, err := s.m.continueState(ctx, s.st, ids[n:], ids[:n], opt)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.cached = nil
		s.st.Reset()
		return res, err
	}
	s.msgs = append(msgs, tokenizer.Message{Role: "model", Content: res.Text})
	s.cached = append(ids[:len(ids):len(ids)], res.Tokens...)
	s.cached = s.cached[:min(len(s.cached), s.st.Pos())]
	return res, err
}
