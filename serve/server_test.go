package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/tokenizer"
)

type chatOut struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// chatIDs tokenizes a one-turn chat independently of the server.
func chatIDs(t *testing.T, user string) []int32 {
	t.Helper()
	s, err := tokenizer.GemmaChat([]tokenizer.Message{{Role: "user", Content: user}}, true)
	if err != nil {
		t.Fatal(err)
	}
	return tiny.Tokenizer.Encode(s, false, true)
}

func TestModelsHealthMetrics(t *testing.T) {
	_, ts := start(t, Options{Parallel: 2})
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/models", 200, `"data":[{"id":"tiny","object":"model"`},
		{"/v1/models/tiny", 200, `"id":"tiny"`},
		{"/v1/models/other", 404, `"code":"model_not_found"`},
		{"/health", 200, `"status":"ok"`},
		{"/nope", 404, `"code":"not_found"`},
		{"/metrics", 200, "zerfoo_slots 2\n"},
	}
	for _, tc := range tests {
		code, body := get(t, ts.URL+tc.path)
		if code != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: got %d %s, want %d containing %s", tc.path, code, body, tc.status, tc.want)
		}
	}
	code, _, body := post(t, context.Background(), ts.URL+"/v1/models", "{}")
	if code != 405 || !strings.Contains(string(body), `"method_not_allowed"`) {
		t.Errorf("POST /v1/models: got %d %s, want 405 method_not_allowed", code, body)
	}
}

func TestLoading(t *testing.T) {
	s := New(Options{Logger: quiet()})
	for _, path := range []string{"/health", "/v1/chat/completions"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
		if path == "/health" {
			req.Method = "GET"
		}
		s.ServeHTTP(rec, req)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"code":"model_loading"`) || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("%s while loading: got %d %s (Retry-After %q), want 503 model_loading, Retry-After 1", path, rec.Code, rec.Body, rec.Header().Get("Retry-After"))
		}
	}
	s.SetModel(tiny)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != 200 {
		t.Errorf("/health after SetModel: got %d, want 200", rec.Code)
	}
}

func TestChat(t *testing.T) {
	_, ts := start(t, Options{})
	const user = "Why is the sky blue?"
	ids := chatIDs(t, user)
	for _, tc := range []struct {
		name     string
		sampling generate.Sampling
		body     string
	}{
		{"greedy", generate.Sampling{}, `"temperature":0`},
		{"seeded", generate.Sampling{Temperature: 0.9, TopP: 0.95, Seed: 42}, `"temperature":0.9,"top_p":0.95,"seed":42`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := reference(t, ids, generate.Options{Sampling: tc.sampling, MaxTokens: 12})
			body := fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":%q}],"max_tokens":12,%s}`, user, tc.body)
			code, h, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body, "X-Request-Id", "abc-123")
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, b)
			}
			var out chatOut
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			c := out.Choices[0]
			if c.Message.Content != asJSON(want.Text) || c.Message.Role != "assistant" {
				t.Errorf("got message %+v, want assistant %q", c.Message, want.Text)
			}
			wantUsage := usage{PromptTokens: len(ids), CompletionTokens: len(want.Tokens), TotalTokens: len(ids) + len(want.Tokens)}
			if out.Usage == nil || uncached(*out.Usage) != wantUsage {
				t.Errorf("got usage %+v, want %+v", out.Usage, wantUsage)
			}
			if *c.FinishReason != "length" || out.Object != "chat.completion" || out.ID != "chatcmpl-abc-123" || h.Get("X-Request-Id") != "abc-123" {
				t.Errorf("got finish %q object %q id %q header id %q, want length chat.completion chatcmpl-abc-123 abc-123", *c.FinishReason, out.Object, out.ID, h.Get("X-Request-Id"))
			}
		})
	}
}

