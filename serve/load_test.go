package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

var (
	loadFor      = flag.Duration("load", 0, "run TestLoad for this long (0: skip)")
	loadModel    = flag.String("load.model", "", "GGUF file for TestLoad (default: a random-weight Q4_0 model with Gemma 3 270m's shapes and the tiny vocabulary)")
	loadParallel = flag.Int("load.parallel", 2, "TestLoad: slots")
	loadQueue    = flag.Int("load.queue", -1, "TestLoad: max queue (-1: 3×parallel, so nobody gets 429)")
	loadTokens   = flag.Int("load.tokens", 64, "TestLoad: max_tokens per request")
	loadClients  = flag.Int("load.clients", 0, "TestLoad: concurrent streams (0: 4×parallel)")
	loadTemp     = flag.Float64("load.temperature", 0, "TestLoad: sampling temperature (random weights at T > 0 emit byte tokens that hold back text)")
	loadThreads  = flag.Int("load.threads", 0, "TestLoad: kernel threads per request (0: the whole pool)")
)

// TestLoad drives the server on loopback with 4×parallel concurrent
// streaming clients for -load and reports time to first token, latency and
// aggregate tokens/s, and goroutines and heap before and after:
//
//	go test ./serve -run TestLoad -load 2m -v
func TestLoad(t *testing.T) {
	if *loadFor <= 0 {
		t.Skip("load test: run with -load DURATION")
	}
	path := *loadModel
	if path == "" {
		c, err := gemma3.Preset("270m")
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(t.TempDir(), "random-270m-Q4_0.gguf")
		t0 := time.Now()
		if err := gemma3test.Write(path, gemma3test.Options{Config: c, Type: quant.Q4_0, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s in %v", path, time.Since(t0))
	}
	m, err := generate.Load(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	par := *loadParallel
	queue := *loadQueue
	if queue < 0 {
		queue = 3 * par
	}
	s := New(Options{ModelName: "load", Parallel: par, MaxQueue: queue, CtxSize: 1024, Threads: *loadThreads, Logger: quiet()})
	s.SetModel(m)
	ts := httptest.NewServer(s)
	defer ts.Close()

	// Warm up, then take the baseline.
	oneRequest(context.Background(), ts.URL, 0, *loadTokens)
	ts.Client().CloseIdleConnections()
	g0, h0 := settle()

	clients := 4 * par
	if *loadClients > 0 {
		clients = *loadClients
	}
	type result struct {
		status         int
		ttft, duration time.Duration
		tokens         int
		err            error
	}
	var mu sync.Mutex
	var results []result
	ctx, cancel := context.WithTimeout(context.Background(), *loadFor)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				start := time.Now()
				status, ttft, tokens, err := oneRequest(ctx, ts.URL, c*100000+i, *loadTokens)
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				mu.Lock()
				results = append(results, result{status, ttft, time.Since(start), tokens, err})
				mu.Unlock()
				if status == http.StatusTooManyRequests {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	http.DefaultClient.CloseIdleConnections()
	ts.Client().CloseIdleConnections()
	g1, h1 := settle()

	var ok, limited, failed, tokens int
	var ttfts, lats []time.Duration
	for _, r := range results {
		switch {
		case r.err == nil && r.status == 200:
			ok++
			tokens += r.tokens
			ttfts = append(ttfts, r.ttft)
			lats = append(lats, r.duration)
		case r.status == http.StatusTooManyRequests:
			limited++
		default:
			failed++
			t.Errorf("failed request: status %d: %v", r.status, r.err)
		}
	}
	slices.Sort(ttfts)
	slices.Sort(lats)
	q := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Millisecond)
	}
	t.Logf("model %s, %d slots, queue %d, threads/slot %d, %d concurrent streams, max_tokens %d, %v",
		filepath.Base(path), par, queue, *loadThreads, clients, *loadTokens, elapsed.Round(time.Second))
	t.Logf("requests: %d ok, %d × 429, %d failed", ok, limited, failed)
	t.Logf("time to first token: p50 %v, p99 %v; request latency: p50 %v, p99 %v", q(ttfts, 0.5), q(ttfts, 0.99), q(lats, 0.5), q(lats, 0.99))
	t.Logf("aggregate: %.1f generated tokens/s, %.2f requests/s", float64(tokens)/elapsed.Seconds(), float64(ok)/elapsed.Seconds())
	t.Logf("goroutines %d → %d; heap in use %.1f → %.1f MiB", g0, g1, float64(h0)/(1<<20), float64(h1)/(1<<20))
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if h1 > h0+16<<20 {
		t.Errorf("heap grew from %d to %d bytes", h0, h1)
	}
	if ok == 0 {
		t.Error("no request succeeded")
	}
}

// settle lets finished connections close and returns the goroutine count
// and the heap in use after a GC.
func settle() (int, uint64) {
	var ms runtime.MemStats
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// oneRequest streams one chat completion and returns the status, the time
// to the first content chunk and the completion tokens from usage.
func oneRequest(ctx context.Context, url string, seed, maxTokens int) (int, time.Duration, int, error) {
	body := fmt.Sprintf(`{"model":"load","messages":[{"role":"user","content":"Write a short story about request %d."}],"max_tokens":%d,"seed":%d,"temperature":%g,"stream":true}`, seed, maxTokens, seed, *loadTemp)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, 0, 0, nil
	}
	var ttft time.Duration
	tokens := -1
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if d == "[DONE]" {
			break
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Usage *usage `json:"usage"`
			Error any    `json:"error"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			return resp.StatusCode, 0, 0, err
		}
		if c.Error != nil {
			return resp.StatusCode, 0, 0, fmt.Errorf("error event %s", d)
		}
		if ttft == 0 && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil && *c.Choices[0].Delta.Content != "" {
			ttft = time.Since(start)
		}
		if c.Usage != nil {
			tokens = c.Usage.CompletionTokens
		}
	}
	if err := sc.Err(); err != nil {
		return resp.StatusCode, 0, 0, err
	}
	if tokens < 0 {
		return resp.StatusCode, 0, 0, fmt.Errorf("stream ended without usage")
	}
	if ttft == 0 {
		ttft = time.Since(start) // no text at all (e.g. only byte tokens)
	}
	return resp.StatusCode, ttft, tokens, nil
}
