// Package generate turns a Gemma 3 GGUF file into text: load, generate,
// close.
//
//	m, err := generate.Load("gemma-3-270m-it-Q4_0.gguf")
//	text, err := m.Generate(ctx, "Why is the sky blue?", generate.Options{MaxTokens: 64})
//	m.Close()
//
// Generation stops at MaxTokens, at the vocabulary's EOS or
// <end_of_turn>, or when the context is cancelled. Options.OnText streams
// the text as it is produced. Session keeps a chat conversation.
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
	stops     []int32
	file      *gguf.File
}

// Load opens a Gemma 3 GGUF file. opts (at most one) tunes loading.
func Load(path string, opts ...gemma3.LoadOptions) (*Model, error) {
	var o gemma3.LoadOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := gemma3.FromFile(f, o)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("generate: %s: %w", path, err)
	}
	g := &Model{Model: m, Tokenizer: tok, file: f}
	v := tok.Vocab()
	if v.EOS >= 0 {
		g.stops = append(g.stops, v.EOS)
	}
	for i, p := range v.Tokens {
		if p == "<end_of_turn>" {
			g.stops = append(g.stops, int32(i))
		}
	}
	return g, nil
}

// Close releases the file mapping.
func (m *Model) Close() error {
	if m.file == nil {
		return nil
	}
	err := m.file.Close()
	m.file = nil
	return err
}

// Options tunes a generation.
type Options struct {
	Sampling
	MaxTokens int // tokens to generate (0: 256)
	// Chat wraps the prompt in the Gemma chat template as one user turn.
	Chat bool
	// OnText, if set, receives the generated text piece by piece; an error
	// stops generation and is returned.
	OnText func(piece string) error
	// Threads bounds the kernels' parallelism (0: all workers).
	Threads int
}

// Result describes a finished generation.
type Result struct {
	Text         string
	Tokens       []int32 // generated tokens, the stop token excluded
	PromptTokens int
	Prompt       time.Duration // prefill time
	Decode       time.Duration // time of the generation steps
	Stopped      string        // "eos", "max_tokens"
}

// Generate returns the text generated after prompt.
func (m *Model) Generate(ctx context.Context, prompt string, opt Options) (string, error) {
	r, err := m.Run(ctx, prompt, opt)
	return r.Text, err
}

// Encode tokenizes a prompt (with BOS), or a single chat user turn.
func (m *Model) Encode(prompt string, chat bool) ([]int32, error) {
	if !chat {
		return m.Tokenizer.Encode(prompt, true, false), nil
	}
	s, err := tokenizer.GemmaChat([]tokenizer.Message{{Role: "user", Content: prompt}}, true)
	if err != nil {
		return nil, err
	}
	return m.Tokenizer.Encode(s, false, true), nil
}

// Run generates after prompt and reports timings.
func (m *Model) Run(ctx context.Context, prompt string, opt Options) (Result, error) {
	ids, err := m.Encode(prompt, opt.Chat)
	if err != nil {
		return Result{}, err
	}
	return m.RunTokens(ctx, ids, opt)
}

// RunTokens generates after the prompt token ids.
func (m *Model) RunTokens(ctx context.Context, prompt []int32, opt Options) (Result, error) {
	if err := opt.Validate(); err != nil {
		return Result{}, err
	}
	if opt.MaxTokens < 0 {
		return Result{}, fmt.Errorf("generate: max tokens %d must be ≥ 0: %w", opt.MaxTokens, ErrOptions)
	}
	if opt.MaxTokens == 0 {
		opt.MaxTokens = 256
	}
	c := m.Model.Config
	if len(prompt) == 0 {
		return Result{}, fmt.Errorf("generate: empty prompt: %w", ErrOptions)
	}
	if len(prompt) >= c.Context {
		return Result{}, fmt.Errorf("generate: prompt of %d tokens does not fit the context of %d: %w", len(prompt), c.Context, gemma3.ErrContext)
	}
	maxLen := min(c.Context, len(prompt)+opt.MaxTokens)
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: maxLen, Threads: opt.Threads})
	return m.continueState(ctx, st, prompt, nil, opt)
}

// continueState feeds prompt to st, then samples until a stop. history is
// the tokens already in st (for the repetition penalty).
func (m *Model) continueState(ctx context.Context, st *gemma3.State, prompt, history []int32, opt Options) (Result, error) {
	if opt.MaxTokens == 0 {
		opt.MaxTokens = 256
	}
	res := Result{PromptTokens: len(prompt)}
	logits := make([]float32, m.Model.Config.Vocab)
	t0 := time.Now()
	if err := st.Forward(ctx, prompt, logits); err != nil {
		return res, err
	}
	res.Prompt = time.Since(t0)
	t1 := time.Now()
	hist := append(append(make([]int32, 0, len(history)+len(prompt)+opt.MaxTokens), history...), prompt...)
	smp := newSampler(opt.Sampling, len(logits))
	var text strings.Builder
	emitted := 0
	flush := func(final bool) error {
		s, err := m.Tokenizer.Decode(res.Tokens, false)
		if err != nil {
			return err
		}
		if !final && !utf8.ValidString(s[emitted:]) {
			return nil // wait for the rest of a multi-byte character
		}
		piece := s[emitted:]
		emitted = len(s)
		text.WriteString(piece)
		if opt.OnText != nil && piece != "" {
			return opt.OnText(piece)
		}
		return nil
	}
	res.Stopped = "max_tokens"
	for len(res.Tokens) < opt.MaxTokens {
		tok := smp.sample(logits, hist)
		if m.isStop(tok) {
			res.Stopped = "eos"
			if st.Pos() < st.MaxLen() { // keep the stop token in the cache for chat
				if err := st.Forward(ctx, []int32{tok}, nil); err != nil {
					return res, err
				}
			}
			break
		}
		res.Tokens = append(res.Tokens, tok)
		hist = append(hist, tok)
		if err := flush(false); err != nil {
			return res, err
		}
		if len(res.Tokens) == opt.MaxTokens || st.Pos() >= st.MaxLen() {
			if st.Pos() >= st.MaxLen() {
				res.Stopped = "context"
			}
			break
		}
		if err := st.Forward(ctx, []int32{tok}, logits); err != nil {
			res.Text = text.String()
			return res, err
		}
	}
	err := flush(true)
	res.Decode = time.Since(t1)
	res.Text = text.String()
	return res, err
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
// prompt.
func (m *Model) NewSession(system string, maxLen int) *Session {
	if maxLen <= 0 {
		maxLen = 4096
	}
	s := &Session{m: m, st: m.Model.NewState(gemma3.StateOptions{MaxLen: maxLen})}
	if system != "" {
		s.msgs = append(s.msgs, tokenizer.Message{Role: "system", Content: system})
	}
	return s
}

// Send adds a user message, generates the model's answer and keeps both.
func (s *Session) Send(ctx context.Context, user string, opt Options) (Result, error) {
	msgs := append(s.msgs, tokenizer.Message{Role: "user", Content: user})
	text, err := tokenizer.GemmaChat(msgs, true)
	if err != nil {
		return Result{}, err
	}
	ids := s.m.Tokenizer.Encode(text, false, true)
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
	if len(ids)+max(opt.MaxTokens, 1) > s.st.MaxLen() {
		return Result{}, fmt.Errorf("generate: conversation of %d tokens exceeds the session length %d: %w", len(ids), s.st.MaxLen(), gemma3.ErrContext)
	}
	if opt.MaxTokens == 0 {
		opt.MaxTokens = min(256, s.st.MaxLen()-len(ids))
	}
	if err := opt.Validate(); err != nil {
		return Result{}, err
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
