package toolcall

import (
	"errors"
	"strings"
	"testing"
)

const weatherTools = `[
 {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["C", "F"]}}, "required": ["city"]}}},
 {"type": "function", "function": {"name": "get_time", "parameters": {"$defs": {"tz": {"type": "string", "maxLength": 6}},
  "type": "object", "properties": {"tz": {"$ref": "#/$defs/tz"}}, "required": ["tz"]}}},
 {"type": "function", "function": {"name": "ping"}}
]`

func mustTools(t *testing.T, s string) []Tool {
	t.Helper()
	tools, err := ParseTools([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return tools
}

func TestParseTools(t *testing.T) {
	tools := mustTools(t, weatherTools)
	if len(tools) != 3 || tools[0].Name != "get_weather" || tools[0].Description != "Weather of a city" || tools[2].Parameters != nil {
		t.Fatalf("got %+v", tools)
	}
	for _, bad := range []string{`{}`, `[{"type":"retrieval"}]`, `[{"type":"function","function":{}}]`,
		`[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]`,
		`[{"type":"function","function":{"name":"a","parameters":[1]}}]`, `[1]`} {
		if _, err := ParseTools([]byte(bad)); !errors.Is(err, ErrRequest) {
			t.Errorf("%s: err %v, want ErrRequest", bad, err)
		}
	}
}

func TestParseChoice(t *testing.T) {
	for in, want := range map[string]Choice{``: {Mode: Auto}, `null`: {Mode: Auto}, `"auto"`: {Mode: Auto}, `"none"`: {Mode: None},
		`"required"`: {Mode: Required}, `{"type":"function","function":{"name":"f"}}`: {Mode: Function, Name: "f"}} {
		got, err := ParseChoice([]byte(in))
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{`"any"`, `1`, `{"type":"function"}`, `{"type":"tool","function":{"name":"f"}}`} {
		if _, err := ParseChoice([]byte(bad)); !errors.Is(err, ErrRequest) {
			t.Errorf("%s: err %v", bad, err)
		}
	}
}

// TestSystemPrompt checks the text against minja's ToolsPolyfill test
// (tools indented by two spaces, then the example call) after the generic
// format's instruction.
func TestSystemPrompt(t *testing.T) {
	tools := mustTools(t, `[{"type": "function", "function": {"name": "special_function", "description": "I'm special",
		"parameters": {"type": "object", "properties": {"arg1": {"type": "integer", "description": "The arg."}}, "required": ["arg1"]}}}]`)
	want := "Respond in JSON format, either with `tool_call` (a request to call tools) or with `response` reply to the user's request\n\n" +
		"You can call any of the following tools to satisfy the user's requests: [\n" +
		"  {\n" +
		"    \"type\": \"function\",\n" +
		"    \"function\": {\n" +
		"      \"name\": \"special_function\",\n" +
		"      \"description\": \"I'm special\",\n" +
		"      \"parameters\": {\n" +
		"        \"type\": \"object\",\n" +
		"        \"properties\": {\n" +
		"          \"arg1\": {\n" +
		"            \"type\": \"integer\",\n" +
		"            \"description\": \"The arg.\"\n" +
		"          }\n" +
		"        },\n" +
		"        \"required\": [\n" +
		"          \"arg1\"\n" +
		"        ]\n" +
		"      }\n" +
		"    }\n" +
		"  }\n" +
		"]\n" +
		"\n" +
		"Example tool call syntax:\n" +
		"\n" +
		"{\n" +
		"  \"tool_calls\": [\n" +
		"    {\n" +
		"      \"name\": \"tool_name\",\n" +
		"      \"arguments\": {\n" +
		"        \"arg1\": \"some_value\"\n" +
		"      },\n" +
		"      \"id\": \"call_1___\"\n" +
		"    }\n" +
		"  ]\n" +
		"}\n\n"
	if got := SystemPrompt(tools); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A tool built by hand renders as an OpenAI entry.
	got := SystemPrompt([]Tool{{Name: "f", Description: "d\"", Parameters: []byte(`{"type":"object"}`)}})
	if !strings.Contains(got, "\"name\": \"f\",\n      \"description\": \"d\\\"\",\n      \"parameters\": {\n        \"type\": \"object\"") {
		t.Errorf("hand-built tool: %s", got)
	}
}

func TestRender(t *testing.T) {
	p, err := Prepare(mustTools(t, weatherTools), Options{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := p.Render([]Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Weather in Paris and the time?"},
		{Role: "assistant", ToolCalls: []Call{{ID: "123456789", Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "get_time", Arguments: `not json`}}},
		{Role: "tool", Name: "get_weather", ToolCallID: "123456789", Content: "18°C"},
		{Role: "tool", Content: "12:00"},
		{Role: "assistant", Content: "18°C at noon."},
	})
	if len(msgs) != 5 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	if msgs[0].Role != "system" || msgs[0].Content != "Be brief.\n\n"+p.System {
		t.Errorf("system: %q", msgs[0].Content)
	}
	wantCall := "{\n  \"tool_calls\": [\n    {\n      \"name\": \"get_weather\",\n      \"arguments\": {\n        \"city\": \"Paris\"\n      },\n      \"id\": \"123456789\"\n    },\n" +
		"    {\n      \"name\": \"get_time\",\n      \"arguments\": \"not json\"\n    }\n  ]\n}"
	if msgs[2].Role != "assistant" || msgs[2].Content != wantCall {
		t.Errorf("call:\n%s\nwant\n%s", msgs[2].Content, wantCall)
	}
	wantResults := "{\n  \"tool_response\": {\n    \"tool\": \"get_weather\",\n    \"content\": \"18°C\",\n    \"tool_call_id\": \"123456789\"\n  }\n}\n\n" +
		"{\n  \"tool_response\": {\n    \"content\": \"12:00\"\n  }\n}"
	if msgs[3].Role != "user" || msgs[3].Content != wantResults {
		t.Errorf("results:\n%s\nwant\n%s", msgs[3].Content, wantResults)
	}
	// No system message: one is added; an inactive plan adds nothing.
	if m := p.Render([]Message{{Role: "user", Content: "hi"}}); len(m) != 2 || m[0].Content != p.System {
		t.Errorf("%+v", m)
	}
	q, _ := Prepare(nil, Options{})
	if m := q.Render([]Message{{Role: "user", Content: "hi"}}); len(m) != 1 || q.Active() {
		t.Errorf("inactive: %+v", m)
	}
}

// accepts reports whether the plan's grammar accepts s completely.
func accepts(p *Plan, s string) bool {
	m := p.Grammar.Matcher()
	return m.Accept([]byte(s)) && m.Done()
}

func TestGrammar(t *testing.T) {
	tools := mustTools(t, weatherTools)
	for _, tc := range []struct {
		name     string
		opt      Options
		ok, fail []string
	}{
		{"auto", Options{},
			[]string{`{"tool_call": {"name": "get_weather", "arguments": {"city": "Paris"}}}`, `{"tool_call":{"name":"get_time","arguments":{"tz":"UTC"}}}`,
				`{"tool_call": {"name": "ping", "arguments": {}}}`, `{"response": "Hello"}`, `{"tool_call": {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "F"}}}`},
			[]string{`{"tool_call": {"name": "get_wether", "arguments": {"city": "Paris"}}}`, `{"tool_call": {"name": "get_weather", "arguments": {}}}`,
				`{"tool_call": {"name": "get_time", "arguments": {"tz": "Europe/Paris"}}}`, `{"tool_call": {"name": "ping", "arguments": {"x": 1}}}`,
				`{"response": 1}`, `{"tool_calls": [{"name": "ping", "arguments": {}}]}`, `Hello`}},
		{"required", Options{Choice: Choice{Mode: Required}},
			[]string{`{"tool_call": {"name": "ping", "arguments": {}}}`}, []string{`{"response": "Hello"}`}},
		{"function", Options{Choice: Choice{Mode: Function, Name: "get_time"}},
			[]string{`{"tool_call": {"name": "get_time", "arguments": {"tz": "CET"}}}`}, []string{`{"tool_call": {"name": "ping", "arguments": {}}}`, `{"response": ""}`}},
		{"parallel", Options{Parallel: true},
			[]string{`{"tool_calls": [{"name": "ping", "arguments": {}, "id": "call1"}, {"name": "get_time", "arguments": {"tz": "Z"}, "id": "abcd"}]}`, `{"response": "x"}`},
			[]string{`{"tool_calls": []}`, `{"tool_calls": [{"name": "ping", "arguments": {}}]}`, `{"tool_calls": [{"name": "ping", "arguments": {}, "id": "abc"}]}`, `{"tool_call": {"name": "ping", "arguments": {}}}`}},
		{"response schema", Options{Response: []byte(`{"$defs":{"n":{"type":"integer"}},"type":"object","properties":{"n":{"$ref":"#/$defs/n"}},"required":["n"]}`)},
			[]string{`{"response": {"n": 3}}`, `{"tool_call": {"name": "ping", "arguments": {}}}`}, []string{`{"response": "x"}`, `{"response": {"n": "x"}}`}},
	} {
		p, err := Prepare(tools, tc.opt)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range tc.ok {
			if !accepts(p, s) {
				t.Errorf("%s: %s refused", tc.name, s)
			}
		}
		for _, s := range tc.fail {
			if accepts(p, s) {
				t.Errorf("%s: %s accepted", tc.name, s)
			}
		}
	}
	for _, tc := range []struct {
		tools []Tool
		opt   Options
	}{
		{nil, Options{Choice: Choice{Mode: Required}}},
		{tools, Options{Choice: Choice{Mode: Function, Name: "nope"}}},
		{tools, Options{Choice: Choice{Mode: "sometimes"}}},
	} {
		if _, err := Prepare(tc.tools, tc.opt); !errors.Is(err, ErrRequest) {
			t.Errorf("%+v: err %v, want ErrRequest", tc.opt, err)
		}
	}
	bad := mustTools(t, `[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"not":{}}}}}}]`)
	if _, err := Prepare(bad, Options{}); err == nil || !strings.Contains(err.Error(), "not") {
		t.Errorf("unsupported parameters: %v", err)
	}
	if p, err := Prepare(tools, Options{Choice: Choice{Mode: None}}); err != nil || p.Active() || p.System != "" {
		t.Errorf("none: %+v, %v", p, err)
	}
}

func TestParse(t *testing.T) {
	p, _ := Prepare(mustTools(t, weatherTools), Options{Parallel: true})
	for _, tc := range []struct {
		text string
		want Reply
	}{
		{`{"tool_call": {"name": "get_weather", "arguments": {"unit": "C", "city": "Paris"}}}`, Reply{Calls: []Call{{Name: "get_weather", Arguments: `{"unit":"C","city":"Paris"}`}}}},
		{"{\"tool_calls\": [\n {\"name\": \"ping\", \"arguments\": {}, \"id\": \"c123\"},\n {\"name\": \"get_time\", \"arguments\": {\"tz\": \"é\"}, \"id\": \"c124\"}]}",
			Reply{Calls: []Call{{ID: "c123", Name: "ping", Arguments: `{}`}, {ID: "c124", Name: "get_time", Arguments: `{"tz":"é"}`}}}},
		{`{"response": "Hi \"there\"\n"}`, Reply{Content: "Hi \"there\"\n"}},
		{`{"response": {"n": [1, 2]}}`, Reply{Content: "{\n  \"n\": [\n    1,\n    2\n  ]\n}"}},
	} {
		got, err := p.Parse(tc.text)
		if err != nil || !equalReply(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.text, got, err, tc.want)
		}
	}
	for _, bad := range []string{`{"tool_call": {"name": "ping", "argu`, `{"other": 1}`, `{"tool_call": {"arguments": {}}}`, `{"tool_calls": []}`, `Hello`} {
		got, err := p.Parse(bad)
		if !errors.Is(err, ErrOutput) || got.Content != bad {
			t.Errorf("%s: %+v, %v", bad, got, err)
		}
	}
	q, _ := Prepare(nil, Options{})
	if got, err := q.Parse(`{"tool_call": 1}`); err != nil || got.Content != `{"tool_call": 1}` {
		t.Errorf("inactive: %+v %v", got, err)
	}
}

func equalReply(a, b Reply) bool {
	if a.Content != b.Content || len(a.Calls) != len(b.Calls) {
		return false
	}
	for i := range a.Calls {
		if a.Calls[i] != b.Calls[i] {
			return false
		}
	}
	return true
}

// TestPeek streams answers byte by byte: the content is always a prefix
// of the parsed content, and a tool call is recognized.
func TestPeek(t *testing.T) {
	p, _ := Prepare(mustTools(t, weatherTools), Options{})
	resp := "{ \"response\": \"héllo \\\"wörld\\\"\\n\\u00e9✓ done\" }"
	final, err := p.Parse(resp)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(resp) + 1 {
		c, calls := p.Peek(resp[:i])
		if calls || !strings.HasPrefix(final.Content, c) {
			t.Fatalf("after %q: %q, calls %v (final %q)", resp[:i], c, calls, final.Content)
		}
	}
	if c, _ := p.Peek(resp); c != final.Content {
		t.Errorf("whole: %q, want %q", c, final.Content)
	}
	call := `{"tool_call": {"name": "ping", "arguments": {}}}`
	for i, want := range map[int]bool{0: false, 2: false, 3: true, 7: true, len(call): true} {
		if _, calls := p.Peek(call[:i]); calls != want {
			t.Errorf("%q: calls %v, want %v", call[:i], calls, want)
		}
	}
	q, _ := Prepare(nil, Options{})
	if c, calls := q.Peek("plain"); c != "plain" || calls {
		t.Error("inactive")
	}
}
