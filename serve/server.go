package serve

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// Options configures a Server. The zero value serves one request at a time
// with no queue, no API key and the model's full context.
type Options struct {
	// ModelName is the model id listed by /v1/models and echoed in
	// responses; requests naming another model get 404 (an empty "model"
	// field is accepted). Default "zerfoo".
	ModelName string
	// Parallel is the number of slots: requests generating at once, each
	// with its own KV cache, sharing the weights (0: 1).
	Parallel int
	// MaxQueue is the number of requests that may wait for a slot; beyond
	// it requests get 429 at once (0: none wait).
	MaxQueue int
	// CtxSize is the KV cache positions of all slots together, as
	// llama-server's --ctx-size: each slot, and so each request (prompt
	// plus generation), gets CtxSize/Parallel of them, at most the
	// model's context; longer prompts get 413 (0: the model's context,
	// shared by the slots).
	CtxSize int
	// CacheType is the slots' KV cache element type (the zero value: F16,
	// as llama.cpp's default; F32 or Q8_0).
	CacheType gemma3.CacheType
	// APIKey, if not empty, is required on /v1/ as "Authorization: Bearer
	// KEY" (401 otherwise). /health and /metrics stay open.
	APIKey string
	// Threads bounds the parallel chunks of each batched step's kernels; a
	// step runs every active request at once (0: the whole worker pool).
	Threads int
	// MaxBodyBytes bounds a request body; larger ones get 413 (0: 4 MiB).
	MaxBodyBytes int64
	// MaxTokens caps the tokens a request generates, whatever its
	// max_tokens asks (0: no cap but the context; llama-server's
	// --n-predict).
	MaxTokens int
	// NoParseSpecial makes a /v1/completions text prompt's control-token
	// text, such as "<start_of_turn>", plain text by default; a request's
	// parse_special still decides for itself. Chat message contents are
	// always text.
	NoParseSpecial bool
	// CORSOrigins lists the origins browsers may call the API from ("*":
	// any); empty: no CORS headers, so browsers refuse cross-origin calls.
	CORSOrigins []string
	// Pooling is how /v1/embeddings reduces an input's final hidden
	// states to one vector (the zero value: mean, as llama-server's
	// --pooling mean).
	Pooling generate.Pooling
	// ModelPath is the model file reported by /props.
	ModelPath string
	// IdleRelease is how long the server waits, once its last request has
	// ended, before it collects its garbage and returns the freed memory
	// to the OS (debug.FreeOSMemory), so that the process shrinks back
	// to the weights and caches between bursts (0: 1 s; negative: never).
	// The weights make most of the Go heap, which lets a busy server grow
	// by about their size again before the collector runs (GOGC=100);
	// GOMEMLIMIT bounds that growth.
	IdleRelease time.Duration
	// NoWarmup skips the warm-up generation that SetModel runs before the
	// server answers (llama-server's --no-warmup).
	NoWarmup bool
	// Logger receives one structured line per request (nil: slog.Default()).
	Logger *slog.Logger
}

// Server is an http.Handler speaking the OpenAI API for one Gemma 3 model.
// It answers 503 until SetModel is called. It is safe for concurrent use.
type Server struct {
	opt   Options
	log   *slog.Logger
	model atomic.Pointer[generate.Model]
	// batcher runs every generation of the model in one continuous batch
	// (nil if it could not be allocated: each request then runs alone).
	batcher atomic.Pointer[generate.Batcher]
	sched   *scheduler
	met     *metrics
	created int64

	// base is cancelled when Shutdown gives up waiting: every generation
	// stops.
	base   context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	draining bool
	inflight sync.WaitGroup

	slots slotTable
	cover coverCache

	// hook, if set (tests only), runs once with piece "" when a request
	// gets its slot, then before each generated piece is sent.
	hook func(ctx context.Context, piece string) error
	// idleReleases counts releaseMemory's runs (for tests).
	idleReleases atomic.Int64
}

