package toolcall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/grammar"
)

// ErrRequest is wrapped by the errors for invalid tools or tool_choice.
var ErrRequest = errors.New("toolcall: invalid request")

// ErrOutput is wrapped by the error of Parse for output that is not a
// complete tool call or response (a generation cut short).
var ErrOutput = errors.New("toolcall: incomplete or invalid output")

// Tool is a function the model may call (an entry of OpenAI's tools).
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments object; empty means
	// the function takes no arguments ({}).
	Parameters json.RawMessage
	raw        json.RawMessage // the request's entry, shown to the model
}

// ParseTools reads OpenAI's tools array:
// [{"type": "function", "function": {"name", "description", "parameters"}}].
// Other tool types, a missing or repeated name, and parameters that are
// not a JSON object are errors wrapping ErrRequest.
func ParseTools(data []byte) ([]Tool, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("toolcall: tools must be an array: %w", ErrRequest)
	}
	tools := make([]Tool, 0, len(entries))
	for i, e := range entries {
		var t struct {
			Type     string `json:"type"`
			Function *struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		if err := json.Unmarshal(e, &t); err != nil {
			return nil, fmt.Errorf("toolcall: tools[%d]: %v: %w", i, err, ErrRequest)
		}
		if t.Type != "function" || t.Function == nil {
			return nil, fmt.Errorf("toolcall: tools[%d]: type %q is not supported (only \"function\" with a function object): %w", i, t.Type, ErrRequest)
		}
		f := t.Function
		if f.Name == "" {
			return nil, fmt.Errorf("toolcall: tools[%d].function.name is missing: %w", i, ErrRequest)
		}
		for _, o := range tools {
			if o.Name == f.Name {
				return nil, fmt.Errorf("toolcall: tools[%d]: function %q is defined twice: %w", i, f.Name, ErrRequest)
			}
		}
		if p := bytes.TrimSpace(f.Parameters); len(p) > 0 && !bytes.Equal(p, []byte("null")) && p[0] != '{' {
			return nil, fmt.Errorf("toolcall: tools[%d].function.parameters must be a JSON Schema object: %w", i, ErrRequest)
		} else if bytes.Equal(p, []byte("null")) {
			f.Parameters = nil
		}
		tools = append(tools, Tool{Name: f.Name, Description: f.Description, Parameters: f.Parameters, raw: e})
	}
	return tools, nil
}

// The tool_choice modes.
const (
	Auto     = "auto"     // the model calls tools or answers (the default)
	None     = "none"     // no tool is offered
	Required = "required" // the model must call one or more tools
	Function = "function" // the model must call Choice.Name
)

// Choice is OpenAI's tool_choice.
type Choice struct {
	Mode string // Auto ("" too), None, Required or Function
	Name string // the function, for Function
}

// ParseChoice reads OpenAI's tool_choice: "auto", "none", "required" or
// {"type": "function", "function": {"name": …}}; empty data is auto.
// Anything else is an error wrapping ErrRequest.
func ParseChoice(data []byte) (Choice, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return Choice{Mode: Auto}, nil
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		switch s {
		case Auto, None, Required:
			return Choice{Mode: s}, nil
		}
		return Choice{}, fmt.Errorf("toolcall: tool_choice %q is not auto, none, required or a function: %w", s, ErrRequest)
	}
	var o struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(data, &o); err != nil || o.Type != "function" || o.Function.Name == "" {
		return Choice{}, fmt.Errorf("toolcall: tool_choice must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": …}}: %w", ErrRequest)
	}
	return Choice{Mode: Function, Name: o.Function.Name}, nil
}

// Options tunes Prepare.
type Options struct {
	Choice Choice
	// Parallel lets the model make several calls in one answer
	// ({"tool_calls": [...]}, each with an "id" of at least 4 characters,
	// as llama.cpp asks, and at most MaxIDLength); llama-server's default
	// for Gemma is false.
	Parallel bool
	// Response is the JSON Schema of the "response" the model gives when
	// it calls no tool (response_format json_schema; {"type": "object"}
	// for json_object); empty means a string.
	Response json.RawMessage
}

// Plan is how one request offers tools: the system prompt text, the
// grammar of the answer, and how to read it back. A Plan for no tools (or
// tool_choice none) is inactive: no text, no grammar, the answer is
// content.
type Plan struct {
	// System is the text Render adds to the system prompt ("" when
	// inactive).
	System string
	// Grammar constrains the answer (generate.Options.Grammar); nil when
	// inactive.
	Grammar *grammar.Grammar
	tools   []Tool
	opt     Options
}

