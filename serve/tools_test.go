package serve

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
	"github.com/zerfoo/zerfoo/toolcall"
)

// testTools are offered by the tool tests: bounded arguments, so that a
// random model's call ends within a few dozen tokens.
const testTools = `[
 {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"enum": ["Paris", "Oslo"]}, "unit": {"enum": ["C", "F"]}}, "required": ["city", "unit"], "additionalProperties": false}}},
 {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
  "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 9}, "b": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["a", "b"], "additionalProperties": false}}},
 {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}, "additionalProperties": false}}}
]`

var (
	toolModelOnce sync.Once
	toolModel     *generate.Model
	toolModelErr  error
)

// startTools serves a tiny random model with a 4096-token context (the
// tools' system prompt does not fit the shared tiny model's 256).
func startTools(t *testing.T) *httptest.Server {
	t.Helper()
	toolModelOnce.Do(func() {
		path := filepath.Join(t.TempDir(), "tools.gguf")
		cfg := gemma3test.Config()
		cfg.Context = 4096
		if toolModelErr = gemma3test.Write(path, gemma3test.Options{Config: cfg, Type: quant.Q8_0, Seed: 11}); toolModelErr != nil {
			return
		}
		toolModel, toolModelErr = generate.Load(context.Background(), path)
	})
	if toolModelErr != nil {
		t.Fatal(toolModelErr)
	}
	s := New(Options{ModelName: "tiny", Logger: quiet(), Parallel: 1})
	s.SetModel(toolModel)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

type toolResp struct {
	Choices []struct {
		Message struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

func toolChat(t *testing.T, url string, body map[string]any) (toolResp, []byte) {
	t.Helper()
	if _, ok := body["messages"]; !ok {
		body["messages"] = []any{map[string]any{"role": "user", "content": "What is the weather in Paris?"}}
	}
	if _, ok := body["tools"]; !ok {
		body["tools"] = json.RawMessage(testTools)
	}
	code, _, b := post(t, context.Background(), url+"/v1/chat/completions", body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	var r toolResp
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if len(r.Choices) != 1 {
		t.Fatalf("choices: %s", b)
	}
	return r, b
}

// checkCalls checks a tool_calls answer: content null, finish_reason
// tool_calls, ids, offered names, arguments valid for the tool.
func checkCalls(t *testing.T, r toolResp, raw []byte) {
	t.Helper()
	c := r.Choices[0]
	if c.FinishReason != "tool_calls" || c.Message.Content != nil || len(c.Message.ToolCalls) == 0 {
		t.Fatalf("want tool calls with content null and finish_reason tool_calls: %s", raw)
	}
	if !strings.Contains(string(raw), `"content":null`) {
		t.Errorf("content is not null: %s", raw)
	}
	schemas := map[string]json.RawMessage{}
	var list []struct {
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	json.Unmarshal([]byte(testTools), &list)
	for _, l := range list {
		schemas[l.Function.Name] = l.Function.Parameters
	}
	for _, tc := range c.Message.ToolCalls {
		if tc.ID == "" || tc.Type != "function" {
			t.Errorf("call id %q type %q: %s", tc.ID, tc.Type, raw)
		}
		s, ok := schemas[tc.Function.Name]
		if !ok {
			t.Fatalf("call of %q, not offered: %s", tc.Function.Name, raw)
		}
		ok, err := grammar.Valid(s, []byte(tc.Function.Arguments))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("arguments %s of %s do not follow its schema", tc.Function.Arguments, tc.Function.Name)
		}
	}
}

func TestToolChoices(t *testing.T) {
	ts := startTools(t)
	calls, replies := 0, 0
	for seed := range 4 {
		r, raw := toolChat(t, ts.URL, map[string]any{"seed": seed, "max_tokens": 300})
		if c := r.Choices[0]; c.Message.ToolCalls != nil {
			checkCalls(t, r, raw)
			calls++
		} else {
			if c.Message.Content == nil {
				t.Fatalf("auto: neither calls nor content: %s", raw)
			}
			replies++
		}
	}
	t.Logf("auto: %d calls, %d replies", calls, replies)

	r, raw := toolChat(t, ts.URL, map[string]any{"seed": 1, "tool_choice": "required", "max_tokens": 300})
	checkCalls(t, r, raw)

	for _, name := range []string{"add", "get_weather", "ping"} {
		r, raw = toolChat(t, ts.URL, map[string]any{"seed": 2, "tool_choice": map[string]any{"type": "function", "function": map[string]any{"name": name}}, "max_tokens": 300})
		checkCalls(t, r, raw)
		for _, c := range r.Choices[0].Message.ToolCalls {
			if c.Function.Name != name {
				t.Errorf("tool_choice %s: called %s", name, c.Function.Name)
			}
		}
	}

	// none: no tools text, no grammar: the same prompt as without tools.
	r, raw = toolChat(t, ts.URL, map[string]any{"seed": 3, "tool_choice": "none", "max_tokens": 5})
	if c := r.Choices[0]; c.Message.ToolCalls != nil || c.Message.Content == nil || c.FinishReason == "tool_calls" {
		t.Fatalf("none: %s", raw)
	}
	plain, _ := toolChat(t, ts.URL, map[string]any{"seed": 3, "tools": []any{}, "max_tokens": 5})
	if r.Usage.PromptTokens != plain.Usage.PromptTokens {
		t.Errorf("tool_choice none: %d prompt tokens, without tools %d", r.Usage.PromptTokens, plain.Usage.PromptTokens)
	}
	auto, _ := toolChat(t, ts.URL, map[string]any{"seed": 3, "max_tokens": 5})
	if auto.Usage.PromptTokens <= plain.Usage.PromptTokens+len(testTools)/8 {
		t.Errorf("tools add %d prompt tokens", auto.Usage.PromptTokens-plain.Usage.PromptTokens)
	}
}

func TestToolParallel(t *testing.T) {
	ts := startTools(t)
	ok := 0
	for seed := range 6 {
		r, raw := toolChat(t, ts.URL, map[string]any{"seed": seed, "tool_choice": "required", "parallel_tool_calls": true, "max_tokens": 400})
		if c := r.Choices[0]; c.FinishReason == "length" {
			// A random model may write whitespace until the token limit:
			// the text comes back as content.
			if c.Message.Content == nil || c.Message.ToolCalls != nil {
				t.Fatalf("a call cut short: %s", raw)
			}
			continue
		}
		ok++
		checkCalls(t, r, raw)
		ids := map[string]bool{}
		for _, c := range r.Choices[0].Message.ToolCalls {
			if ids[c.ID] {
				t.Errorf("call id %q given twice: %s", c.ID, raw)
			}
			ids[c.ID] = true
			// JSON Schema's minLength and maxLength count characters.
			if n := utf8.RuneCountInString(c.ID); n < 4 || n > toolcall.MaxIDLength {
				t.Errorf("parallel call id %q: %d characters, want the model's, 4 to %d", c.ID, n, toolcall.MaxIDLength)
			}
		}
		t.Logf("seed %d: %d calls", seed, len(r.Choices[0].Message.ToolCalls))
	}
	if ok < 2 {
		t.Fatalf("%d of 6 parallel answers complete", ok)
	}
}

// TestToolRoundTrip sends a call and its result back and gets an answer.
func TestToolRoundTrip(t *testing.T) {
	ts := startTools(t)
	user := map[string]any{"role": "user", "content": "What is the weather in Paris?"}
	r, raw := toolChat(t, ts.URL, map[string]any{"seed": 5, "tool_choice": "required", "max_tokens": 300, "messages": []any{user}})
	checkCalls(t, r, raw)
	call := r.Choices[0].Message.ToolCalls[0]
	msgs := []any{user,
		map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": call.ID, "type": "function",
			"function": map[string]any{"name": call.Function.Name, "arguments": call.Function.Arguments}}}},
		map[string]any{"role": "tool", "tool_call_id": call.ID, "content": "18 C, sunny"},
	}
	r2, raw2 := toolChat(t, ts.URL, map[string]any{"seed": 5, "max_tokens": 300, "messages": msgs})
	c := r2.Choices[0]
	if c.Message.ToolCalls == nil && c.Message.Content == nil {
		t.Fatalf("round trip: %s", raw2)
	}
	if r2.Usage.PromptTokens <= r.Usage.PromptTokens {
		t.Errorf("the second turn's prompt (%d tokens) is not longer than the first's (%d)", r2.Usage.PromptTokens, r.Usage.PromptTokens)
	}
	// Several results in a row (joined into one user turn), then a text answer.
	msgs = append(msgs, map[string]any{"role": "assistant", "content": "It is sunny."}, map[string]any{"role": "user", "content": "Thanks"})
	r3, raw3 := toolChat(t, ts.URL, map[string]any{"seed": 5, "max_tokens": 20, "messages": msgs, "tool_choice": "none"})
	if r3.Choices[0].Message.Content == nil {
		t.Fatalf("%s", raw3)
	}
}

// TestToolStream checks the stream's shape: content deltas while the
// answer is a response, a tool_calls delta per call, finish_reason
// tool_calls, usage when asked.
func TestToolStream(t *testing.T) {
	ts := startTools(t)
	for _, tc := range []struct {
		name   string
		choice any
	}{{"required", "required"}, {"auto", "auto"}, {"named", map[string]any{"type": "function", "function": map[string]any{"name": "add"}}}} {
		for seed := range 3 {
			body := map[string]any{"seed": seed, "tool_choice": tc.choice, "max_tokens": 300, "tools": json.RawMessage(testTools),
				"messages": []any{map[string]any{"role": "user", "content": "hi"}}}
			whole, wraw := toolChat(t, ts.URL, body)
			body["stream"] = true
			body["stream_options"] = map[string]any{"include_usage": true}
			code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body)
			if code != 200 {
				t.Fatalf("%s: %d %s", tc.name, code, b)
			}
			evs := events(t, b)
			if evs[len(evs)-1] != "[DONE]" {
				t.Fatalf("no [DONE]: %s", b)
			}
			var content strings.Builder
			var finish string
			type call struct{ id, name, args string }
			var calls []call
			var gotUsage bool
			for _, e := range evs[:len(evs)-1] {
				var ch struct {
					Choices []struct {
						Delta struct {
							Content   *string `json:"content"`
							ToolCalls []struct {
								Index    *int   `json:"index"`
								ID       string `json:"id"`
								Type     string `json:"type"`
								Function struct {
									Name      string `json:"name"`
									Arguments string `json:"arguments"`
								} `json:"function"`
							} `json:"tool_calls"`
						} `json:"delta"`
						FinishReason *string `json:"finish_reason"`
					} `json:"choices"`
					Usage *usage `json:"usage"`
				}
				if err := json.Unmarshal([]byte(e), &ch); err != nil {
					t.Fatalf("%v: %s", err, e)
				}
				if ch.Usage != nil {
					gotUsage = true
				}
				for _, c := range ch.Choices {
					if c.Delta.Content != nil {
						content.WriteString(*c.Delta.Content)
					}
					for _, d := range c.Delta.ToolCalls {
						if d.Index == nil || d.Type != "function" || d.ID == "" {
							t.Fatalf("tool_calls delta without index, type or id: %s", e)
						}
						if *d.Index != len(calls) {
							t.Fatalf("tool_calls delta index %d, want %d", *d.Index, len(calls))
						}
						calls = append(calls, call{d.ID, d.Function.Name, d.Function.Arguments})
					}
					if c.FinishReason != nil {
						finish = *c.FinishReason
					}
				}
			}
			if !gotUsage {
				t.Errorf("%s: no usage chunk", tc.name)
			}
			w := whole.Choices[0]
			if finish != w.FinishReason {
				t.Errorf("%s seed %d: stream finish %q, whole %q", tc.name, seed, finish, w.FinishReason)
			}
			if len(calls) != len(w.Message.ToolCalls) {
				t.Fatalf("%s seed %d: %d streamed calls, whole answer %s", tc.name, seed, len(calls), wraw)
			}
			for i, c := range calls {
				wc := w.Message.ToolCalls[i]
				if c.name != wc.Function.Name || c.args != wc.Function.Arguments {
					t.Errorf("streamed call %v, whole %+v", c, wc)
				}
			}
			if len(calls) > 0 {
				if finish != "tool_calls" {
					t.Errorf("finish %q with calls", finish)
				}
				if content.Len() > 0 {
					t.Errorf("content %q streamed before calls", content.String())
				}
			} else if w.Message.Content == nil || content.String() != *w.Message.Content {
				t.Errorf("%s seed %d: streamed content %q, whole %s", tc.name, seed, content.String(), wraw)
			}
		}
	}
}

