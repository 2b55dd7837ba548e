package serve

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// slotTable is what /slots reports about each slot.
type slotTable struct {
	mu    sync.Mutex
	slots []slotState
}

type slotState struct {
	busy   bool
	task   string // the request id of the last request
	prompt int    // its prompt tokens (0 until tokenized)
	cached int    // of them, those taken from the prompt cache
}

func (t *slotTable) init(n int) { t.slots = make([]slotState, n) }

// begin marks slot i busy with request id.
func (t *slotTable) begin(i int, id string) {
	t.mu.Lock()
	t.slots[i] = slotState{busy: true, task: id}
	t.mu.Unlock()
}

func (t *slotTable) prompt(i, n int) {
	t.mu.Lock()
	t.slots[i].prompt = n
	t.mu.Unlock()
}

func (t *slotTable) cached(i, n int) {
	t.mu.Lock()
	t.slots[i].cached = n
	t.mu.Unlock()
}

func (t *slotTable) end(i int) {
	t.mu.Lock()
	t.slots[i].busy = false
	t.mu.Unlock()
}

func (t *slotTable) snapshot() []slotState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]slotState(nil), t.slots...)
}

// coverCache holds maxCover for the last tokenizer it was computed for.
type coverCache struct {
	mu  sync.Mutex
	tok *tokenizer.Tokenizer
	n   int
}

// maxCover returns the most bytes of text one token of m's vocabulary can
// stand for: the length of its longest piece (a piece's text, or the
// single byte of a byte token, is never longer than the piece itself).
// Dividing a text's length by it bounds the text's tokens from below.
func (s *Server) maxCover(m *generate.Model) int {
	c := &s.cover
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != m.Tokenizer {
		c.tok, c.n = m.Tokenizer, 1
		for _, p := range m.Tokenizer.Vocab().Tokens {
			c.n = max(c.n, len(p))
		}
	}
	return c.n
}

// work holds a slot for a short task of a request that needs the model
// (tokenizing), answering 503 or 429 and returning false when it cannot
// run; call the returned release when done.
func (s *Server) work(w *recorder, r *http.Request) (m *generate.Model, release func(), ok bool) {
	m = s.model.Load()
	if m == nil {
		writeError(w, errLoading())
		return nil, nil, false
	}
	a, ok := s.admit(w, r)
	if !ok {
		return nil, nil, false
	}
	return m, a.done, true
}

// admission is a request that admit let in: it counts as in flight and
// holds a slot.
type admission struct {
	s      *Server
	ctx    context.Context // the request's, also cancelled when Shutdown gives up
	slot   int
	queued time.Duration // time waited for the slot
	cancel context.CancelFunc
	stop   func() bool
	freed  bool
}

// admit enters the server (503 while draining) and waits for a slot (429
// when the queue is full); on failure it has answered w. The caller must
// call done when the request ends.
func (s *Server) admit(w *recorder, r *http.Request) (*admission, bool) {
	if !s.enter() {
		writeError(w, errShuttingDown())
		return nil, false
	}
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.base, cancel)
	queued := time.Now()
	slot, err := s.sched.acquire(ctx)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) {
			writeError(w, e)
		} else if s.base.Err() != nil {
			writeError(w, errShuttingDown())
		} // else the client left while queued
		stop()
		cancel()
		s.inflight.Done()
		return nil, false
	}
	s.slots.begin(slot, w.id)
	return &admission{s: s, ctx: ctx, slot: slot, queued: time.Since(queued), cancel: cancel, stop: stop}, true
}

// release frees the slot (once): the next request may start.
func (a *admission) release() {
	if !a.freed {
		a.freed = true
		a.s.slots.end(a.slot)
		a.s.sched.release(a.slot)
	}
}

// done ends the request: the slot, the context and the in-flight count.
func (a *admission) done() {
	a.release()
	a.stop()
	a.cancel()
	a.s.inflight.Done()
}

