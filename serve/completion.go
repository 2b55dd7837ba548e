package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// errStop ends a generation that produced a stop sequence.
var errStop = errors.New("serve: stop sequence")

// defaultCompletionTokens is OpenAI's max_tokens default for /v1/completions.
const defaultCompletionTokens = 16

// completion answers /v1/chat/completions (chat) or /v1/completions.
func (s *Server) completion(w *recorder, r *http.Request, chat bool) {
	if r.Method != http.MethodPost {
		writeError(w, errMethod(r.Method, "POST"))
		return
	}
	m := s.model.Load()
	if m == nil {
		writeError(w, errLoading())
		return
	}
	if s.isDraining() {
		writeError(w, errShuttingDown())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, errTooLarge(s.opt.MaxBodyBytes))
		} else {
			writeError(w, badRequest("", "reading the body: %v", err))
		}
		return
	}
	var req *request
	var e *apiError
	if chat {
		req, e = parseChat(body)
	} else {
		req, e = parseCompletion(body)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	if req.model != "" && req.model != s.opt.ModelName {
		writeError(w, errModelNotFound(req.model))
		return
	}
	ids, e := encode(m, req)
	if e != nil {
		writeError(w, e)
		return
	}
	ctxSize := s.ctxSize(m)
	if len(ids) >= ctxSize {
		e := errContext(len(ids), ctxSize)
		if !chat {
			e.Param = "prompt"
		}
		writeError(w, e)
		return
	}
	maxTokens := req.maxTokens
	if maxTokens == 0 && !chat {
		maxTokens = defaultCompletionTokens
	}
	if room := ctxSize - len(ids); maxTokens == 0 || maxTokens > room {
		maxTokens = room
	}
	if !req.seeded {
		req.sampling.Seed = rand.Uint64()
	}
	w.add(slog.Int("prompt_tokens", len(ids)), slog.Int("max_tokens", maxTokens), slog.Bool("stream", req.stream))

	if !s.enter() {
		writeError(w, errShuttingDown())
		return
	}
	defer s.inflight.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.base, cancel)()

	queued := time.Now()
	slot, err := s.sched.acquire(ctx)
	if err != nil {
		if errors.As(err, &e) {
			writeError(w, e)
		} else if s.base.Err() != nil {
			writeError(w, errShuttingDown())
		}
		return // the client left while queued
	}
	released := false
	release := func() {
		if !released {
			released = true
			s.sched.release(slot)
		}
	}
	defer release()
	w.add(slog.Int("slot", slot), slog.Duration("queued", time.Since(queued)))

	g := &generation{s: s, w: w, req: req, chat: chat, id: w.id, created: time.Now().Unix(), filter: stopFilter{stops: req.stop}}
	if chat {
		g.id = "chatcmpl-" + w.id
	} else {
		g.id = "cmpl-" + w.id
	}
	if req.stream {
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if chat {
			g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: s.opt.ModelName,
				Choices: []chatChoice{{Delta: &chatDelta{Role: "assistant", Content: new(string)}}}})
		}
	}
	var res generate.Result
	if s.hook != nil {
		err = s.hook(ctx, "")
	}
	if err == nil {
		res, err = m.RunTokens(ctx, ids, generate.Options{
			Sampling:  req.sampling,
			MaxTokens: maxTokens,
			Threads:   s.opt.Threads,
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
				out, stop := g.filter.push(piece)
				if err := g.send(out); err != nil {
					return err
				}
				if stop {
					return errStop
				}
				return nil
			},
		})
	}
	release() // the answer is complete: the next request may start now
	if n := len(res.Tokens) - g.pieces; n > 0 {
		s.met.tokens(time.Now(), n) // tokens that gave no text of their own
	}
	s.met.generation(res.PromptTokens, len(res.Tokens), res.Prompt, res.Decode)
	u := usage{PromptTokens: len(ids), CompletionTokens: len(res.Tokens), TotalTokens: len(ids) + len(res.Tokens)}
	w.add(slog.Int("completion_tokens", u.CompletionTokens), slog.Duration("prefill", res.Prompt), slog.Duration("decode", res.Decode))
	if !g.first.IsZero() {
		w.add(slog.Duration("ttft", g.first.Sub(w.started)))
	}
	finish := "length"
	switch {
	case errors.Is(err, errStop):
		finish = "stop"
	case err == nil:
		if res.Finish == generate.FinishStop {
			finish = "stop"
		}
		if err := g.send(g.filter.flush()); err != nil {
			w.add(slog.String("error", err.Error()))
			return
		}
	case r.Context().Err() != nil || g.writeErr != nil:
		w.add(slog.String("error", "client disconnected"))
		w.status = 499 // for the log and metrics; a stream already sent 200
		return
	case s.base.Err() != nil:
		g.fail(errShuttingDown())
		return
	default:
		s.log.Error("generation failed", "id", w.id, "err", err)
		g.fail(errInternal(err))
		return
	}
	w.add(slog.String("finish", finish))
	g.finish(finish, u)
}

// encode tokenizes the request's prompt.
func encode(m *generate.Model, req *request) ([]int32, *apiError) {
	tok := m.Tokenizer
	switch {
	case req.chat:
		text, err := tokenizer.GemmaChat(req.messages, true)
		if err != nil {
			return nil, badRequest("messages", "%v", err)
		}
		return tok.Encode(text, false, true), nil
	case req.tokens != nil:
		for i, t := range req.tokens {
			if t < 0 || int(t) >= m.Model.Config.Vocab {
				return nil, badRequest("prompt", "prompt token %d at index %d is outside the vocabulary of %d", t, i, m.Model.Config.Vocab)
			}
		}
		return req.tokens, nil
	}
	return tok.Encode(req.prompt, true, false), nil
}

// generation writes one response, streamed or whole.
type generation struct {
	s        *Server
	w        *recorder
	req      *request
	chat     bool
	id       string
	created  int64
	filter   stopFilter
	text     []byte // the whole answer (not streamed)
	first    time.Time
	pieces   int
	writeErr error
}

// send passes text on: an SSE chunk when streaming, else kept for the end.
func (g *generation) send(text string) error {
	if text == "" {
		return nil
	}
	if !g.req.stream {
		g.text = append(g.text, text...)
		return nil
	}
	if g.chat {
		return g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.s.opt.ModelName,
			Choices: []chatChoice{{Delta: &chatDelta{Content: &text}}}})
	}
	return g.event(textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: g.s.opt.ModelName,
		Choices: []textChoice{{Text: text}}})
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

// finish writes the final chunk (or the whole answer) with usage.
func (g *generation) finish(reason string, u usage) {
	name := g.s.opt.ModelName
	if !g.req.stream {
		if g.chat {
			writeJSON(g.w, chatResponse{ID: g.id, Object: "chat.completion", Created: g.created, Model: name,
				Choices: []chatChoice{{Message: &chatMessage{Role: "assistant", Content: string(g.text)}, FinishReason: &reason}}, Usage: &u})
		} else {
			writeJSON(g.w, textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: name,
				Choices: []textChoice{{Text: string(g.text), FinishReason: &reason}}, Usage: &u})
		}
		return
	}
	if g.chat {
		g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name,
			Choices: []chatChoice{{Delta: &chatDelta{}, FinishReason: &reason}}, Usage: &u})
		if g.req.includeUsage {
			g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name, Choices: []chatChoice{}, Usage: &u})
		}
	} else {
		g.event(textResponse{ID: g.id, Object: "text_completion", Created: g.created, Model: name,
			Choices: []textChoice{{FinishReason: &reason}}, Usage: &u})
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
}
