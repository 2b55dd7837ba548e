package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// defaultCompletionTokens is OpenAI's max_tokens default for /v1/completions.
const defaultCompletionTokens = 16

// accept takes a POST request that runs the model: it answers 503 while
// the model loads or the server drains, and 429 when every slot is busy
// and the queue full (before reading a body that could not be served),
// then reads the body.
func (s *Server) accept(w *recorder, r *http.Request) (m *generate.Model, body []byte, ok bool) {
	if !postJSON(w, r) {
		return nil, nil, false
	}
	if m = s.model.Load(); m == nil {
		writeError(w, errLoading())
		return nil, nil, false
	}
	if s.isDraining() {
		writeError(w, errShuttingDown())
		return nil, nil, false
	}
	if q, busy := s.sched.depth(); busy >= s.opt.Parallel && q >= s.opt.MaxQueue {
		writeError(w, errQueueFull())
		return nil, nil, false
	}
	if body, ok = s.readBody(w, r); !ok {
		return nil, nil, false
	}
	return m, body, true
}

// completion answers /v1/chat/completions (chat) or /v1/completions.
//
// The work a request costs before it holds a slot is bounded: the body
// (Options.MaxBodyBytes) is read and parsed, and the prompt's length is
// checked against a lower bound of its tokens (see minTokens); the prompt
// is tokenized, and a response_format schema compiled, only once the
// request holds its slot.
func (s *Server) completion(w *recorder, r *http.Request, chat bool) {
	m, body, ok := s.accept(w, r)
	if !ok {
		return
	}
	var req *request
	var e *apiError
	// What a request leaves unset comes from the model's own files
	// (generation_config.json, genai_config.json, general.sampling.*), then
	// OpenAI's defaults.
	base := m.DefaultSampling(openAIDefault)
	if chat {
		req, e = parseChat(body, base)
	} else {
		req, e = parseCompletion(body, base)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	if req.model != "" && req.model != s.opt.ModelName {
		writeError(w, errModelNotFound(req.model))
		return
	}
	if e := s.check(m, req); e != nil {
		writeError(w, e)
		return
	}
	ctxSize := s.ctxSize(m)
	if n := s.minTokens(m, req); n >= ctxSize {
		writeError(w, errContext(req, fmt.Sprintf("at least %d", n), ctxSize))
		return
	}
	if !req.seeded {
		req.sampling.Seed = rand.Uint64()
	}

	a, ok := s.admit(w, r)
	if !ok {
		return
	}
	defer a.done()
	ctx, slot, release := a.ctx, a.slot, a.release
	w.add(slog.Int("slot", slot), slog.Duration("queued", a.queued))

	e = req.compile()
	var ids []int32
	if e == nil {
		ids, e = s.encode(m, req)
	}
	if e == nil && len(ids) >= ctxSize {
		e = errContext(req, fmt.Sprint(len(ids)), ctxSize)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	s.slots.prompt(slot, len(ids))
	maxTokens := req.maxTokens
	if maxTokens == 0 && !chat {
		maxTokens = defaultCompletionTokens
	}
	if c := s.opt.MaxTokens; c > 0 && (maxTokens == 0 || maxTokens > c) {
		maxTokens = c
	}
	if room := ctxSize - len(ids); maxTokens == 0 || maxTokens > room {
		maxTokens = room
	}
	w.add(slog.Int("prompt_tokens", len(ids)), slog.Int("max_tokens", maxTokens), slog.Bool("stream", req.stream))

	g := &generation{s: s, w: w, req: req, chat: chat, id: w.id, created: time.Now().Unix()}
	if chat {
		g.id = "chatcmpl-" + w.id
	} else {
		g.id = "cmpl-" + w.id
	}
	opt := generate.Options{
		Sampling:  req.sampling,
		MaxTokens: maxTokens,
		Threads:   s.opt.Threads,
		Stop:      req.stop,
		Grammar:   req.grammar,
		OnText: func(piece string) error {
			if g.first.IsZero() {
				g.first = time.Now()
				s.met.firstToken(g.first.Sub(w.started))
			}
			g.pieces++
			s.met.tokens(time.Now(), 1)
			if s.hook != nil {
				if err := s.hook(ctx, piece); err != nil {
					return err
				}
			}
			return g.send(piece)
		},
	}
	if req.logprobs {
		g.log = newTokenLog(m.Tokenizer)
		opt.OnToken, opt.TopLogprobs = g.log.add, req.topLogprobs
	}
	if req.stream {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		w.sse = true
		if chat {
			g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: s.opt.ModelName,
				Choices: []chatChoice{{Delta: &chatDelta{Role: "assistant", Content: new(string)}}}})
		}
	}
	var res generate.Result
	var err error
	if s.hook != nil {
		err = s.hook(ctx, "")
	}
	if err == nil {
		res, err = s.run(ctx, m, ids, opt)
		s.slots.cached(slot, res.CachedTokens)
	}
	release() // the answer is complete: the next request may start now
	if n := len(res.Tokens) - g.pieces; n > 0 {
		s.met.tokens(time.Now(), n) // tokens that gave no text of their own
	}
	s.met.generation(res.PromptTokens, len(res.Tokens), res.Prompt, res.Decode)
	u := usage{PromptTokens: len(ids), CompletionTokens: len(res.Tokens), TotalTokens: len(ids) + len(res.Tokens),
		PromptTokensDetails: promptTokensDetails{CachedTokens: res.CachedTokens}}
	w.add(slog.Int("completion_tokens", u.CompletionTokens), slog.Duration("prefill", res.Prompt), slog.Duration("decode", res.Decode))
	if !g.first.IsZero() {
		w.add(slog.Duration("ttft", g.first.Sub(w.started)))
	}
	switch {
	case err == nil:
	case r.Context().Err() != nil || g.writeErr != nil:
		w.add(slog.String("error", "client disconnected"))
		w.status = 499 // for the log and metrics; a stream already sent 200
		return
	case s.base.Err() != nil:
		g.fail(errShuttingDown())
		return
	default:
		var pe *workerpool.PanicError
		if errors.As(err, &pe) {
			s.log.Error("generation panicked", "id", w.id, "err", err, "stack", string(pe.Stack))
		} else {
			s.log.Error("generation failed", "id", w.id, "err", err)
		}
		g.fail(errInternal(err))
		return
	}
	finish := "length"
	if res.Finish == generate.FinishStop {
		finish = "stop"
	}
	w.add(slog.String("finish", finish))
	g.finish(finish, u)
}

