package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/serve"
)

type serveCmd struct {
	Model           string `required:"" help:"GGUF model file (Gemma 3)."`
	Addr            string `default:"127.0.0.1:8080" help:"Address to listen on (host:port; port 0 picks a free one)."`
	Parallel        int    `default:"2" help:"Requests generating at once, each with its own KV cache."`
	MaxQueue        int    `default:"16" help:"Requests that may wait for a slot; more get 429."`
	CtxSize         int    `default:"4096" help:"KV cache positions of all slots together, as llama-server's: each request (prompt plus generation) gets --ctx-size/--parallel (0: the model's context, shared)."`
	CacheType       string `default:"f16" enum:"f32,f16,q8_0" help:"KV cache element type: f32, f16 (llama.cpp's default) or q8_0."`
	APIKey          string `env:"ZERFOO_API_KEY" help:"Require \"Authorization: Bearer KEY\" on every path but /health and /metrics."`
	Name            string `help:"Model id served by /v1/models (default: the file name without .gguf)."`
	Threads         int    `default:"0" help:"Kernel parallelism of each batched step, which runs every active request at once (0: all cores)."`
	weightFlags     `embed:""`
	MaxTokens       int           `default:"-1" help:"Most tokens a request generates, whatever its max_tokens asks (-1: no cap but the context; llama-server's --n-predict)."`
	ParseSpecial    bool          `default:"true" negatable:"" help:"Parse control-token text such as <start_of_turn> in /v1/completions prompts into control tokens (a request's parse_special overrides; chat message contents are always text)."`
	Pooling         string        `default:"mean" enum:"mean,last,cls" help:"How /v1/embeddings pools an input's final hidden states: mean, last (token) or cls (first token), as llama-server's --pooling."`
	CORSOrigin      []string      `name:"cors-origin" sep:"none" help:"Allow browsers on this origin (scheme://host[:port], or * for any) to call the API; repeat for several. Default: none."`
	ShutdownTimeout time.Duration `default:"10s" help:"On SIGTERM/SIGINT, time left to requests in flight before they are cancelled."`
	LogFormat       string        `default:"text" enum:"text,json" help:"Log format on stderr: text or json."`
	Pprof           bool          `help:"Serve /debug/pprof/ (profiles and goroutine dumps)."`
	Warmup          bool          `default:"true" negatable:"" help:"Run one short generation after loading, before answering (/health says 503 until then), so that the first request does not pay for first use; llama-server's --no-warmup turns it off likewise."`
}

// Validate checks the flags before anything is loaded or listened on.
func (c *serveCmd) Validate() error {
	var ck checks
	ck.atLeast("--parallel", c.Parallel, 1, "")
	ck.atLeast("--max-queue", c.MaxQueue, 0, "")
	ck.atLeast("--ctx-size", c.CtxSize, 0, " (0: the model's context)")
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.check(c.MaxTokens == -1 || c.MaxTokens >= 1, "--max-tokens", c.MaxTokens, "must be -1 (no cap) or ≥ 1")
	for _, o := range c.CORSOrigin {
		ck.check(o == "*" || strings.HasPrefix(o, "http://") || strings.HasPrefix(o, "https://"), "--cors-origin", o, "must be * or an origin such as https://app.example.com")
	}
	ck.check(c.ShutdownTimeout >= 0, "--shutdown-timeout", c.ShutdownTimeout, "must be ≥ 0")
	ck.model("--model", c.Model)
	return ck.err
}

// Run logs to stderr and exits 0 after a graceful shutdown on SIGINT or
// SIGTERM.
func (c *serveCmd) Run(ctx context.Context, st *streams) error {
	var h slog.Handler = slog.NewTextHandler(st.err, nil)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(st.err, nil)
	}
	log := slog.New(h)
	name := c.Name
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(c.Model), filepath.Ext(c.Model))
	}
	ct, err := gemma3.ParseCacheType(c.CacheType)
	if err != nil {
		return fmt.Errorf("serve: --cache-type: %w", err)
	}
	pool, err := generate.ParsePooling(c.Pooling)
	if err != nil {
		return fmt.Errorf("serve: --pooling: %w", err)
	}
	s := serve.New(serve.Options{ModelName: name, Parallel: c.Parallel, MaxQueue: c.MaxQueue, CtxSize: c.CtxSize, CacheType: ct,
		APIKey: c.APIKey, Threads: c.Threads, Logger: log, MaxTokens: max(c.MaxTokens, 0), NoParseSpecial: !c.ParseSpecial,
		CORSOrigins: c.CORSOrigin, ModelPath: c.Model, Pooling: pool, NoWarmup: !c.Warmup})
	mux := http.NewServeMux()
	mux.Handle("/", s)
	if c.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(h, slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", "http://"+ln.Addr().String(), "model", name)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Load after listening, so that /health answers 503 meanwhile.
	loaded := make(chan error, 1)
	var m *generate.Model
	go func() {
		t0 := time.Now()
		var err error
		opts := append(c.options(), generate.WithThreads(c.Threads), generate.WithNotice(func(msg string) { log.Info(msg) }))
		m, err = generate.Load(ctx, c.Model, opts...)
		if err == nil {
			log.Info("loaded", "file", c.Model, "duration", time.Since(t0).Round(time.Millisecond))
			s.SetModel(m)
		}
		loaded <- err
	}()

	var runErr error
	for waiting := true; waiting; {
		select {
		case err := <-loaded:
			if err != nil && ctx.Err() == nil { // else the load was cut short by the shutdown
				runErr = err
			}
			if err != nil {
				waiting = false
			}
			loaded = nil
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			waiting = false
		}
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		log.Warn("requests cancelled at the shutdown deadline")
	}
	// Generations are over; give handlers a moment to write their last bytes.
	hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer hcancel()
	if err := srv.Shutdown(hctx); err != nil {
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		log.Warn("server", "err", err)
	}
	if loaded == nil && m != nil {
		m.Close()
	}
	log.Info("stopped")
	return runErr
}