func TestChatStream(t *testing.T) {
	_, ts := start(t, Options{})
	const user = "Tell me a story."
	ids := chatIDs(t, user)
	want := reference(t, ids, generate.Options{Sampling: generate.Sampling{Temperature: 1, Seed: 9}, MaxTokens: 20})
	body := fmt.Sprintf(`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":%q}],"max_tokens":20,"seed":9,"stream":true,"stream_options":{"include_usage":true}}`, user)
	// The system turn changes the prompt: tokenize it independently.
	s, _ := tokenizer.GemmaChat([]tokenizer.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: user}}, true)
	ids = tiny.Tokenizer.Encode(s, false, true)
	want = reference(t, ids, generate.Options{Sampling: generate.Sampling{Temperature: 1, Seed: 9}, MaxTokens: 20})

	code, h, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("got %d %q %s, want 200 text/event-stream", code, h.Get("Content-Type"), b)
	}
	ev := events(t, b)
	if len(ev) < 4 || ev[len(ev)-1] != "[DONE]" {
		t.Fatalf("got events %q, want chunks ending in [DONE]", ev)
	}
	var text strings.Builder
	var finish string
	var last usage
	for i, e := range ev[:len(ev)-1] {
		var c chatOut
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("event %d %q: %v", i, e, err)
		}
		if c.Object != "chat.completion.chunk" {
			t.Errorf("event %d: got object %q, want chat.completion.chunk", i, c.Object)
		}
		if i == 0 && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
			t.Errorf("first event %q: want the assistant role", e)
		}
		if c.Usage != nil {
			last = *c.Usage
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				text.WriteString(*ch.Delta.Content)
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	if text.String() != asJSON(want.Text) {
		t.Errorf("got streamed text %q, want %q", text.String(), want.Text)
	}
	wantUsage := usage{PromptTokens: len(ids), CompletionTokens: len(want.Tokens), TotalTokens: len(ids) + len(want.Tokens)}
	if finish != "length" || uncached(last) != wantUsage {
		t.Errorf("got finish %q usage %+v, want length %+v", finish, last, wantUsage)
	}
	var u chatOut // include_usage: a last chunk with no choices
	if err := json.Unmarshal([]byte(ev[len(ev)-2]), &u); err != nil || len(u.Choices) != 0 || u.Usage == nil {
		t.Errorf("include_usage chunk %q: want no choices and usage", ev[len(ev)-2])
	}
}

func TestCompletions(t *testing.T) {
	_, ts := start(t, Options{})
	const prompt = "Once upon a time"
	ids := tiny.Tokenizer.Encode(prompt, true, false)
	want := reference(t, ids, generate.Options{MaxTokens: 16}) // OpenAI's default max_tokens
	tokJSON, _ := json.Marshal(ids)
	for _, tc := range []struct{ name, body string }{
		{"string", fmt.Sprintf(`{"model":"tiny","prompt":%q,"temperature":0}`, prompt)},
		{"array", fmt.Sprintf(`{"prompt":[%q],"temperature":0}`, prompt)},
		{"tokens", fmt.Sprintf(`{"prompt":%s,"temperature":0}`, tokJSON)},
		{"stream", fmt.Sprintf(`{"prompt":%q,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`, prompt)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := post(t, context.Background(), ts.URL+"/v1/completions", tc.body)
			if code != 200 {
				t.Fatalf("got %d %s, want 200", code, b)
			}
			var text strings.Builder
			var u *usage
			var finish string
			chunks := []string{string(b)}
			if tc.name == "stream" {
				chunks = events(t, b)
				if chunks[len(chunks)-1] != "[DONE]" {
					t.Fatalf("stream %q does not end in [DONE]", chunks)
				}
				chunks = chunks[:len(chunks)-1]
			}
			for _, c := range chunks {
				var out chatOut
				if err := json.Unmarshal([]byte(c), &out); err != nil {
					t.Fatal(err)
				}
				if out.Object != "text_completion" {
					t.Errorf("got object %q, want text_completion", out.Object)
				}
				for _, ch := range out.Choices {
					text.WriteString(ch.Text)
					if ch.FinishReason != nil {
						finish = *ch.FinishReason
					}
				}
				if out.Usage != nil {
					u = out.Usage
				}
			}
			wantUsage := usage{PromptTokens: len(ids), CompletionTokens: len(want.Tokens), TotalTokens: len(ids) + len(want.Tokens)}
			if text.String() != asJSON(want.Text) || finish != "length" || u == nil || uncached(*u) != wantUsage {
				t.Errorf("got %q finish %q usage %v, want %q length %+v", text.String(), finish, u, want.Text, wantUsage)
			}
		})
	}
}

