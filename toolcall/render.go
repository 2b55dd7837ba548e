package toolcall

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// respondInJSON is the system text llama.cpp's generic format adds.
const respondInJSON = "Respond in JSON format, either with `tool_call` (a request to call tools) or with `response` reply to the user's request"

// example is minja's tool call example for a template that cannot render
// tool calls: a call written as its polyfill writes past calls.
const example = `{
  "tool_calls": [
    {
      "name": "tool_name",
      "arguments": {
        "arg1": "some_value"
      },
      "id": "call_1___"
    }
  ]
}`

// SystemPrompt returns the text llama-server adds to the system prompt
// when it offers tools to a model whose template has no tool support:
// the generic format's instruction, then minja's tools polyfill — the
// tools as the request gave them, indented by two spaces, and an example
// call.
func SystemPrompt(tools []Tool) string {
	var list bytes.Buffer
	list.WriteByte('[')
	for i, t := range tools {
		if i > 0 {
			list.WriteByte(',')
		}
		raw := t.raw
		if len(raw) == 0 {
			raw = t.entry()
		}
		list.Write(raw)
	}
	list.WriteByte(']')
	return respondInJSON + "\n\nYou can call any of the following tools to satisfy the user's requests: " +
		pretty(list.Bytes()) + "\n\nExample tool call syntax:\n\n" + example + "\n\n"
}

// entry returns t as an entry of OpenAI's tools array.
func (t Tool) entry() []byte {
	b := []byte(`{"type":"function","function":{"name":`)
	b = quote(b, t.Name)
	if t.Description != "" {
		b = quote(append(b, `,"description":`...), t.Description)
	}
	if p := bytes.TrimSpace(t.Parameters); len(p) > 0 {
		b = append(append(b, `,"parameters":`...), p...)
	}
	return append(b, "}}"...)
}

// Message is a chat message with OpenAI's tool fields.
type Message struct {
	Role       string // "system", "user", "assistant" or "tool"
	Content    string
	ToolCalls  []Call // an assistant's calls
	ToolCallID string // a tool result's call
	Name       string // a tool result's function
}

// Render returns msgs as plain turns for a chat template without tool
// support, as minja's polyfills write them for llama-server: p.System is
// added to the system message (after its text and a blank line, or as a
// new first message); an assistant message with tool calls becomes the
// JSON {"tool_calls": [{"name", "arguments", "id"}], "content"}; a tool
// result becomes a user message {"tool_response": {"tool",
// "content", "tool_call_id"}} (both indented by two spaces). Consecutive
// messages of one role, which Gemma's template refuses (several tool
// results in a row), are joined by a blank line. The result has only Role
// and Content set.
func (p *Plan) Render(msgs []Message) []Message {
	out := make([]Message, 0, len(msgs)+1)
	if p.System != "" {
		if len(msgs) > 0 && msgs[0].Role == "system" {
			out = append(out, Message{Role: "system", Content: msgs[0].Content + "\n\n" + p.System})
			msgs = msgs[1:]
		} else {
			out = append(out, Message{Role: "system", Content: p.System})
		}
	}
	for _, m := range msgs {
		r := Message{Role: m.Role, Content: m.Content}
		switch {
		case len(m.ToolCalls) > 0:
			b := []byte(`{"tool_calls":[`)
			for i, c := range m.ToolCalls {
				if i > 0 {
					b = append(b, ',')
				}
				b = quote(append(b, `{"name":`...), c.Name)
				b = append(b, `,"arguments":`...)
				if json.Valid([]byte(c.Arguments)) {
					b = append(b, c.Arguments...)
				} else {
					b = quote(b, c.Arguments)
				}
				if c.ID != "" {
					b = quote(append(b, `,"id":`...), c.ID)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
			if m.Content != "" {
				b = quote(append(b, `,"content":`...), m.Content)
			}
			r.Content = pretty(append(b, '}'))
		case m.Role == "tool":
			b := []byte(`{"tool_response":{`)
			if m.Name != "" {
				b = append(quote(append(b, `"tool":`...), m.Name), ',')
			}
			b = quote(append(b, `"content":`...), m.Content)
			if m.ToolCallID != "" {
				b = quote(append(b, `,"tool_call_id":`...), m.ToolCallID)
			}
			r.Role, r.Content = "user", pretty(append(b, "}}"...))
		}
		if n := len(out); n > 0 && out[n-1].Role == r.Role {
			out[n-1].Content += "\n\n" + r.Content
			continue
		}
		out = append(out, r)
	}
	return out
}

// pretty returns the JSON text data as nlohmann's dump(2) writes it:
// indented by two spaces, strings re-escaped (quotes, backslashes and
// control characters only), member order kept. Invalid JSON is returned
// as is.
func pretty(data []byte) string {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var out []byte
	type frame struct {
		obj bool
		n   int
	}
	var st []frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return string(data)
		}
		if dl, ok := tok.(json.Delim); !ok || dl == '{' || dl == '[' {
			if n := len(st); n > 0 {
				f := &st[n-1]
				switch {
				case f.obj && f.n%2 == 1:
					out = append(out, ':')
				case f.n > 0:
					out = append(out, ',')
				}
				f.n++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, byte(v))
			if v == '{' || v == '[' {
				st = append(st, frame{obj: v == '{'})
			} else {
				st = st[:len(st)-1]
			}
		case string:
			out = quote(out, v)
		case json.Number:
			out = append(out, v...)
		case bool:
			if v {
				out = append(out, "true"...)
			} else {
				out = append(out, "false"...)
			}
		case nil:
			out = append(out, "null"...)
		}
	}
	var b bytes.Buffer
	if json.Indent(&b, out, "", "  ") != nil {
		return string(data)
	}
	return b.String()
}

// quote appends s as a JSON string, escaping as nlohmann's dump does:
// quotes, backslashes and control characters; UTF-8 as is.
func quote(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			if e := strings.IndexByte("\b\f\n\r\t", c); e >= 0 {
				b = append(b, '\\', "bfnrt"[e])
			} else {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