func TestToolErrors(t *testing.T) {
	ts := startTools(t)
	user := `{"role":"user","content":"hi"}`
	call := `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"ping","arguments":"{}"}}]}`
	for _, tc := range []struct {
		name, path, body, param string
	}{
		{"tools not an array", "/v1/chat/completions", `{"messages":[` + user + `],"tools":{}}`, "tools"},
		{"tool type", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"code_interpreter"}]}`, "tools"},
		{"tool without name", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"function","function":{}}]}`, "tools"},
		{"tool twice", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}`, "tools"},
		{"parameters not an object", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools"},
		{"bad schema", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}}]}`, "tools"},
		{"unsatisfiable schema", "/v1/chat/completions", `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"integer","minimum":5,"maximum":1}},"required":["a"]}}}],"tool_choice":"required"}`, "tools"},
		{"tool_choice word", "/v1/chat/completions", `{"messages":[` + user + `],"tools":` + testTools + `,"tool_choice":"always"}`, "tool_choice"},
		{"tool_choice unknown function", "/v1/chat/completions", `{"messages":[` + user + `],"tools":` + testTools + `,"tool_choice":{"type":"function","function":{"name":"nope"}}}`, "tool_choice"},
		{"tool_choice required without tools", "/v1/chat/completions", `{"messages":[` + user + `],"tool_choice":"required"}`, "tool_choice"},
		{"parallel_tool_calls type", "/v1/chat/completions", `{"messages":[` + user + `],"parallel_tool_calls":"yes"}`, "parallel_tool_calls"},
		{"tool result first", "/v1/chat/completions", `{"messages":[{"role":"tool","tool_call_id":"x","content":"1"}]}`, "messages[0].role"},
		{"tool result after text", "/v1/chat/completions", `{"messages":[` + user + `,{"role":"assistant","content":"x"},{"role":"tool","tool_call_id":"x","content":"1"}]}`, "messages[2].role"},
		{"tool result of another call", "/v1/chat/completions", `{"messages":[` + user + `,` + call + `,{"role":"tool","tool_call_id":"call_2","content":"1"}]}`, "messages[2].tool_call_id"},
		{"tool_calls on user", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi","tool_calls":[]}]}`, "messages[0].tool_calls"},
		{"tool_calls not an array", "/v1/chat/completions", `{"messages":[` + user + `,{"role":"assistant","tool_calls":{}}]}`, "messages[1].tool_calls"},
		{"tool call field", "/v1/chat/completions", `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"},"extra":1}]}]}`, "messages[1].tool_calls[0].extra"},
		{"tool call arguments", "/v1/chat/completions", `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"tool call without name", "/v1/chat/completions", `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"arguments":"{}"}}]}]}`, "messages[1].tool_calls[0].function"},
		{"tools in completions", "/v1/completions", `{"prompt":"hi","tools":` + testTools + `}`, "tools"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, b := post(t, context.Background(), ts.URL+tc.path, tc.body)
			var e struct {
				Error struct {
					Param any `json:"param"`
				} `json:"error"`
			}
			json.Unmarshal(b, &e)
			if code != 400 || e.Error.Param != tc.param {
				t.Fatalf("got %d param %v: %s; want 400 param %s", code, e.Error.Param, b, tc.param)
			}
		})
	}
}

// TestToolLimits: the tools' prompt counts against the context before
// the request takes a slot.
func TestToolLimits(t *testing.T) {
	_, ts := start(t, Options{CtxSize: 64})
	var tools []string
	for i := range 20 {
		tools = append(tools, `{"type":"function","function":{"name":"f`+strings.Repeat("x", i+1)+`","description":"`+strings.Repeat("long text ", 10)+`"}}`)
	}
	code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions",
		`{"messages":[{"role":"user","content":"hi"}],"tools":[`+strings.Join(tools, ",")+`]}`)
	if code != 413 {
		t.Fatalf("got %d %s, want 413", code, b)
	}
	// tool_choice none puts no tools text in the prompt.
	code, _, b = post(t, context.Background(), ts.URL+"/v1/chat/completions",
		`{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"tool_choice":"none","tools":[`+strings.Join(tools, ",")+`]}`)
	if code != 200 {
		t.Fatalf("tool_choice none: got %d %s, want 200", code, b)
	}
}

// TestToolResponseFormat: with tools, response_format is the schema of a
// response that calls no tool; with tool_choice none it constrains the
// answer as without tools.
func TestToolResponseFormat(t *testing.T) {
	ts := startTools(t)
	schema := `{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"],"additionalProperties":false}`
	rf := json.RawMessage(`{"type":"json_schema","json_schema":{"name":"n","schema":` + schema + `}}`)
	replies := 0
	for seed := range 6 {
		for _, choice := range []string{"auto", "none"} {
			r, raw := toolChat(t, ts.URL, map[string]any{"seed": seed, "tool_choice": choice, "max_tokens": 200, "response_format": rf})
			c := r.Choices[0]
			switch {
			case c.FinishReason == "tool_calls":
				if choice == "none" {
					t.Fatalf("tool_choice none called: %s", raw)
				}
				checkCalls(t, r, raw)
			case c.FinishReason == "stop":
				ok, err := grammar.Valid([]byte(schema), []byte(*c.Message.Content))
				if err != nil || !ok {
					t.Fatalf("tool_choice %s: content %q does not follow response_format (%v): %s", choice, *c.Message.Content, err, raw)
				}
				replies++
			}
		}
	}
	if replies == 0 {
		t.Fatal("no complete response")
	}
	code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", map[string]any{
		"messages": []any{map[string]any{"role": "user", "content": "hi"}}, "tools": json.RawMessage(testTools),
		"response_format": json.RawMessage(`{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}}`)})
	if code != 400 || !strings.Contains(string(b), `"param":"response_format"`) {
		t.Fatalf("bad response_format schema with tools: %d %s", code, b)
	}
}
