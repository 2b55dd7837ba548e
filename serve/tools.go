package serve

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/tokenizer"
	"github.com/zerfoo/zerfoo/toolcall"
)

// Tool calls (/v1/chat/completions tools, tool_choice, parallel_tool_calls),
// as llama-server offers them to a model without tool tokens: package
// toolcall renders the tools into the system prompt and past calls and
// results as text, its grammar constrains the answer to a call of one of
// the tools (arguments following the tool's schema) or a response, and
// the answer is read back into message.tool_calls or content.

// toolCallFields are the fields of an assistant message's tool_calls entry.
var (
	toolCallFields = []string{"id", "type", "function"}
	functionFields = []string{"name", "arguments"}
)

// toolFields reads tools, tool_choice and parallel_tool_calls into r.
func (p *params) toolFields(r *request) *apiError {
	if t := bytes.TrimSpace(p.Tools); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		tools, err := toolcall.ParseTools(t)
		if err != nil {
			return badRequest("tools", "%v", err)
		}
		r.tools = tools
		var c bytes.Buffer
		if json.Compact(&c, t) == nil {
			r.toolsLen = c.Len()
		}
	}
	choice, err := toolcall.ParseChoice(p.ToolChoice)
	if err != nil {
		return badRequest("tool_choice", "%v", err)
	}
	r.choice = choice
	if choice.Mode == toolcall.None {
		r.toolsLen = 0 // no tools text in the prompt
	}
	switch choice.Mode {
	case toolcall.Required, toolcall.Function:
		if len(r.tools) == 0 {
			return badRequest("tool_choice", "tool_choice %s needs tools", choice.Mode)
		}
	}
	if choice.Mode == toolcall.Function && !hasTool(r.tools, choice.Name) {
		return badRequest("tool_choice", "tool_choice names function %q, which is not among the tools", choice.Name)
	}
	if p.ParallelToolCalls != nil {
		r.parallel = *p.ParallelToolCalls
	}
	return nil
}

func hasTool(tools []toolcall.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// noTools refuses tools in a text completion.
func (r *request) noTools() *apiError {
	if len(r.tools) > 0 {
		return badRequest("tools", "tools apply to /v1/chat/completions only")
	}
	return nil
}

// toolMessage reads a chat message with its tool fields: an assistant's
// tool_calls, a tool result's tool_call_id.
func toolMessage(where, role string, m message) (toolcall.Message, *apiError) {
	tm := toolcall.Message{Role: role, Content: string(m.Content)}
	if role == "tool" {
		tm.ToolCallID, tm.Name = m.ToolCallID, m.Name
	} else if m.ToolCallID != "" {
		return tm, badRequest(where+".tool_call_id", "%s: tool_call_id belongs to a message of role \"tool\"", where)
	}
	tc := bytes.TrimSpace(m.ToolCalls)
	if len(tc) == 0 || bytes.Equal(tc, []byte("null")) {
		return tm, nil
	}
	if role != "assistant" {
		return tm, badRequest(where+".tool_calls", "%s: tool_calls belong to a message of role \"assistant\"", where)
	}
	var calls []json.RawMessage
	if json.Unmarshal(tc, &calls) != nil {
		return tm, badRequest(where+".tool_calls", "%s.tool_calls must be an array", where)
	}
	for i, raw := range calls {
		at := fmt.Sprintf("%s.tool_calls[%d]", where, i)
		if e := knownFields(raw, at, toolCallFields); e != nil {
			return tm, e
		}
		var c struct {
			ID       string          `json:"id"`
			Type     string          `json:"type"`
			Function json.RawMessage `json:"function"`
		}
		if json.Unmarshal(raw, &c) != nil {
			return tm, badRequest(at, "%s must be {\"id\", \"type\": \"function\", \"function\": {\"name\", \"arguments\"}}", at)
		}
		if c.Type != "" && c.Type != "function" {
			return tm, badRequest(at+".type", "%s.type must be \"function\", got %q", at, c.Type)
		}
		if e := knownFields(c.Function, at+".function", functionFields); e != nil {
			return tm, e
		}
		var f struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		}
		if json.Unmarshal(c.Function, &f) != nil || f.Name == "" {
			return tm, badRequest(at+".function", "%s.function must be {\"name\": string, \"arguments\": string}", at)
		}
		args := bytes.TrimSpace([]byte(f.Arguments))
		if len(args) == 0 {
			args = []byte("{}")
		}
		var cb bytes.Buffer
		if json.Compact(&cb, args) != nil {
			return tm, badRequest(at+".function.arguments", "%s.function.arguments must be a JSON text", at)
		}
		tm.ToolCalls = append(tm.ToolCalls, toolcall.Call{ID: c.ID, Name: f.Name, Arguments: cb.String()})
	}
	return tm, nil
}