// New returns a Server without a model: it answers 503 until SetModel.
func New(opt Options) *Server {
	if opt.ModelName == "" {
		opt.ModelName = "zerfoo"
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 1
	}
	opt.MaxQueue = max(opt.MaxQueue, 0)
	if opt.MaxBodyBytes <= 0 {
		opt.MaxBodyBytes = 4 << 20
	}
	opt.MaxTokens = max(opt.MaxTokens, 0)
	if opt.IdleRelease == 0 {
		opt.IdleRelease = time.Second
	}
	s := &Server{opt: opt, log: opt.Logger, sched: newScheduler(opt.Parallel, opt.MaxQueue), met: newMetrics(), created: time.Now().Unix()}
	s.slots.init(opt.Parallel)
	if s.log == nil {
		s.log = slog.Default()
	}
	if opt.IdleRelease > 0 {
		s.sched.idleDelay, s.sched.onIdle = opt.IdleRelease, s.releaseMemory
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// releaseMemory collects the garbage of the requests that ended and
// returns the freed memory to the OS (the scheduler calls it once the
// server has been idle for Options.IdleRelease).
func (s *Server) releaseMemory() {
	t0 := time.Now()
	debug.FreeOSMemory()
	s.idleReleases.Add(1)
	s.log.Debug("idle: memory returned to the OS", "duration", time.Since(t0))
}

// SetModel makes the server answer with m. The caller keeps ownership of m:
// close it only after Shutdown has returned.
func (s *Server) SetModel(m *generate.Model) {
	b, err := m.NewBatcher(generate.BatcherOptions{Slots: s.opt.Parallel, Context: s.ctxTotal(m), CacheType: s.opt.CacheType,
		Threads: s.opt.Threads, OnStep: s.met.step})
	if err != nil {
		s.log.Warn("no continuous batching: each request runs alone", "err", err)
	} else if old := s.batcher.Swap(b); old != nil {
		old.Close()
	}
	if !s.opt.NoWarmup {
		s.warmup(m)
	}
	s.model.Store(m)
	s.log.Info("model ready", "model", s.opt.ModelName, "context", s.ctxSize(m), "parallel", s.opt.Parallel, "max_queue", s.opt.MaxQueue)
	if err := m.TemplateError(); err != nil {
		s.log.Warn("chat completions will fail (501); raw completions work", "err", err)
	}
}

// warmupPrompt is the text of the warm-up generation: with BOS, about 20
// tokens, so that the prompt runs through the prefill kernels.
const warmupPrompt = "The quick brown fox jumps over the lazy dog, and the dog sleeps on in the afternoon sun."

// warmup runs one short generation (the prompt, then two tokens) the way a
// request would, before the server answers, as llama-server does at start:
// the first request then pays less for first use (the worker pool's
// threads, the step and sampling buffers, the kernels' timed choices in
// internal/tune): on a gemma-3-270m-shaped Q4_0 at two threads, the first
// request's 18-token prefill took 15–22 ms after it and 21–25 ms without
// (later ones 10–12 ms). The slots' caches are emptied after it, as
// llama-server's are: a request's first prompt cache hit (which changes
// the float rounding of its prefill) never comes from the warm-up.
// A failure is logged, not fatal: requests report their own errors.
func (s *Server) warmup(m *generate.Model) {
	t0 := time.Now()
	ids := m.Tokenizer.Encode(warmupPrompt, true, false)
	n := min(len(ids), s.ctxSize(m)-1) // a prompt must leave a position free
	if n < 1 {
		return
	}
	ids = ids[:n]
	_, err := s.run(s.base, m, ids, generate.Options{MaxTokens: 2})
	if b := s.batcher.Load(); b != nil {
		b.Forget()
	}
	if err != nil {
		s.log.Warn("warm-up generation failed", "err", err)
		return
	}
	s.log.Info("warmed up", "duration", time.Since(t0).Round(time.Millisecond))
}

// ctxTotal is the KV cache positions of all slots together.
func (s *Server) ctxTotal(m *generate.Model) int {
	if s.opt.CtxSize > 0 {
		return s.opt.CtxSize
	}
	return m.Model.Config.Context
}

// ctxSize is the token budget of one request: a slot's share of the
// context.
func (s *Server) ctxSize(m *generate.Model) int {
	if b := s.batcher.Load(); b != nil {
		return b.SlotLen()
	}
	return max(min(m.Model.Config.Context, s.ctxTotal(m)/s.opt.Parallel), 2)
}

// run generates after ids: in the continuous batch, or alone when there
// is none.
func (s *Server) run(ctx context.Context, m *generate.Model, ids []int32, opt generate.Options) (generate.Result, error) {
	if b := s.batcher.Load(); b != nil {
		return b.Run(ctx, ids, opt)
	}
	return m.RunTokens(ctx, ids, opt)
}

// Shutdown stops accepting completion requests (503), waits for the ones in
// flight to finish, and when ctx ends first, cancels them and waits for
// them to stop (they stop within one kernel call). It returns ctx.Err() if
// it had to cancel. Call it before http.Server.Shutdown so that streams end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	defer func() {
		if b := s.batcher.Swap(nil); b != nil {
			b.Close()
		}
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.log.Warn("shutdown deadline: cancelling requests in flight")
		s.cancel()
		<-done
		return ctx.Err()
	}
}

