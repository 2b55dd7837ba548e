package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Call is a tool call (OpenAI's tool_calls[].function, with its id).
type Call struct {
	// ID is the call's id: the model's with parallel calls, else "" (the
	// server assigns one, as llama-server does).
	ID   string
	Name string
	// Arguments is the arguments object as compact JSON text (OpenAI's
	// function.arguments string), members in the model's order.
	Arguments string
}

// Reply is what an answer says: tool calls, or content.
type Reply struct {
	Calls   []Call
	Content string
}

// Parse reads an answer generated under the plan. An inactive plan's
// answer is all content. An active plan's is the generic format's JSON:
// "tool_calls" or "tool_call" give Calls, "response" gives Content (a
// string's value, any other JSON indented by two spaces, as llama.cpp
// does). Output that is not such JSON — a generation cut short by its
// token limit — is an error wrapping ErrOutput, with the text returned as
// Content.
func (p *Plan) Parse(text string) (Reply, error) {
	if !p.Active() {
		return Reply{Content: text}, nil
	}
	fail := func(why string) (Reply, error) {
		return Reply{Content: text}, fmt.Errorf("toolcall: %s: %w", why, ErrOutput)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		return fail("the answer is not a JSON object")
	}
	call := func(raw json.RawMessage) (Call, error) {
		var c struct {
			Name      *string         `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
			ID        string          `json:"id"`
		}
		if json.Unmarshal(raw, &c) != nil || c.Name == nil || len(c.Arguments) == 0 {
			return Call{}, fmt.Errorf("toolcall: a tool call without a name or arguments: %w", ErrOutput)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, c.Arguments); err != nil {
			return Call{}, fmt.Errorf("toolcall: arguments: %v: %w", err, ErrOutput)
		}
		return Call{ID: c.ID, Name: *c.Name, Arguments: b.String()}, nil
	}
	if raw, ok := top["tool_calls"]; ok {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
			return fail("tool_calls is not a list of calls")
		}
		var r Reply
		for _, e := range list {
			c, err := call(e)
			if err != nil {
				return Reply{Content: text}, err
			}
			r.Calls = append(r.Calls, c)
		}
		return r, nil
	}
	if raw, ok := top["tool_call"]; ok {
		c, err := call(raw)
		if err != nil {
			return Reply{Content: text}, err
		}
		return Reply{Calls: []Call{c}}, nil
	}
	if raw, ok := top["response"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return Reply{Content: s}, nil
		}
		return Reply{Content: pretty(raw)}, nil
	}
	return fail(`the answer has no "tool_call", "tool_calls" or "response"`)
}

// Peek reads a partial answer while it is generated, for streaming: calls
// reports that it is becoming tool calls (stream them once Parse has the
// whole answer); otherwise content is the text of a string response so
// far (a prefix of what Parse will return; "" while undecided, and for a
// response that is not a string). An inactive plan's partial answer is
// all content.
func (p *Plan) Peek(partial string) (content string, calls bool) {
	if !p.Active() {
		return partial, false
	}
	s := partial
	ws := func() { s = strings.TrimLeft(s, " \t\n\r") }
	ws()
	if s == "" || s[0] != '{' {
		return "", false
	}
	s = s[1:]
	ws()
	if s == "" {
		return "", false
	}
	if s[0] != '"' {
		return "", false
	}
	s = s[1:]
	const key = `response"`
	if len(s) < len(key) {
		if !strings.HasPrefix(key, s) {
			return "", true
		}
		return "", false
	}
	if s[:len(key)] != key {
		return "", true
	}
	s = s[len(key):]
	ws()
	if s == "" || s[0] != ':' {
		return "", false
	}
	s = s[1:]
	ws()
	if s == "" || s[0] != '"' {
		return "", false
	}
	s = s[1:]
	// Decode the string so far, up to an unfinished escape or character.
	var b strings.Builder
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '"':
			return b.String(), false
		case c == '\\':
			n := 2
			if len(s) > 1 && s[1] == 'u' {
				n = 6
			}
			if len(s) < n {
				return b.String(), false
			}
			var v string
			if json.Unmarshal([]byte(`"`+s[:n]+`"`), &v) != nil {
				return b.String(), false
			}
			b.WriteString(v)
			s = s[n:]
		default:
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n <= 1 {
				return b.String(), false // a character split across tokens
			}
			b.WriteString(s[:n])
			s = s[n:]
		}
	}
	return b.String(), false
}