// render sets r.messages to the conversation as plain turns under plan
// (nil: without the tools' system text).
func (r *request) render(plan *toolcall.Plan) {
	if plan == nil {
		plan = &toolcall.Plan{}
	}
	msgs := plan.Render(r.toolMsgs)
	r.messages = make([]tokenizer.Message, len(msgs))
	for i, m := range msgs {
		r.messages[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
}

// prepareTools compiles the tools' grammar (with response_format as the
// schema of a response that calls no tool) and renders the conversation
// with the tools in the system prompt; it runs inside the slot.
func (r *request) prepareTools() *apiError {
	resp := json.RawMessage(r.schema)
	if r.schema != nil && r.choice.Mode != toolcall.Required && r.choice.Mode != toolcall.Function {
		// The response's schema alone first, so that its error names
		// response_format (and tool_choice none uses its grammar).
		if e := r.compileSchema(); e != nil {
			return e
		}
	}
	if r.jsonAnswer {
		resp = json.RawMessage(`{"type":"object"}`)
	}
	plan, err := toolcall.Prepare(r.tools, toolcall.Options{Choice: r.choice, Parallel: r.parallel, Response: resp})
	if err != nil {
		if errors.Is(err, toolcall.ErrRequest) {
			return badRequest("tool_choice", "%v", err)
		}
		return badRequest("tools", "%v", err)
	}
	r.plan = plan
	r.render(plan)
	if plan.Active() {
		r.grammar = plan.Grammar
		return nil
	}
	// tool_choice none: response_format applies as without tools (its
	// grammar, compiled above, or json_object's, set by format).
	r.plan = nil
	return nil
}

// Response bodies.

// toolCall is an entry of message.tool_calls, or with Index of
// delta.tool_calls.
type toolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// MarshalJSON writes content null beside tool calls, as OpenAI does.
func (m chatMessage) MarshalJSON() ([]byte, error) {
	type plain chatMessage
	if len(m.ToolCalls) == 0 {
		return json.Marshal(plain(m))
	}
	return json.Marshal(struct {
		Role      string     `json:"role,omitempty"`
		Content   *string    `json:"content"`
		ToolCalls []toolCall `json:"tool_calls"`
	}{m.Role, nil, m.ToolCalls})
}

// tooling reports whether the answer is read back as tool calls.
func (g *generation) tooling() bool {
	return g.chat && g.req.plan != nil && g.req.plan.Active()
}

// toolText takes a piece of an answer under a tool plan: kept whole, and
// when streaming, the text of a response is sent as it is known (Peek)
// while the answer is not becoming tool calls.
func (g *generation) toolText(text string) error {
	g.sent += len(text)
	g.text = append(g.text, text...)
	if !g.req.stream {
		return nil
	}
	content, calls := g.req.plan.Peek(string(g.text))
	if calls || len(content) <= g.req.shown {
		return nil
	}
	return g.toolContent(content[g.req.shown:], false)
}

// toolContent streams a content delta.
func (g *generation) toolContent(delta string, last bool) error {
	g.req.shown += len(delta)
	var entries []logEntry
	if g.log != nil {
		entries = g.log.take(g.sent, last)
	}
	return g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: g.s.opt.ModelName,
		Choices: []chatChoice{{Delta: &chatDelta{Content: &delta}, Logprobs: chatFormat(entries)}}})
}

// toolFinish ends an answer under a tool plan: tool calls (finish_reason
// "tool_calls") or content. An answer cut short before it parses (its
// token limit) is returned as its text.
func (g *generation) toolFinish(reason string, u usage) {
	reply, err := g.req.plan.Parse(string(g.text))
	var calls []toolCall
	if err == nil && len(reply.Calls) > 0 {
		reason = "tool_calls"
		seen := map[string]bool{}
		for i, c := range reply.Calls {
			id := c.ID
			if id == "" || seen[id] {
				id = callID() // a tool result names its call by id: ids must differ
			}
			seen[id] = true
			calls = append(calls, toolCall{Index: &i, ID: id, Type: "function", Function: toolFunction{Name: c.Name, Arguments: c.Arguments}})
		}
	}
	name := g.s.opt.ModelName
	if !g.req.stream {
		msg := &chatMessage{Role: "assistant", Content: reply.Content}
		if calls != nil {
			for i := range calls {
				calls[i].Index = nil
			}
			msg.ToolCalls = calls
		}
		writeJSON(g.w, chatResponse{ID: g.id, Object: "chat.completion", Created: g.created, Model: name,
			Choices: []chatChoice{{Message: msg, Logprobs: chatFormat(g.rest()), FinishReason: &reason}}, Usage: &u})
		return
	}
	switch {
	case calls != nil:
		for _, c := range calls {
			g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name,
				Choices: []chatChoice{{Delta: &chatDelta{ToolCalls: []toolCall{c}}}}})
		}
	case len(reply.Content) > g.req.shown && (err == nil || g.req.shown == 0):
		// The rest of a response (all of it when it is not a string), or
		// the text of an answer cut short.
		rest := reply.Content
		if err == nil {
			rest = rest[g.req.shown:]
		}
		g.toolContent(rest, true)
	}
	g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name,
		Choices: []chatChoice{{Delta: &chatDelta{}, Logprobs: chatFormat(g.rest()), FinishReason: &reason}}})
	if g.req.includeUsage {
		g.event(chatResponse{ID: g.id, Object: "chat.completion.chunk", Created: g.created, Model: name, Choices: []chatChoice{}, Usage: &u})
	}
	g.done()
}

// callID returns a new tool call id, as llama-server makes them: random
// letters and digits.
func callID() string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 32)
	rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return "call_" + string(b)
}

// answers checks that a tool result follows an assistant message's
// tool_calls (after other results only) and, when the calls have ids,
// names one of them, as OpenAI requires.
func answers(where string, prev []toolcall.Message, m toolcall.Message) *apiError {
	if m.Role != "tool" {
		return nil
	}
	i := len(prev) - 1
	for i >= 0 && prev[i].Role == "tool" {
		i--
	}
	if i < 0 || prev[i].Role != "assistant" || len(prev[i].ToolCalls) == 0 {
		return badRequest(where+".role", "%s has role \"tool\" but does not answer an assistant message's tool_calls", where)
	}
	ids := false
	for _, c := range prev[i].ToolCalls {
		if c.ID != "" {
			ids = true
			if c.ID == m.ToolCallID {
				return nil
			}
		}
	}
	if ids {
		return badRequest(where+".tool_call_id", "%s.tool_call_id %q names none of the preceding tool_calls", where, m.ToolCallID)
	}
	return nil
}