// check validates the parts of req that depend on the model: the chat
// template, the logit_bias ids and the prompt's token ids.
func (s *Server) check(m *generate.Model, req *request) *apiError {
	if req.chat {
		if err := m.TemplateError(); err != nil {
			return errTemplate(err)
		}
	}
	vocab := m.Model.Config.Vocab
	for id := range req.sampling.LogitBias {
		if int(id) >= vocab {
			return badRequest("logit_bias", "logit_bias token %d is outside the vocabulary of %d", id, vocab)
		}
	}
	for i, t := range req.tokens {
		if t < 0 || int(t) >= vocab {
			return badRequest("prompt", "prompt token %d at index %d is outside the vocabulary of %d", t, i, vocab)
		}
	}
	return nil
}

// minTokens returns a lower bound of the prompt's tokens, found without
// tokenizing: each token covers at most maxCover bytes of text.
func (s *Server) minTokens(m *generate.Model, req *request) int {
	c := s.maxCover(m)
	switch {
	case req.tokens != nil:
		return len(req.tokens)
	case req.chat:
		n := req.toolsLen // the tools' prompt text (tools.go) is longer
		for _, msg := range req.messages {
			n += len(msg.Content)
		}
		return (n + c - 1) / c
	}
	return (len(req.prompt) + c - 1) / c
}

// encode tokenizes the request's prompt: a chat through the Gemma template
// (message contents as text), a text prompt with BOS and, unless turned off
// by the request or Options.NoParseSpecial, control-token text parsed.
func (s *Server) encode(m *generate.Model, req *request) ([]int32, *apiError) {
	switch {
	case req.chat:
		ids, err := m.EncodeChat(req.messages)
		if err != nil {
			return nil, badRequest("messages", "%v", err)
		}
		return ids, nil
	case req.tokens != nil:
		return req.tokens, nil
	}
	parse := !s.opt.NoParseSpecial
	if req.parseSpecial != nil {
		parse = *req.parseSpecial
	}
	return m.Tokenizer.Encode(req.prompt, true, parse), nil
}

