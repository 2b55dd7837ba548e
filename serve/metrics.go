package serve

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics holds the counters of /metrics, written in the Prometheus text
// exposition format (version 0.0.4) by hand to keep the package free of
// dependencies.
type metrics struct {
	mu        sync.Mutex
	requests  map[requestKey]uint64
	prompt    uint64  // prompt tokens processed
	generated uint64  // tokens generated
	decode    float64 // seconds spent generating (prefill excluded), summed over requests
	prefill   float64 // seconds spent on prompts
	ttft      histogram
	duration  histogram
	batch     histogram // sequences per batch step
	rate      rateWindow
}

type requestKey struct {
	path string
	code int
}

func newMetrics() *metrics {
	return &metrics{
		requests: make(map[requestKey]uint64),
		ttft:     newHistogram(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
		duration: newHistogram(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
		batch:    newHistogram(1, 2, 4, 8, 16, 32, 64),
	}
}

// knownPaths are the path label values; anything else is "other", so that
// scanners cannot grow the label set.
var knownPaths = []string{"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings", "/tokenize", "/detokenize", "/props", "/slots", "/health", "/metrics"}

func (m *metrics) request(path string, code int, d time.Duration) {
	if !slices.Contains(knownPaths, path) {
		if strings.HasPrefix(path, "/v1/models/") {
			path = "/v1/models"
		} else {
			path = "other"
		}
	}
	m.mu.Lock()
	m.requests[requestKey{path, code}]++
	if path == "/v1/chat/completions" || path == "/v1/completions" {
		m.duration.observe(d.Seconds())
	}
	m.mu.Unlock()
}

func (m *metrics) firstToken(d time.Duration) {
	m.mu.Lock()
	m.ttft.observe(d.Seconds())
	m.mu.Unlock()
}

func (m *metrics) generation(prompt, generated int, prefill, decode time.Duration) {
	m.mu.Lock()
	m.prompt += uint64(prompt)
	m.generated += uint64(generated)
	m.prefill += prefill.Seconds()
	m.decode += decode.Seconds()
	m.mu.Unlock()
}

// step records a batch step of seqs sequences (the Batcher's OnStep).
func (m *metrics) step(seqs, _ int) {
	m.mu.Lock()
	m.batch.observe(float64(seqs))
	m.mu.Unlock()
}

// tokens counts n generated tokens for the tokens/s gauge.
func (m *metrics) tokens(now time.Time, n int) {
	m.mu.Lock()
	m.rate.add(now, uint64(n))
	m.mu.Unlock()
}

// gauges are read from the scheduler when /metrics is scraped.
type gauges struct {
	queued, busy, slots int
	ready               bool
	// prefilled and cached count the prompt tokens run through the model
	// and those taken from the slots' caches; kvBytes is the slots' KV
	// caches.
	prefilled, cached, kvBytes int64
}

func (m *metrics) write(w io.Writer, g gauges, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# HELP zerfoo_requests_total HTTP requests answered, by path and status code.\n# TYPE zerfoo_requests_total counter\n")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if a.path != b.path {
			if a.path < b.path {
				return -1
			}
			return 1
		}
		return a.code - b.code
	})
	for _, k := range keys {
		p("zerfoo_requests_total{path=%q,code=\"%d\"} %d\n", k.path, k.code, m.requests[k])
	}
	p("# HELP zerfoo_queue_depth Requests waiting for a slot.\n# TYPE zerfoo_queue_depth gauge\nzerfoo_queue_depth %d\n", g.queued)
	p("# HELP zerfoo_slots_busy Slots generating now.\n# TYPE zerfoo_slots_busy gauge\nzerfoo_slots_busy %d\n", g.busy)
	p("# HELP zerfoo_slots Slots (requests decoded at once).\n# TYPE zerfoo_slots gauge\nzerfoo_slots %d\n", g.slots)
	ready := 0
	if g.ready {
		ready = 1
	}
	p("# HELP zerfoo_model_ready 1 once the model is loaded.\n# TYPE zerfoo_model_ready gauge\nzerfoo_model_ready %d\n", ready)
	p("# HELP zerfoo_prompt_tokens_total Prompt tokens processed.\n# TYPE zerfoo_prompt_tokens_total counter\nzerfoo_prompt_tokens_total %d\n", m.prompt)
	p("# HELP zerfoo_generated_tokens_total Tokens generated.\n# TYPE zerfoo_generated_tokens_total counter\nzerfoo_generated_tokens_total %d\n", m.generated)
	p("# HELP zerfoo_prefill_seconds_total Time spent on prompts, summed over requests.\n# TYPE zerfoo_prefill_seconds_total counter\nzerfoo_prefill_seconds_total %s\n", fmtFloat(m.prefill))
	p("# HELP zerfoo_decode_seconds_total Time spent generating, summed over requests.\n# TYPE zerfoo_decode_seconds_total counter\nzerfoo_decode_seconds_total %s\n", fmtFloat(m.decode))
	p("# HELP zerfoo_tokens_per_second Tokens generated per second over the last %d seconds, all slots together.\n# TYPE zerfoo_tokens_per_second gauge\nzerfoo_tokens_per_second %s\n", rateSeconds, fmtFloat(m.rate.perSecond(now)))
	p("# HELP zerfoo_prompt_tokens_prefilled_total Prompt tokens run through the model.\n# TYPE zerfoo_prompt_tokens_prefilled_total counter\nzerfoo_prompt_tokens_prefilled_total %d\n", g.prefilled)
	p("# HELP zerfoo_prompt_tokens_cached_total Prompt tokens taken from a slot's cache (prompt cache).\n# TYPE zerfoo_prompt_tokens_cached_total counter\nzerfoo_prompt_tokens_cached_total %d\n", g.cached)
	p("# HELP zerfoo_kv_cache_bytes Memory of the slots' KV caches.\n# TYPE zerfoo_kv_cache_bytes gauge\nzerfoo_kv_cache_bytes %d\n", g.kvBytes)
	m.batch.write(w, "zerfoo_batch_sequences", "Sequences advanced by each batch step (continuous batching).")
	m.ttft.write(w, "zerfoo_time_to_first_token_seconds", "Time from the request's arrival to its first generated token (queueing and prompt included).")
	m.duration.write(w, "zerfoo_request_duration_seconds", "Duration of completion requests.")
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

func newHistogram(bounds ...float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func (h *histogram) write(w io.Writer, name, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	var c uint64
	for i, b := range h.bounds {
		c += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, fmtFloat(b), c)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, h.n, name, fmtFloat(h.sum), name, h.n)
}

// rateSeconds is the window of the tokens/s gauge.
const rateSeconds = 10

// rateWindow counts events in one-second buckets over the last
// rateSeconds seconds.
type rateWindow struct {
	sec    [rateSeconds]int64 // the unix second each bucket holds
	counts [rateSeconds]uint64
}

func (r *rateWindow) add(now time.Time, n uint64) {
	s := now.Unix()
	i := s % rateSeconds
	if r.sec[i] != s {
		r.sec[i], r.counts[i] = s, 0
	}
	r.counts[i] += n
}

// perSecond averages over the last rateSeconds full seconds.
func (r *rateWindow) perSecond(now time.Time) float64 {
	s := now.Unix()
	var total uint64
	for i := range r.sec {
		if d := s - r.sec[i]; d >= 1 && d <= rateSeconds {
			total += r.counts[i]
		}
	}
	return float64(total) / rateSeconds
}
