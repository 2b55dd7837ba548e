package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// greedyChat is a request whose greedy output on the tiny model is text
// piece by piece (so the hook sees pieces).
const greedyChat = `{"messages":[{"role":"user","content":"hello world"}],"max_tokens":8,"temperature":0}`

func busy(s *Server) int   { _, b := s.sched.depth(); return b }
func queued(s *Server) int { q, _ := s.sched.depth(); return q }

// background posts body and reports the status on the returned channel.
func background(t *testing.T, ctx context.Context, url, body string) <-chan int {
	ch := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ch <- resp.StatusCode
	}()
	return ch
}

func recv(t *testing.T, ch <-chan int) int {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("request did not finish in 5 s")
		return 0
	}
}

// TestParallelAndQueueFull holds every slot and the queue, then checks the
// next request gets 429 and the held ones all complete once released.
func TestParallelAndQueueFull(t *testing.T) {
	s, ts := start(t, Options{Parallel: 2, MaxQueue: 1})
	release := make(chan struct{})
	var running, peak atomic.Int32
	s.hook = func(ctx context.Context, piece string) error {
		if piece != "" {
			return nil
		}
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	url := ts.URL + "/v1/chat/completions"
	a := background(t, context.Background(), url, greedyChat)
	b := background(t, context.Background(), url, greedyChat)
	waitFor(t, "two busy slots", func() bool { return running.Load() == 2 })
	c := background(t, context.Background(), url, greedyChat)
	waitFor(t, "one queued request", func() bool { return queued(s) == 1 })
	code, h, body := post(t, context.Background(), url, greedyChat)
	if code != 429 || h.Get("Retry-After") != "1" || !strings.Contains(string(body), `"code":"queue_full"`) {
		t.Errorf("with 2 slots busy and 1 queued: got %d %s (Retry-After %q), want 429 queue_full", code, body, h.Get("Retry-After"))
	}
	_, m := get(t, ts.URL+"/metrics")
	for _, want := range []string{"zerfoo_queue_depth 1\n", "zerfoo_slots_busy 2\n", `zerfoo_requests_total{path="/v1/chat/completions",code="429"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}
	close(release)
	for i, ch := range []<-chan int{a, b, c} {
		if got := recv(t, ch); got != 200 {
			t.Errorf("held request %d: got %d, want 200", i, got)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("got %d requests generating at once, want 2", p)
	}
	waitFor(t, "idle slots", func() bool { return busy(s) == 0 && queued(s) == 0 })
}

// TestDisconnectFreesSlot cancels a streaming client mid-generation and a
// queued one; both must free their place at once.
func TestDisconnectFreesSlot(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1, MaxQueue: 1})
	var block atomic.Bool
	block.Store(true)
	var blocked, cancelled atomic.Int32
	s.hook = func(ctx context.Context, piece string) error {
		if piece == "" || !block.Load() {
			return nil
		}
		blocked.Add(1)
		<-ctx.Done() // a generation that never ends by itself
		cancelled.Add(1)
		return ctx.Err()
	}
	url := ts.URL + "/v1/chat/completions"
	ctx, cancel := context.WithCancel(context.Background())
	body := strings.Replace(greedyChat, `"temperature":0`, `"temperature":0,"stream":true`, 1)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first stream line: got %q %v", line, err)
	}
	waitFor(t, "the generation to block", func() bool { return blocked.Load() == 1 })

	qctx, qcancel := context.WithCancel(context.Background())
	q := background(t, qctx, url, greedyChat)
	waitFor(t, "one queued request", func() bool { return queued(s) == 1 })
	qcancel()
	waitFor(t, "the queue to empty after its client left", func() bool { return queued(s) == 0 })
	recv(t, q)

	t0 := time.Now()
	cancel()
	resp.Body.Close()
	waitFor(t, "the slot to be freed", func() bool { return busy(s) == 0 })
	t.Logf("slot freed %v after the disconnect", time.Since(t0))
	if cancelled.Load() != 1 {
		t.Errorf("got %d generations cancelled, want 1", cancelled.Load())
	}
	block.Store(false)
	if code, _, b := post(t, context.Background(), url, greedyChat); code != 200 {
		t.Errorf("after the disconnect: got %d %s, want 200", code, b)
	}
	_, m := get(t, ts.URL+"/metrics")
	if !strings.Contains(string(m), `zerfoo_requests_total{path="/v1/chat/completions",code="499"} 2`) {
		t.Errorf("/metrics: want 2 requests with code 499 (client left):\n%s", m)
	}
}

// TestHalfClose half-closes a raw connection mid-stream: the server must
// stop the generation, free the slot and keep serving.
func TestHalfClose(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1})
	var blocked, done atomic.Bool
	s.hook = func(ctx context.Context, piece string) error {
		if piece == "" || done.Load() {
			return nil
		}
		blocked.Store(true)
		<-ctx.Done()
		return ctx.Err()
	}
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.Replace(greedyChat, `"temperature":0`, `"temperature":0,"stream":true`, 1)
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if strings.Contains(line, "data: ") {
			break
		}
	}
	waitFor(t, "the generation to block", blocked.Load)
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slot to be freed", func() bool { return busy(s) == 0 })
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Errorf("the server did not end the response: %v", err)
	}
	done.Store(true)
	if code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", greedyChat); code != 200 {
		t.Errorf("after the half-close: got %d %s, want 200", code, b)
	}
}

// TestShutdownDrains lets the request in flight finish while new ones get
// 503.
func TestShutdownDrains(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1})
	release := make(chan struct{})
	s.hook = func(ctx context.Context, piece string) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	url := ts.URL + "/v1/chat/completions"
	a := background(t, context.Background(), url, greedyChat)
	waitFor(t, "the request to start", func() bool { return busy(s) == 1 })
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { done <- s.Shutdown(ctx) }()
	waitFor(t, "draining", s.isDraining)
	if code, _, b := post(t, context.Background(), url, greedyChat); code != 503 || !strings.Contains(string(b), "shutting_down") {
		t.Errorf("while draining: got %d %s, want 503 shutting_down", code, b)
	}
	if code, _ := get(t, ts.URL+"/health"); code != 503 {
		t.Errorf("/health while draining: got %d, want 503", code)
	}
	close(release)
	if got := recv(t, a); got != 200 {
		t.Errorf("request in flight: got %d, want 200", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

// TestShutdownDeadline cancels requests still running at the deadline: a
// plain one gets 503, a stream ends with an error event and [DONE].
func TestShutdownDeadline(t *testing.T) {
	s, ts := start(t, Options{Parallel: 2})
	s.hook = func(ctx context.Context, piece string) error {
		<-ctx.Done()
		return ctx.Err()
	}
	url := ts.URL + "/v1/chat/completions"
	var wg sync.WaitGroup
	var plainCode, streamCode int
	var plainBody, streamBody []byte
	wg.Add(2)
	go func() {
		defer wg.Done()
		plainCode, _, plainBody = post(t, context.Background(), url, greedyChat)
	}()
	go func() {
		defer wg.Done()
		streamCode, _, streamBody = post(t, context.Background(), url, strings.Replace(greedyChat, `"temperature":0`, `"temperature":0,"stream":true`, 1))
	}()
	waitFor(t, "both requests to start", func() bool { return busy(s) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
		t.Errorf("Shutdown: got %v after %v, want DeadlineExceeded soon after 50ms", err, time.Since(t0))
	}
	wg.Wait()
	if plainCode != 503 || !strings.Contains(string(plainBody), "shutting_down") {
		t.Errorf("plain request: got %d %s, want 503 shutting_down", plainCode, plainBody)
	}
	ev := events(t, streamBody)
	if streamCode != 200 || len(ev) < 2 || ev[len(ev)-1] != "[DONE]" || !strings.Contains(ev[len(ev)-2], "shutting_down") {
		t.Errorf("stream: got %d %q, want an error event then [DONE]", streamCode, ev)
	}
}

// TestSchedulerOrder checks first-come, first-served hand-off, the queue
// bound and a waiter leaving.
func TestSchedulerOrder(t *testing.T) {
	s := newScheduler(1, 2)
	slot, err := s.acquire(context.Background())
	if err != nil || slot != 0 {
		t.Fatalf("first acquire: got %d %v, want 0 nil", slot, err)
	}
	order := make(chan int, 2)
	ctx2, leave := context.WithCancel(context.Background())
	for i, ctx := range []context.Context{context.Background(), ctx2} {
		go func() {
			if j, err := s.acquire(ctx); err == nil {
				order <- i
				s.release(j)
			} else {
				order <- -1
			}
		}()
		waitFor(t, fmt.Sprintf("waiter %d", i), func() bool { q, _ := s.depth(); return q == i+1 })
	}
	if _, err := s.acquire(context.Background()); err == nil {
		t.Fatal("third waiter: got a slot, want queue_full")
	}
	leave()
	if got := <-order; got != -1 {
		t.Fatalf("waiter that left: got %d, want -1", got)
	}
	if q, b := s.depth(); q != 1 || b != 1 {
		t.Fatalf("after a waiter left: got queued %d busy %d, want 1 1", q, b)
	}
	s.release(slot)
	if q, _ := s.depth(); q != 0 {
		t.Errorf("after release: got %d queued, want 0 (handed off at once)", q)
	}
	if got := <-order; got != 0 {
		t.Errorf("got waiter %d served, want 0", got)
	}
	waitFor(t, "idle", func() bool { q, b := s.depth(); return q == 0 && b == 0 })
}

// TestSchedulerIdle checks that onIdle runs once after the last busy slot
// is released and the delay passes, and not when a slot is taken again
// within the delay.
func TestSchedulerIdle(t *testing.T) {
	s := newScheduler(2, 0)
	var calls atomic.Int32
	s.idleDelay, s.onIdle = 30*time.Millisecond, func() { calls.Add(1) }
	ctx := context.Background()
	a, _ := s.acquire(ctx)
	b, _ := s.acquire(ctx)
	s.release(a)
	time.Sleep(60 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("one slot still busy: onIdle ran %d times, want 0", n)
	}
	s.release(b)
	c, _ := s.acquire(ctx) // within the delay: the idle spell is over
	time.Sleep(60 * time.Millisecond)
	if n := calls.Load(); n != 0 {
		t.Fatalf("slot taken again within the delay: onIdle ran %d times, want 0", n)
	}
	s.release(c)
	waitFor(t, "onIdle", func() bool { return calls.Load() == 1 })
	time.Sleep(60 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("onIdle ran %d times after one idle spell, want 1", n)
	}
}

// TestIdleRelease checks that the server returns its freed memory once
// after a request, when it has been idle for Options.IdleRelease.
func TestIdleRelease(t *testing.T) {
	s, ts := start(t, Options{IdleRelease: 20 * time.Millisecond})
	for range 2 {
		if code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", greedyChat); code != 200 {
			t.Fatalf("got %d %s", code, b)
		}
	}
	waitFor(t, "an idle release", func() bool { return s.idleReleases.Load() >= 1 })
	time.Sleep(100 * time.Millisecond)
	if n := s.idleReleases.Load(); n > 2 {
		t.Errorf("%d idle releases after two requests, want at most 2", n)
	}
}
