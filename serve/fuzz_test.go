package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":5,"temperature":0.5,"top_p":0.9,"seed":1,"stop":["\n"],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":null},{"role":"user","content":"c"}]}`,
	`{"prompt":"once","max_tokens":3,"stop":"x","top_k":4,"min_p":0.1,"repeat_penalty":1.1}`,
	`{"prompt":[1,2,3],"logprobs":0,"n":1,"best_of":1}`,
	`{"prompt":[[1,2]],"echo":false,"suffix":""}`,
	`{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`,
	`{"messages":"x"}`, `[]`, `{`, ``, `null`, `{"stop":[1]}`, `{"seed":1e30}`,
	`{"messages":[{"role":"user","content":"w"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"2"}],` +
		`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"integer"}}}}}],"tool_choice":"auto","parallel_tool_calls":true}`,
	`{"messages":[{"role":"user","content":"w"}],"tools":[{"type":"function","function":{"name":"g"}}],"tool_choice":{"type":"function","function":{"name":"g"}},"response_format":{"type":"json_object"}}`,
}

// checkRequest asserts the invariants of a request the parser accepted.
func checkRequest(t *testing.T, r *request, chat bool) {
	if r.chat != chat || r.maxTokens < 0 || len(r.stop) > maxStops || r.includeUsage && !r.stream {
		t.Fatalf("accepted request breaks an invariant: %+v", r)
	}
	if err := r.sampling.Validate(); err != nil || r.sampling.Temperature > 2 {
		t.Fatalf("accepted sampling %+v: %v", r.sampling, err)
	}
	for _, s := range r.stop {
		if s == "" {
			t.Fatal("accepted an empty stop sequence")
		}
	}
	if chat && len(r.messages) == 0 || !chat && r.messages != nil {
		t.Fatalf("accepted request without a prompt: %+v", r)
	}
}

func FuzzParseChat(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, e := parseChat(body, openAIDefault)
		if (r == nil) == (e == nil) {
			t.Fatalf("got request %v and error %v, want exactly one", r, e)
		}
		if e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("got error %+v, want a 400 with a message", e)
			}
			return
		}
		checkRequest(t, r, true)
		// Inside the slot: the tools' plan (or the schema) compiles or is a 400.
		if e := r.compile(); e != nil && (e.Status != 400 || e.Message == "") {
			t.Fatalf("compile: got error %+v, want a 400 with a message", e)
		}
		if len(r.messages) == 0 || r.plan != nil && r.plan.Active() && r.grammar != r.plan.Grammar {
			t.Fatalf("compiled request breaks an invariant: %+v", r)
		}
	})
}

func FuzzParseCompletion(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, e := parseCompletion(body, openAIDefault)
		if (r == nil) == (e == nil) {
			t.Fatalf("got request %v and error %v, want exactly one", r, e)
		}
		if e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("got error %+v, want a 400 with a message", e)
			}
			return
		}
		checkRequest(t, r, false)
	})
}

// fuzzServers are the handlers FuzzHandler drives, built once per process
// (each fuzz worker runs TestMain and has its own): with and without an
// API key. CtxSize 48 bounds every request to 48 tokens, prompt included,
// whatever max_tokens asks, so that each one ends in milliseconds;
// MaxBodyBytes is small enough for the fuzzer to reach 413.
var fuzzServers = sync.OnceValue(func() [2]*Server {
	var out [2]*Server
	for i, key := range []string{"", fuzzKey} {
		s := New(Options{ModelName: "tiny", CtxSize: 48, APIKey: key, MaxBodyBytes: 1 << 12, Threads: 1, Logger: slog.New(slog.DiscardHandler)})
		s.SetModel(tiny)
		out[i] = s
	}
	return out
})

const fuzzKey = "sekret"

// fuzzDeadline bounds one request: the client gives up after it and the
// handler must return soon after.
const fuzzDeadline = 5 * time.Second

// documented are the statuses serve's doc lists.
var documented = map[int]bool{200: true, 400: true, 401: true, 404: true, 405: true, 413: true, 415: true, 429: true, 501: true, 503: true}

// FuzzHandler drives the whole handler with fuzzed method, path, headers and
// body and checks what a client may rely on: no panic, a documented status,
// an OpenAI-shaped JSON error for every 4xx/5xx, a well-formed answer or
// event stream for every 200 (usage within the context), and an answer
// within fuzzDeadline. The seed corpus is testdata/fuzz/FuzzHandler.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/v1/chat/completions", "application/json", "", false,
		[]byte(`{"messages":[{"role":"user","content":"hi"}],"max_tokens":4}`))
	f.Fuzz(func(t *testing.T, method, path, contentType, auth string, keyed bool, body []byte) {
		s := fuzzServers()[0]
		if keyed {
			s = fuzzServers()[1]
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzDeadline)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://zerfoo.test/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		// Set what a client could send, bypassing the checks of
		// NewRequest: the handler must cope with anything.
		req.Method = method
		req.URL.Path = path
		req.Header.Set("Content-Type", contentType)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			s.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(fuzzDeadline + 5*time.Second):
			t.Fatalf("%q %q: no answer %v after the client gave up", method, path, fuzzDeadline)
		}
		if ctx.Err() != nil {
			t.Fatalf("%q %q: the answer took %v, more than %v", method, path, time.Since(start).Round(time.Millisecond), fuzzDeadline)
		}
		checkAnswer(t, method, path, rec, includeUsage(body))
	})
}

// checkAnswer asserts the invariants of one answer of the handler.
func checkAnswer(t *testing.T, method, path string, rec *httptest.ResponseRecorder, wantUsage bool) {
	t.Helper()
	code, h, body := rec.Code, rec.Header(), rec.Body.Bytes()
	where := fmt.Sprintf("%q %q: %d", method, path, code)
	t.Log(where)
	if !documented[code] {
		t.Fatalf("%s: undocumented status; body %.300q", where, body)
	}
	if h.Get("X-Request-Id") == "" {
		t.Errorf("%s: no X-Request-Id", where)
	}
	if code >= 400 {
		var e struct {
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: error with Content-Type %q", where, ct)
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
			t.Fatalf("%s: error body %.300q is not an OpenAI error (%v)", where, body, err)
		}
		if (code == 429 || code == 503) && h.Get("Retry-After") == "" && !strings.Contains(string(body), "shutting_down") {
			t.Errorf("%s: no Retry-After", where)
		}
		return
	}
	switch ct := h.Get("Content-Type"); {
	case path == "/metrics":
		if !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("%s: metrics with Content-Type %q", where, ct)
		}
	case ct == "text/event-stream":
		checkStream(t, where, path, body, wantUsage)
	case ct == "application/json" && path == "/slots":
		var v []map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: body %.300q is not a JSON array of objects: %v", where, body, err)
		}
	case ct == "application/json":
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: body %.300q is not a JSON object: %v", where, body, err)
		}
		if path == "/v1/chat/completions" || path == "/v1/completions" {
			checkCompletion(t, where, body)
		}
	default:
		t.Fatalf("%s: Content-Type %q", where, ct)
	}
}

// answer is the part of a completion (or chunk) the checks read.
type answer struct {
	Choices []struct {
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage    `json:"usage"`
	Error *apiError `json:"error"`
}

func checkUsage(t *testing.T, where string, u *usage) {
	t.Helper()
	if u.PromptTokens <= 0 || u.CompletionTokens < 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens || u.TotalTokens > 48 {
		t.Fatalf("%s: usage %+v: want prompt > 0 and total = prompt + completion ≤ the context of 48", where, *u)
	}
}

func checkCompletion(t *testing.T, where string, body []byte) {
	t.Helper()
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || len(a.Choices) != 1 || a.Usage == nil {
		t.Fatalf("%s: completion %.300q: want one choice and usage (%v)", where, body, err)
	}
	if f := a.Choices[0].FinishReason; f == nil || *f != "stop" && *f != "length" {
		t.Fatalf("%s: completion %.300q: finish_reason must be stop or length", where, body)
	}
	checkUsage(t, where, a.Usage)
}

// includeUsage reports whether a request body asks for a stream's usage.
func includeUsage(body []byte) bool {
	var b struct {
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	return json.Unmarshal(body, &b) == nil && b.StreamOptions != nil && b.StreamOptions.IncludeUsage
}

// checkStream checks an SSE answer: JSON events, exactly one with a
// finish_reason, then one with usage and no choices if the request asked
// for it (wantUsage) and none else, no error event, then data: [DONE].
func checkStream(t *testing.T, where, path string, body []byte, wantUsage bool) {
	t.Helper()
	if path != "/v1/chat/completions" && path != "/v1/completions" {
		t.Fatalf("%s: event stream on %s", where, path)
	}
	text := string(body)
	rest, ok := strings.CutSuffix(text, "data: [DONE]\n\n")
	if !ok {
		t.Fatalf("%s: stream does not end with data: [DONE]: %.300q", where, text)
	}
	finishes, usages := 0, 0
	for _, ev := range strings.Split(strings.TrimSuffix(rest, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("%s: event %.200q is not a data line", where, ev)
		}
		var a answer
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			t.Fatalf("%s: event %.200q: %v", where, data, err)
		}
		if a.Error != nil {
			t.Fatalf("%s: error event %.200q", where, data)
		}
		if len(a.Choices) == 1 && a.Choices[0].FinishReason != nil {
			finishes++
		}
		if a.Usage != nil {
			usages++
			if len(a.Choices) != 0 || finishes != 1 {
				t.Fatalf("%s: usage on chunk %.200q: want it on a chunk without choices after the last", where, data)
			}
			checkUsage(t, where, a.Usage)
		}
	}
	if finishes != 1 {
		t.Fatalf("%s: %d chunks with a finish_reason, want 1: %.500q", where, finishes, text)
	}
	if want := map[bool]int{false: 0, true: 1}[wantUsage]; usages != want {
		t.Fatalf("%s: %d chunks with usage, want %d (include_usage %v): %.500q", where, usages, want, wantUsage, text)
	}
}