// Active reports whether the plan offers tools.
func (p *Plan) Active() bool { return p.Grammar != nil }

// Prepare returns the plan for offering tools with opt. tool_choice
// required or a function without tools, or a function not among them,
// and tool schemas the grammar cannot compile are errors (the latter a
// *grammar.SchemaError naming the tool).
func Prepare(tools []Tool, opt Options) (*Plan, error) {
	p := &Plan{tools: tools, opt: opt}
	mode := opt.Choice.Mode
	switch mode {
	case "", Auto, None, Required, Function:
	default:
		return nil, fmt.Errorf("toolcall: tool_choice mode %q: %w", mode, ErrRequest)
	}
	if mode == None || len(tools) == 0 {
		if mode == Required || mode == Function {
			return nil, fmt.Errorf("toolcall: tool_choice %s without tools: %w", mode, ErrRequest)
		}
		return p, nil
	}
	callable := tools
	if mode == Function {
		callable = nil
		for _, t := range tools {
			if t.Name == opt.Choice.Name {
				callable = []Tool{t}
			}
		}
		if callable == nil {
			return nil, fmt.Errorf("toolcall: tool_choice names function %q, which is not among the tools: %w", opt.Choice.Name, ErrRequest)
		}
	}
	schema := Schema(callable, opt.Parallel, mode == Required || mode == Function, opt.Response)
	g, err := grammar.FromJSONSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("toolcall: the tools' schema: %w", err)
	}
	p.Grammar = g
	p.System = SystemPrompt(tools)
	return p, nil
}

// MaxIDLength bounds the id of a parallel call (llama.cpp sets no bound,
// which lets a model write one until its context is full).
const MaxIDLength = 40

// Schema returns the JSON Schema of llama.cpp's generic tool-call answer:
// a call of one of tools — {"tool_call": {"name", "arguments"}}, or with
// parallel {"tool_calls": [{"name", "arguments", "id"}, …]}, ids of 4 to
// MaxIDLength characters — or, unless
// required, {"response": …} following response (a string when empty).
// Each tool's parameters keep their own $defs: they are embedded as a
// schema resource with an $id.
func Schema(tools []Tool, parallel, required bool, response json.RawMessage) []byte {
	var calls []string
	for i, t := range tools {
		params := embed(t.Parameters, "urn:zerfoo:toolcall:"+strconv.Itoa(i))
		if len(params) == 0 {
			params = []byte(`{"type":"object","properties":{}}`)
		}
		name, _ := json.Marshal(t.Name)
		s := `{"type":"object","properties":{"name":{"type":"string","const":` + string(name) + `},"arguments":` + string(params)
		if parallel {
			s += `,"id":{"type":"string","minLength":4,"maxLength":` + strconv.Itoa(MaxIDLength) + `}},"required":["name","arguments","id"]}`
		} else {
			s += `},"required":["name","arguments"]}`
		}
		calls = append(calls, s)
	}
	call := calls[0]
	if len(calls) > 1 {
		call = `{"anyOf":[` + strings.Join(calls, ",") + `]}`
	}
	var root string
	if parallel {
		root = `{"type":"object","properties":{"tool_calls":{"type":"array","items":` + call + `,"minItems":1}},"required":["tool_calls"]}`
	} else {
		root = `{"type":"object","properties":{"tool_call":` + call + `},"required":["tool_call"]}`
	}
	if !required {
		resp := `{"type":"string"}`
		if r := embed(response, "urn:zerfoo:toolcall:response"); len(r) > 0 {
			resp = string(r)
		}
		root = `{"anyOf":[` + root + `,{"type":"object","properties":{"response":` + resp + `},"required":["response"]}]}`
	}
	return []byte(root)
}

// embed returns the schema object with "$id": id added first unless it
// has an $id already, so that its local $refs resolve in it once it is
// part of a larger schema. Anything but an object is returned trimmed.
func embed(schema json.RawMessage, id string) []byte {
	s := bytes.TrimSpace(schema)
	if len(s) == 0 || s[0] != '{' || topKey(s, "$id") {
		return s
	}
	rest := bytes.TrimSpace(s[1:])
	sep := ","
	if len(rest) > 0 && rest[0] == '}' {
		sep = ""
	}
	return append([]byte(`{"$id":`+strconv.Quote(id)+sep), rest...)
}

// topKey reports whether the JSON object obj has the member key.
func topKey(obj []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	_, ok := m[key]
	return ok
}