// generation writes one response, streamed or whole.
type generation struct {
	s        *Server
	w        *recorder
	req      *request
	chat     bool
	id       string
	created  int64
	text     []byte // the whole answer (not streamed)
	sent     int    // bytes of text passed to send
	log      *tokenLog
	first    time.Time
	pieces   int
	writeErr error
}

// send passes text on: an SSE chunk when streaming, else kept for the end.
func (g *generation) send(text string) error {
	if text == "" {
		return nil
	}
	if g.tooling() {
		return g.toolText(text) // tools.go
	}
	g.sent += len(text)
	if !g.req.stream {
		g.text = append(g.text, text...)
		return nil
	}
	var entries []logEntry
	if g.log != nil {
		entries = g.log.take(g.sent, false)
	}
	if g.chat {
		return g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.s.opt.ModelName,
			Choices: []chatChoice{{Delta: &chatDelta{Content: &text}, Logprobs: chatFormat(entries)}}})
	}
	return g.event(textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: g.s.opt.ModelName,
		Choices: []textChoice{{Text: text, Logprobs: textFormat(entries)}}})
}

// event writes one Server-Sent Event and flushes it.
func (g *generation) event(v any) error {
	if g.writeErr != nil {
		return g.writeErr
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(g.w, "data: %s\n\n", b); err != nil {
		g.writeErr = err
		return err
	}
	if err := http.NewResponseController(g.w).Flush(); err != nil {
		g.writeErr = err
	}
	return g.writeErr
}

// rest returns the log entries not sent yet, as at the end of the text;
// nil without logprobs. (Non-nil but empty when there are none left, so
// that a final chunk still says logprobs were asked for.)
func (g *generation) rest() []logEntry {
	if g.log == nil {
		return nil
	}
	return append([]logEntry{}, g.log.take(g.sent, true)...)
}

// finish writes the final chunk (or the whole answer). A whole answer
// carries usage; a stream carries it on a last chunk without choices when
// the request set stream_options.include_usage, as OpenAI's does.
func (g *generation) finish(reason string, u usage) {
	if g.tooling() {
		g.toolFinish(reason, u) // tools.go
		return
	}
	name := g.s.opt.ModelName
	if !g.req.stream {
		if g.chat {
			writeJSON(g.w, chatResponse{ID: g.id, Object: "chat.completion", Created: g.created, Model: name,
				Choices: []chatChoice{{Message: &chatMessage{Role: "assistant", Content: string(g.text)}, Logprobs: chatFormat(g.rest()), FinishReason: &reason}}, Usage: &u})
		} else {
			writeJSON(g.w, textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: name,
				Choices: []textChoice{{Text: string(g.text), Logprobs: textFormat(g.rest()), FinishReason: &reason}}, Usage: &u})
		}
		return
	}
	if g.chat {
		g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name,
			Choices: []chatChoice{{Delta: &chatDelta{}, Logprobs: chatFormat(g.rest()), FinishReason: &reason}}})
		if g.req.includeUsage {
			g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name, Choices: []chatChoice{}, Usage: &u})
		}
	} else {
		g.event(textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: name,
			Choices: []textChoice{{Logprobs: textFormat(g.rest()), FinishReason: &reason}}})
		if g.req.includeUsage {
			g.event(textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: name, Choices: []textChoice{}, Usage: &u})
		}
	}
	g.done()
}

// done ends a stream.
func (g *generation) done() {
	if g.writeErr == nil {
		if _, err := io.WriteString(g.w, "data: [DONE]\n\n"); err == nil {
			http.NewResponseController(g.w).Flush()
		}
	}
}

// fail reports e: as the response when nothing was sent yet, else as an
// error event that ends the stream.
func (g *generation) fail(e *apiError) {
	g.w.add(slog.String("error", e.Message))
	if !g.req.stream {
		writeError(g.w, e)
		return
	}
	g.event(struct {
		Error *apiError `json:"error"`
	}{e})
	g.done()
	g.w.status = e.Status // for the log and metrics; the stream sent 200
}
