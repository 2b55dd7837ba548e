package toolcall

import (
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/grammar"
)

// FuzzParse reads fuzzed answers and tool lists: no panic, and for an
// answer that parses as a string response, Peek's content of every prefix
// is a prefix of it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"tool_call": {"name": "f", "arguments": {"a": [1]}}}`, `{"tool_calls": [{"name": "f", "arguments": {}, "id": "abcd"}]}`,
		`{"response": "h\u00e9\"llo\n"}`, `{"response": {"x": 1}}`, `{"response": "\xC3\xA9`, `{"tool_call": 1}`} {
		f.Add(s, `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`)
	}
	f.Fuzz(func(t *testing.T, text, tools string) {
		list, err := ParseTools([]byte(tools))
		if err == nil {
			SystemPrompt(list)
			Prepare(list, Options{})
		}
		p := &Plan{Grammar: grammar.JSONObject()} // active
		r, err := p.Parse(text)
		if err != nil || len(r.Calls) > 0 || strings.Count(text, `"response"`) != 1 {
			return
		}
		for i := range len(text) + 1 {
			if c, calls := p.Peek(text[:i]); !calls && !strings.HasPrefix(r.Content, c) {
				t.Fatalf("%q: Peek(%q) = %q, not a prefix of %q", text, text[:i], c, r.Content)
			}
		}
	})
}
