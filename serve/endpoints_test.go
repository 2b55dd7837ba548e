package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// do runs one request through s's handler.
func do(s *Server, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	s.ServeHTTP(rec, req)
	return rec
}

func TestTokenize(t *testing.T) {
	s, _ := start(t, Options{})
	const text = "<start_of_turn>user\nhello world"
	for _, tc := range []struct {
		body string
		want []int32
	}{
		{fmt.Sprintf(`{"content":%q}`, text), tiny.Tokenizer.Encode(text, false, true)},
		{fmt.Sprintf(`{"content":%q,"add_special":true}`, text), tiny.Tokenizer.Encode(text, true, true)},
		{fmt.Sprintf(`{"content":%q,"parse_special":false}`, text), tiny.Tokenizer.Encode(text, false, false)},
		{`{"content":""}`, []int32{}},
	} {
		rec := do(s, "POST", "/tokenize", tc.body)
		var out struct{ Tokens []int32 }
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || !slices.Equal(out.Tokens, tc.want) {
			t.Errorf("%s: got %d %s, want tokens %v", tc.body, rec.Code, rec.Body, tc.want)
		}
	}
	rec := do(s, "POST", "/tokenize", `{"content":"hi \u00e9","with_pieces":true}`)
	var pieces struct {
		Tokens []struct {
			ID    int32 `json:"id"`
			Piece any   `json:"piece"`
		} `json:"tokens"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &pieces) != nil || len(pieces.Tokens) == 0 {
		t.Fatalf("with_pieces: got %d %s", rec.Code, rec.Body)
	}
	var joined []byte
	for _, p := range pieces.Tokens {
		switch v := p.Piece.(type) {
		case string:
			joined = append(joined, v...)
		case []any: // the bytes of a piece that is not UTF-8 on its own
			for _, b := range v {
				joined = append(joined, byte(b.(float64)))
			}
		}
	}
	if string(joined) != "hi é" {
		t.Errorf("with_pieces: pieces spell %q, want %q", joined, "hi é")
	}

	ids := tiny.Tokenizer.Encode("<bos>"+text, false, true)
	body, _ := json.Marshal(map[string]any{"tokens": ids})
	rec = do(s, "POST", "/detokenize", string(body))
	var back struct{ Content string }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &back) != nil || back.Content != "<bos>"+text {
		t.Errorf("detokenize %v: got %d %s, want %q", ids, rec.Code, rec.Body, "<bos>"+text)
	}

	for _, tc := range []struct{ path, body, param string }{
		{"/tokenize", `{}`, "content"},
		{"/tokenize", `{"content":5}`, "content"},
		{"/tokenize", `{"content":"a","x":1}`, "x"},
		{"/detokenize", `{"tokens":[999999]}`, "tokens"},
		{"/detokenize", `{"tokens":"a"}`, "tokens"},
		{"/detokenize", `{"content":"a"}`, "content"},
	} {
		rec := do(s, "POST", tc.path, tc.body)
		var e struct{ Error *apiError }
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Param != tc.param {
			t.Errorf("%s %s: got %d %s, want 400 naming %s", tc.path, tc.body, rec.Code, rec.Body, tc.param)
		}
	}
	if rec := do(s, "GET", "/tokenize", ""); rec.Code != 405 {
		t.Errorf("GET /tokenize: got %d, want 405", rec.Code)
	}
}

func TestPropsSlots(t *testing.T) {
	s, ts := start(t, Options{Parallel: 2, CtxSize: 128, MaxTokens: 64, ModelPath: "/models/tiny.gguf"})
	rec := do(s, "GET", "/props", "")
	var props struct {
		DGS struct {
			NCtx   int            `json:"n_ctx"`
			Params map[string]any `json:"params"`
		} `json:"default_generation_settings"`
		TotalSlots int    `json:"total_slots"`
		ModelPath  string `json:"model_path"`
		ModelAlias string `json:"model_alias"`
		BOS        string `json:"bos_token"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &props) != nil {
		t.Fatalf("/props: got %d %s", rec.Code, rec.Body)
	}
	if props.DGS.NCtx != 64 || props.TotalSlots != 2 || props.ModelPath != "/models/tiny.gguf" || props.ModelAlias != "tiny" || props.BOS != "<bos>" || props.DGS.Params["max_tokens"] != 64.0 {
		t.Errorf("/props: got %+v", props)
	}

	// One request held in slot: /slots shows it processing.
	hold := make(chan struct{})
	var holding atomic.Bool
	s.hook = func(ctx context.Context, piece string) error {
		if piece == "" {
			holding.Store(true)
			select {
			case <-hold:
			case <-ctx.Done():
			}
		}
		return nil
	}
	done := background(t, context.Background(), ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`)
	waitFor(t, "a request to hold its slot", holding.Load)
	type slot struct {
		ID           int    `json:"id"`
		State        string `json:"state"`
		IsProcessing bool   `json:"is_processing"`
		NCtx         int    `json:"n_ctx"`
		Task         string `json:"id_task"`
		Prompt       int    `json:"n_prompt_tokens"`
	}
	var slots []slot
	rec = do(s, "GET", "/slots", "")
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &slots) != nil || len(slots) != 2 {
		t.Fatalf("/slots: got %d %s, want 2 slots", rec.Code, rec.Body)
	}
	busy := 0
	for _, sl := range slots {
		if sl.NCtx != 64 || (sl.State == "processing") != sl.IsProcessing { // --ctx-size 128 shared by 2 slots
			t.Errorf("slot %+v: want n_ctx 64 and a consistent state", sl)
		}
		if sl.IsProcessing {
			busy++
			if sl.Task == "" || sl.Prompt != len(chatIDs(t, "hi")) {
				t.Errorf("busy slot %+v: want its request id and %d prompt tokens", sl, len(chatIDs(t, "hi")))
			}
		}
	}
	if busy != 1 {
		t.Errorf("/slots %+v: %d processing, want 1", slots, busy)
	}
	close(hold)
	if code := recv(t, done); code != 200 {
		t.Errorf("held request: got %d", code)
	}
	json.Unmarshal(do(s, "GET", "/slots", "").Body.Bytes(), &slots)
	for _, sl := range slots {
		if sl.IsProcessing {
			t.Errorf("after the request: slot %+v still processing", sl)
		}
	}
}

// TestPanic makes a request's work panic, before and while streaming, on
// the handler's goroutine and in a worker-pool loop: each is a 500 for
// that request (an error event in a stream), the slot is freed and the
// server keeps answering.
func TestPanic(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1})
	var mode atomic.Int32 // 0: none, 1: panic at the slot, 2: panic on the first piece, 3: a worker-pool panic
	s.hook = func(ctx context.Context, piece string) error {
		switch m := mode.Load(); {
		case m == 1 && piece == "", m == 2 && piece != "":
			panic("injected")
		case m == 3 && piece == "":
			return workerpool.ForN(ctx, 4, 1, 0, func(lo, hi int) { panic("injected in a loop") })
		}
		return nil
	}
	const chat = `{"messages":[{"role":"user","content":"hello world"}],"max_tokens":4,"temperature":0`
	for _, tc := range []struct {
		mode   int32
		stream bool
	}{{1, false}, {1, true}, {2, false}, {2, true}, {3, false}, {3, true}} {
		mode.Store(tc.mode)
		code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", chat+fmt.Sprintf(`,"stream":%v}`, tc.stream))
		switch {
		case !tc.stream || tc.mode == 1 && tc.stream:
			// Mode 1 streams panic after the stream's headers: an event.
			if tc.stream {
				if code != 200 || !strings.Contains(string(b), `"code":"internal_error"`) || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					t.Errorf("mode %d stream: got %d %s, want an error event and [DONE]", tc.mode, code, b)
				}
				break
			}
			if code != 500 || !strings.Contains(string(b), `"code":"internal_error"`) || !strings.Contains(string(b), "injected") {
				t.Errorf("mode %d: got %d %s, want 500 internal_error", tc.mode, code, b)
			}
		default:
			if code != 200 || !strings.Contains(string(b), `"code":"internal_error"`) || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
				t.Errorf("mode %d stream: got %d %s, want an error event and [DONE]", tc.mode, code, b)
			}
		}
		waitFor(t, "the slot to be freed", func() bool { return busy(s) == 0 })
	}
	mode.Store(0)
	if code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", chat+"}"); code != 200 {
		t.Errorf("after the panics: got %d %s, want 200", code, b)
	}
	_, m := get(t, ts.URL+"/metrics")
	if !strings.Contains(string(m), `zerfoo_requests_total{path="/v1/chat/completions",code="500"} 6`) {
		t.Errorf("/metrics: want 6 requests with code 500:\n%s", m)
	}
}

// hold makes s's requests wait, once they hold their slot, until the
// returned release is called.
func hold(s *Server) (release func()) {
	ch := make(chan struct{})
	s.hook = func(ctx context.Context, piece string) error {
		if piece == "" {
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
		return nil
	}
	return sync.OnceFunc(func() { close(ch) })
}

// TestLimitsBeforeWork sends concurrent prompts far longer than the
// context while the only slot is held: each is refused (413) from its
// length alone, so without being tokenized (tokenizing needs the slot),
// and the heap stays small. With every slot and queue place taken,
// prompts are refused (429) before their bodies are read.
func TestLimitsBeforeWork(t *testing.T) {
	s, ts := start(t, Options{Parallel: 1, MaxQueue: 16})
	release := hold(s)
	defer release()
	held := background(t, context.Background(), ts.URL+"/v1/completions", `{"prompt":"a","max_tokens":1}`)
	waitFor(t, "the slot to be taken", func() bool { return busy(s) == 1 })

	huge := strings.Repeat("the people of the world ", 3<<20/24) // 3 MiB, some 600k tokens
	bodies := map[string]string{
		"/v1/completions":      fmt.Sprintf(`{"prompt":%q}`, huge),
		"/v1/chat/completions": fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]}`, huge),
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	})
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range 8 {
		path := "/v1/completions"
		if i%2 == 1 {
			path = "/v1/chat/completions"
		}
		wg.Go(func() {
			code, _, b := post(t, context.Background(), ts.URL+path, bodies[path])
			if code != 413 || !strings.Contains(string(b), "context_length_exceeded") || !strings.Contains(string(b), "at least") {
				t.Errorf("%s, 3 MiB prompt: got %d %.200s, want 413 context_length_exceeded (at least …)", path, code, b)
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	growth := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("8 concurrent 3 MiB prompts refused in %v, the slot held; heap in use grew by at most %d MiB", time.Since(t0), growth>>20)
	if growth > 512<<20 {
		t.Errorf("heap in use grew by %d MiB for 8 refused 3 MiB prompts", growth>>20)
	}
	if busy(s) != 1 || queued(s) != 0 {
		t.Errorf("after the refusals: %d slots busy, %d queued; want the held one only", busy(s), queued(s))
	}
	release()
	if code := recv(t, held); code != 200 {
		t.Errorf("held request: got %d, want 200", code)
	}

	// Every slot and queue place taken: refused at once.
	s, ts = start(t, Options{Parallel: 1, MaxQueue: 1})
	release = hold(s)
	defer release()
	holds := []<-chan int{background(t, context.Background(), ts.URL+"/v1/completions", `{"prompt":"a","max_tokens":1}`)}
	waitFor(t, "the slot to be taken", func() bool { return busy(s) == 1 })
	holds = append(holds, background(t, context.Background(), ts.URL+"/v1/completions", `{"prompt":"b","max_tokens":1}`))
	waitFor(t, "the queue to fill", func() bool { return queued(s) == 1 })
	for path, body := range bodies {
		t1 := time.Now()
		code, h, b := post(t, context.Background(), ts.URL+path, body)
		if code != 429 || h.Get("Retry-After") == "" {
			t.Errorf("%s while full: got %d %.200s, want 429 with Retry-After", path, code, b)
		}
		t.Logf("%s while full: %d in %v", path, code, time.Since(t1))
	}
	release()
	for _, ch := range holds {
		if code := recv(t, ch); code != 200 {
			t.Errorf("held request: got %d, want 200", code)
		}
	}
}

// TestMinTokens checks the bound minTokens relies on: no text has fewer
// tokens than its length divided by the longest piece.
func TestMinTokens(t *testing.T) {
	s := New(Options{Logger: quiet()})
	c := s.maxCover(tiny)
	for _, text := range []string{"", "a", "the people of the world", strings.Repeat("the ", 100), "<start_of_turn>user\n", "\xff\xfe\x00 é 你好", strings.Repeat(" ", 64)} {
		for _, parse := range []bool{false, true} {
			n := len(tiny.Tokenizer.Encode(text, false, parse))
			if lb := (len(text) + c - 1) / c; lb > n {
				t.Errorf("%q: bound %d > %d tokens (max cover %d)", text, lb, n, c)
			}
		}
	}
}