// TestStop checks that generation ends before a stop sequence, which is
// never sent, streamed or not.
func TestStop(t *testing.T) {
	_, ts := start(t, Options{})
	const user = "Count to ten."
	ids := chatIDs(t, user)
	// The first seed whose text is valid UTF-8 (a random-weight model's
	// byte tokens may split characters), so that a stop string can be cut
	// from it.
	var full string
	seed := uint64(0)
	for s := uint64(1); s <= 50 && seed == 0; s++ {
		full = reference(t, ids, generate.Options{Sampling: generate.Sampling{Temperature: 1, Seed: s}, MaxTokens: 40}).Text
		if len(full) >= 8 && utf8.ValidString(full) {
			seed = s
		}
	}
	if seed == 0 {
		t.Fatalf("no seed of 1…50 gives at least 8 bytes of valid UTF-8 (the last: %q)", full)
	}
	// Three characters from the middle, whole ones.
	i := len(full) / 2
	for !utf8.RuneStart(full[i]) {
		i--
	}
	j := i
	for range 3 {
		if j < len(full) {
			_, n := utf8.DecodeRuneInString(full[j:])
			j += n
		}
	}
	stop := full[i:j]
	stopJSON, _ := json.Marshal(stop)
	want := full[:strings.Index(full, stop)]
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],"max_tokens":40,"seed":%d,"stop":[%s,"never-generated"],"stream":%v}`, user, seed, stopJSON, stream)
		code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body)
		if code != 200 {
			t.Fatalf("stream=%v: got %d %s", stream, code, b)
		}
		var text strings.Builder
		var finish string
		chunks := []string{string(b)}
		if stream {
			chunks = events(t, b)
			chunks = chunks[:len(chunks)-1]
		}
		for _, c := range chunks {
			var out chatOut
			json.Unmarshal([]byte(c), &out)
			for _, ch := range out.Choices {
				text.WriteString(ch.Message.Content)
				if ch.Delta.Content != nil {
					text.WriteString(*ch.Delta.Content)
				}
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
		if text.String() != asJSON(want) || finish != "stop" {
			t.Errorf("stream=%v, stop %q in %q: got %q finish %q, want %q stop", stream, stop, full, text.String(), finish, want)
		}
	}
}

func TestSeedReproducible(t *testing.T) {
	_, ts := start(t, Options{Parallel: 2})
	body := `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":24,"seed":77,"temperature":1.2}`
	var texts [2]string
	for i := range texts {
		code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body)
		var out chatOut
		if code != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("got %d %s", code, b)
		}
		texts[i] = out.Choices[0].Message.Content
	}
	if texts[0] != texts[1] {
		t.Errorf("same seed: got %q and %q, want equal", texts[0], texts[1])
	}
}

func TestAPIKey(t *testing.T) {
	_, ts := start(t, Options{APIKey: "sekret"})
	body := `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}`
	for _, tc := range []struct {
		header []string
		status int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer wrong"}, 401},
		{[]string{"Authorization", "sekret"}, 401},
		{[]string{"Authorization", "Bearer sekret"}, 200},
	} {
		code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body, tc.header...)
		if code != tc.status || (code == 401 && !strings.Contains(string(b), `"code":"invalid_api_key"`)) {
			t.Errorf("header %q: got %d %s, want %d", tc.header, code, b, tc.status)
		}
	}
	if code, _ := get(t, ts.URL+"/health"); code != 200 {
		t.Errorf("/health with a key set: got %d, want 200 (health stays open)", code)
	}
}

// TestMetricsCounts checks the counters against the usage of the answers.
func TestMetricsCounts(t *testing.T) {
	_, ts := start(t, Options{})
	var prompt, completion int
	for _, body := range []string{
		`{"messages":[{"role":"user","content":"one"}],"max_tokens":5,"temperature":0}`,
		`{"prompt":"two","max_tokens":7,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`,
	} {
		path := "/v1/chat/completions"
		if strings.Contains(body, "prompt") {
			path = "/v1/completions"
		}
		code, _, b := post(t, context.Background(), ts.URL+path, body)
		if code != 200 {
			t.Fatalf("got %d %s", code, b)
		}
		chunks := []string{string(b)}
		if strings.Contains(body, "stream") {
			chunks = events(t, b)
		}
		for _, c := range chunks {
			var out chatOut
			if json.Unmarshal([]byte(c), &out) == nil && out.Usage != nil {
				prompt += out.Usage.PromptTokens
				completion += out.Usage.CompletionTokens
			}
		}
	}
	_, m := get(t, ts.URL+"/metrics")
	for _, want := range []string{
		fmt.Sprintf("zerfoo_prompt_tokens_total %d\n", prompt),
		fmt.Sprintf("zerfoo_generated_tokens_total %d\n", completion),
		`zerfoo_requests_total{path="/v1/chat/completions",code="200"} 1`,
		`zerfoo_requests_total{path="/v1/completions",code="200"} 1`,
		"zerfoo_request_duration_seconds_count 2\n",
		"# TYPE zerfoo_time_to_first_token_seconds histogram\n",
		"zerfoo_model_ready 1\n",
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}
}

// uncached returns u without its cache details (which depend on the
// requests before).
func uncached(u usage) usage {
	u.PromptTokensDetails = promptTokensDetails{}
	return u
}