// tokenize answers POST /tokenize as llama-server does: {"content": text,
// "add_special": false, "parse_special": true, "with_pieces": false} gives
// {"tokens": [ids]}, or with_pieces [{"id", "piece"}] where a piece that
// is not valid UTF-8 is an array of its bytes. The text is tokenized
// holding a slot, as a prompt is.
func (s *Server) tokenize(w *recorder, r *http.Request) {
	if !postJSON(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var b struct {
		Content      *string `json:"content"`
		AddSpecial   bool    `json:"add_special"`
		ParseSpecial *bool   `json:"parse_special"`
		WithPieces   bool    `json:"with_pieces"`
	}
	if e := decode(body, &b); e != nil {
		writeError(w, e)
		return
	}
	if e := knownFields(body, "", []string{"content", "add_special", "parse_special", "with_pieces"}); e != nil {
		writeError(w, e)
		return
	}
	if b.Content == nil {
		writeError(w, badRequest("content", "content (a string) is required"))
		return
	}
	m, release, ok := s.work(w, r)
	if !ok {
		return
	}
	parse := b.ParseSpecial == nil || *b.ParseSpecial
	ids := m.Tokenizer.Encode(*b.Content, b.AddSpecial, parse)
	release()
	if !b.WithPieces {
		writeJSON(w, map[string]any{"tokens": nonNil(ids)})
		return
	}
	type piece struct {
		ID    int32 `json:"id"`
		Piece any   `json:"piece"`
	}
	out := make([]piece, len(ids))
	for i, id := range ids {
		p, _ := m.Tokenizer.Decode([]int32{id}, true)
		out[i] = piece{ID: id, Piece: p}
		if !utf8.ValidString(p) {
			out[i].Piece = byteList(p)
		}
	}
	writeJSON(w, map[string]any{"tokens": out})
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

// detokenize answers POST /detokenize: {"tokens": [ids]} gives
// {"content": text}, control tokens written out, as llama-server does.
func (s *Server) detokenize(w *recorder, r *http.Request) {
	if !postJSON(w, r) {
		return
	}
	m := s.model.Load()
	if m == nil {
		writeError(w, errLoading())
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var b struct {
		Tokens []int32 `json:"tokens"`
	}
	if e := decode(body, &b); e != nil {
		writeError(w, e)
		return
	}
	if e := knownFields(body, "", []string{"tokens"}); e != nil {
		writeError(w, e)
		return
	}
	text, err := m.Tokenizer.Decode(b.Tokens, true)
	if err != nil {
		writeError(w, badRequest("tokens", "%v", err))
		return
	}
	writeJSON(w, map[string]any{"content": text})
}

// props answers GET /props, llama-server's shape: the defaults a request
// gets, the slots, the model file and its chat template.
func (s *Server) props(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod(r.Method, "GET"))
		return
	}
	m := s.model.Load()
	if m == nil {
		writeError(w, errLoading())
		return
	}
	maxTokens := -1
	if s.opt.MaxTokens > 0 {
		maxTokens = s.opt.MaxTokens
	}
	v := m.Tokenizer.Vocab()
	piece := func(id int32) string {
		p, _ := m.Tokenizer.Piece(id)
		return p
	}
	tmplErr := ""
	if err := m.TemplateError(); err != nil {
		tmplErr = err.Error()
	}
	// The defaults a request gets: the model's files', then OpenAI's.
	def := m.DefaultSampling(openAIDefault)
	topP, repeat := def.TopP, def.RepetitionPenalty
	if topP == 0 {
		topP = 1 // generate.Sampling's 0 is off
	}
	if repeat == 0 {
		repeat = 1
	}
	writeJSON(w, map[string]any{
		"default_generation_settings": map[string]any{
			"n_ctx": s.ctxSize(m),
			"params": map[string]any{
				"temperature": def.Temperature, "top_k": def.TopK, "top_p": topP, "min_p": def.MinP, "repeat_penalty": repeat, "repeat_last_n": 64,
				"presence_penalty": 0.0, "frequency_penalty": 0.0, "seed": -1, "max_tokens": maxTokens, "n_predict": maxTokens,
				"parse_special": !s.opt.NoParseSpecial,
			},
		},
		"total_slots":          s.opt.Parallel,
		"model_alias":          s.opt.ModelName,
		"model_path":           s.opt.ModelPath,
		"chat_template":        m.ChatTemplate,
		"chat_template_error":  tmplErr,
		"bos_token":            piece(v.BOS),
		"eos_token":            piece(v.EOS),
		"vocab_size":           m.Model.Config.Vocab,
		"n_ctx_train":          m.Model.Config.Context,
		"endpoint_slots":       true,
		"endpoint_props":       true,
		"endpoint_metrics":     true,
		"endpoint_embeddings":  true,
		"max_queue":            s.opt.MaxQueue,
		"cors_allowed_origins": nonNilStrings(s.opt.CORSOrigins),
	})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// slotsInfo answers GET /slots: each slot's id, state and context, and
// the request it holds (or held last).
func (s *Server) slotsInfo(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod(r.Method, "GET"))
		return
	}
	m := s.model.Load()
	if m == nil {
		writeError(w, errLoading())
		return
	}
	type slotJSON struct {
		ID           int    `json:"id"`
		State        string `json:"state"`
		IsProcessing bool   `json:"is_processing"`
		NCtx         int    `json:"n_ctx"`
		Task         string `json:"id_task,omitempty"`
		PromptTokens int    `json:"n_prompt_tokens"`
		// CachedTokens are the prompt tokens of the request reused from
		// a cache (the prompt cache).
		CachedTokens int `json:"n_prompt_tokens_cache"`
		// CacheTokens are the tokens held in the i-th KV cache of the
		// continuous batch, reusable by the next request sharing their
		// prefix (-1 while a request changes them). A request may run in
		// any free cache: the i-th cache is not the i-th slot's.
		CacheTokens int `json:"n_cache_tokens"`
	}
	var held []int
	if b := s.batcher.Load(); b != nil {
		held = b.Stats().SlotTokens
	}
	out := []slotJSON{}
	for i, st := range s.slots.snapshot() {
		c := 0
		if i < len(held) {
			c = held[i]
		}
		state := "idle"
		if st.busy {
			state = "processing"
		}
		out = append(out, slotJSON{ID: i, State: state, IsProcessing: st.busy, NCtx: s.ctxSize(m), Task: st.task, PromptTokens: st.prompt,
			CachedTokens: st.cached, CacheTokens: c})
	}
	writeJSON(w, out)
}
