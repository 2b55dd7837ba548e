package serve

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	_, ts := start(t, Options{CtxSize: 64, MaxBodyBytes: 1 << 20})
	long := strings.Repeat("word ", 200) // far past 64 tokens
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("a", 10<<20) + `"}]}`
	tests := []struct {
		name, path, body string
		status           int
		code, param      string // want error.code / error.param ("" : null)
	}{
		{"malformed JSON", "/v1/chat/completions", `{"messages":[`, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1,2]`, 400, "", ""},
		{"empty body", "/v1/chat/completions", ``, 400, "", ""},
		{"trailing data", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]} {}`, 400, "", ""},
		{"wrong type max_tokens", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, 400, "", "max_tokens"},
		{"wrong type messages", "/v1/chat/completions", `{"messages":"hi"}`, 400, "", "messages"},
		{"wrong type content", "/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, 400, "", "messages"},
		{"wrong type message", "/v1/chat/completions", `{"messages":[5]}`, 400, "", "messages"},
		{"negative max_tokens", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}`, 400, "", "max_tokens"},
		{"zero max_tokens", "/v1/completions", `{"prompt":"hi","max_tokens":0}`, 400, "", "max_tokens"},
		{"temperature", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"temperature":2.5}`, 400, "", "temperature"},
		{"top_p", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"top_p":1.5}`, 400, "", "top_p"},
		{"n", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"n":2}`, 400, "", "n"},
		{"five stops", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}`, 400, "", "stop"},
		{"stop type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stop":5}`, 400, "", "stop"},
		{"no messages", "/v1/chat/completions", `{"messages":[]}`, 400, "", "messages"},
		{"bad role", "/v1/chat/completions", `{"messages":[{"role":"tool","content":"x"}]}`, 400, "", "messages[0].role"},
		{"roles out of order", "/v1/chat/completions", `{"messages":[{"role":"assistant","content":"x"}]}`, 400, "", "messages"},
		{"image part", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "", "messages"},
		{"stream_options alone", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, 400, "", "stream_options"},
		{"no prompt", "/v1/completions", `{"model":"tiny"}`, 400, "", "prompt"},
		{"two prompts", "/v1/completions", `{"prompt":["a","b"]}`, 400, "", "prompt"},
		{"token out of vocab", "/v1/completions", `{"prompt":[1,2,999999]}`, 400, "", "prompt"},
		{"echo", "/v1/completions", `{"prompt":"a","echo":true}`, 400, "", "echo"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}`, 404, "model_not_found", "model"},
		{"unknown path", "/v1/nothing", `{}`, 404, "not_found", ""},
		{"embeddings empty input", "/v1/embeddings", `{"input":""}`, 400, "", "input"},
		{"unknown field", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low"}`, 400, "", "reasoning_effort"},
		{"unknown completion field", "/v1/completions", `{"prompt":"hi","top_logprobs":2}`, 400, "", "top_logprobs"},
		{"field in the wrong case", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"Max_Tokens":3}`, 400, "", "Max_Tokens"},
		{"unknown message field", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi","tool_calls":[]}]}`, 400, "", "messages[0].tool_calls"},
		{"unknown part field", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"text","text":"a","x":1}]}]}`, 400, "", "messages.x"},
		{"wrong type role", "/v1/chat/completions", `{"messages":[{"role":5,"content":"hi"}]}`, 400, "", "messages[0].role"},
		{"unknown stream option", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"x":1}}`, 400, "", "stream_options.x"},
		{"tool role", "/v1/chat/completions", `{"messages":[{"role":"tool","content":"x"}]}`, 400, "", "messages[0].role"},
		{"n=3", "/v1/completions", `{"prompt":"hi","n":3}`, 400, "", "n"},
		{"presence_penalty", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"presence_penalty":2.5}`, 400, "", "presence_penalty"},
		{"frequency_penalty", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"frequency_penalty":-3}`, 400, "", "frequency_penalty"},
		{"logit_bias key", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"a":1}}`, 400, "", "logit_bias"},
		{"logit_bias value", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"5":101}}`, 400, "", "logit_bias"},
		{"logit_bias type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"5":"x"}}`, 400, "", "logit_bias"},
		{"logit_bias outside vocab", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"99999999":1}}`, 400, "", "logit_bias"},
		{"top_logprobs alone", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}`, 400, "", "top_logprobs"},
		{"top_logprobs 21", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}`, 400, "", "top_logprobs"},
		{"chat logprobs int", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"logprobs":2}`, 400, "", "logprobs"},
		{"completion logprobs 21", "/v1/completions", `{"prompt":"hi","logprobs":21}`, 400, "", "logprobs"},
		{"bad schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":5}}}}`, 400, "", "response_format"},
		{"unsupported schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"array","uniqueItems":true}}}}`, 400, "", "response_format"},
		{"no schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, 400, "", "response_format.json_schema.schema"},
		{"no json_schema", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}`, 400, "", "response_format.json_schema"},
		{"unknown json_schema field", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{},"format":"y"}}}`, 400, "", "response_format.json_schema.format"},
		{"json_object with json_schema", "/v1/completions", `{"prompt":"hi","response_format":{"type":"json_object","json_schema":{}}}`, 400, "", "response_format"},
		{"unknown response_format field", "/v1/completions", `{"prompt":"hi","response_format":{"type":"text","x":1}}`, 400, "", "response_format.x"},
		{"response_format type", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`, 400, "", "response_format"},
		{"tools", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"retrieval"}]}`, 400, "", "tools"},
		{"tool_choice", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, 400, "", "tool_choice"},
		{"parse_special with ids", "/v1/completions", `{"prompt":[1,2],"parse_special":false}`, 400, "", "parse_special"},
		{"parse_special on chat", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"parse_special":false}`, 400, "", "parse_special"},
		{"10 MB body", "/v1/chat/completions", big, 413, "request_too_large", ""},
		{"prompt past context", "/v1/chat/completions", `{"messages":[{"role":"user","content":"` + long + `"}]}`, 413, "context_length_exceeded", "messages"},
		{"completion past context", "/v1/completions", `{"prompt":"` + long + `"}`, 413, "context_length_exceeded", "prompt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, b := post(t, context.Background(), ts.URL+tc.path, tc.body)
			var out struct {
				Error *struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Param   any    `json:"param"`
					Code    any    `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &out); err != nil || out.Error == nil {
				t.Fatalf("got %d %q, want an OpenAI error object", code, b)
			}
			e := out.Error
			wantCode, wantParam := any(nil), any(nil)
			if tc.code != "" {
				wantCode = tc.code
			}
			if tc.param != "" {
				wantParam = tc.param
			}
			if code != tc.status || e.Code != wantCode || e.Param != wantParam || e.Message == "" || e.Type == "" {
				t.Errorf("got %d code %v param %v (%s), want %d code %v param %v", code, e.Code, e.Param, e.Message, tc.status, wantCode, wantParam)
			}
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", h.Get("Content-Type"))
			}
		})
	}
	// The server is still fine.
	code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}`)
	if code != 200 {
		t.Errorf("after the bad requests: got %d %s, want 200", code, b)
	}
}