// enter registers a generation unless the server is draining.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// recorder captures the status and the per-request facts logged at the end.
type recorder struct {
	http.ResponseWriter
	status  int
	id      string
	attrs   []slog.Attr
	started time.Time
	sse     bool // an event stream has started
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) add(attrs ...slog.Attr) { r.attrs = append(r.attrs, attrs...) }

// requestID returns the client's X-Request-Id if it is short and plain, a
// new random one otherwise.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && strings.IndexFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) < 0 {
		return id
	}
	return strconv.FormatUint(rand.Uint64(), 36)
}

// ServeHTTP routes the endpoints listed in the package doc; anything else
// is a JSON 404. A panic while answering becomes a 500 for that request
// (an error event if a stream had started); the server keeps running.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, id: requestID(r), started: time.Now()}
	w.Header().Set("X-Request-Id", rec.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.recovered(rec, v)
		}
		if rec.status == 0 {
			rec.status = 499 // client went away before an answer
		}
		d := time.Since(rec.started)
		s.met.request(r.URL.Path, rec.status, d)
		attrs := append([]slog.Attr{
			slog.String("id", rec.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", d), slog.String("remote", r.RemoteAddr),
		}, rec.attrs...)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
	}()
	path := r.URL.Path
	if s.cors(rec, r) {
		return // a preflight request, answered
	}
	if path != "/health" && path != "/metrics" && s.opt.APIKey != "" && !s.authorized(r) {
		writeError(rec, errUnauthorized())
		return
	}
	switch {
	case path == "/v1/chat/completions":
		s.completion(rec, r, true)
	case path == "/v1/completions":
		s.completion(rec, r, false)
	case path == "/v1/models" || strings.HasPrefix(path, "/v1/models/"):
		s.models(rec, r)
	case path == "/v1/embeddings":
		s.embeddings(rec, r)
	case path == "/tokenize":
		s.tokenize(rec, r)
	case path == "/detokenize":
		s.detokenize(rec, r)
	case path == "/props":
		s.props(rec, r)
	case path == "/slots":
		s.slotsInfo(rec, r)
	case path == "/health":
		s.health(rec, r)
	case path == "/metrics":
		s.metrics(rec, r)
	default:
		writeError(rec, errNotFound(path))
	}
}

// recovered answers a request whose handler panicked with v.
func (s *Server) recovered(w *recorder, v any) {
	s.log.Error("panic while answering", "id", w.id, "panic", v, "stack", string(debug.Stack()))
	e := errInternal(fmt.Errorf("serve: internal error (panic: %v)", v))
	switch {
	case w.status == 0:
		writeError(w, e)
	case w.sse:
		g := generation{w: w, req: &request{stream: true}}
		g.fail(e)
	}
	w.status = http.StatusInternalServerError // for the log and metrics
}

func (s *Server) authorized(r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.opt.APIKey)) == 1
}

func (s *Server) models(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod(r.Method, "GET"))
		return
	}
	m := modelObject{ID: s.opt.ModelName, Object: "model", Created: s.created, OwnedBy: "zerfoo"}
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); ok {
		if id != m.ID {
			writeError(w, errModelNotFound(id))
			return
		}
		writeJSON(w, m)
		return
	}
	writeJSON(w, struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{"list", []modelObject{m}})
}

func (s *Server) health(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, errMethod(r.Method, "GET"))
		return
	}
	switch {
	case s.model.Load() == nil:
		writeError(w, errLoading())
	case s.isDraining():
		writeError(w, errShuttingDown())
	default:
		q, busy := s.sched.depth()
		writeJSON(w, map[string]any{"status": "ok", "slots": s.opt.Parallel, "slots_busy": busy, "queued": q})
	}
}

func (s *Server) metrics(w *recorder, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, errMethod(r.Method, "GET"))
		return
	}
	q, busy := s.sched.depth()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	g := gauges{queued: q, busy: busy, slots: s.opt.Parallel, ready: s.model.Load() != nil}
	if b := s.batcher.Load(); b != nil {
		st := b.Stats()
		g.prefilled, g.cached, g.kvBytes = st.Prefilled, st.Cached, st.KVBytes
	}
	s.met.write(w, g, time.Now())
}
