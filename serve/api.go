package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/tokenizer"
	"github.com/zerfoo/zerfoo/toolcall"
)

// maxStops is the most stop sequences a request may give (OpenAI's limit).
const maxStops = 4

// maxLogprobs is the most alternatives top_logprobs (chat) or logprobs
// (completions) may ask for.
const maxLogprobs = generate.MaxTopLogprobs

// request is a parsed and validated chat or text completion request.
type request struct {
	chat     bool
	model    string
	messages []tokenizer.Message // chat
	prompt   string              // completion given as text
	tokens   []int32             // completion given as token ids
	// maxTokens bounds the generated tokens (0: until the context is full
	// for chat, 16 for completions, as OpenAI does).
	maxTokens    int
	sampling     generate.Sampling
	seeded       bool // sampling.Seed was given
	stop         []string
	stream       bool
	includeUsage bool
	// logprobs asks for the log-probabilities of the generated tokens,
	// with topLogprobs alternatives each.
	logprobs    bool
	topLogprobs int
	// parseSpecial, for a text prompt, overrides the server's default
	// (Options.NoParseSpecial); nil: the default.
	parseSpecial *bool
	// grammar constrains the answer (response_format json_object); nil:
	// free text, or the grammar of schema, compiled once the request
	// holds its slot (compiling is work).
	grammar *grammar.Grammar
	schema  []byte
	// Tools (chat): see tools.go. messages are then the conversation
	// rendered without the tools' system text; compile renders it again
	// under the plan.
	tools      []toolcall.Tool
	choice     toolcall.Choice
	parallel   bool
	toolMsgs   []toolcall.Message // nil when no message has tool fields and no tool is offered
	toolsLen   int                // bytes of the compact tools array (a lower bound of their prompt text)
	plan       *toolcall.Plan     // set by compile when tools are offered
	jsonAnswer bool               // response_format json_object without a schema
	shown      int                // bytes of a tool plan's response content streamed
}

// The fields each endpoint knows; any other is a 400 naming it. Fields
// accepted and ignored (informational) are listed in doc.go.
var (
	sharedFields = []string{
		"model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p",
		"repeat_penalty", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "stop",
		"stream", "stream_options", "n", "user", "store", "metadata", "service_tier", "cache_prompt",
		"response_format", "tools", "tool_choice", "parallel_tool_calls",
	}
	chatFields       = append(slices.Clip(sharedFields), "messages", "logprobs", "top_logprobs")
	completionFields = append(slices.Clip(sharedFields), "prompt", "echo", "suffix", "best_of", "logprobs", "parse_special")
	messageFields    = []string{"role", "content", "name", "tool_calls", "tool_call_id"}
	partFields       = []string{"type", "text"}
	streamFields     = []string{"include_usage", "include_obfuscation"}
	formatFields     = []string{"type", "json_schema", "schema"}
	schemaFields     = []string{"name", "description", "schema", "strict"}
)

// params are the fields shared by both completion endpoints. Pointers tell
// a missing field from a zero one. top_k, min_p, repeat_penalty and
// cache_prompt are llama.cpp's extensions.
type params struct {
	Model               string             `json:"model"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`
	MinP                *float64           `json:"min_p"`
	RepeatPenalty       *float64           `json:"repeat_penalty"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	LogitBias           map[string]float64 `json:"logit_bias"`
	Seed                *int64             `json:"seed"`
	Stop                stopList           `json:"stop"`
	Stream              bool               `json:"stream"`
	StreamOptions       json.RawMessage    `json:"stream_options"`
	N                   *int               `json:"n"`
	// Informational: checked for type, then ignored.
	User           string            `json:"user"`
	Store          bool              `json:"store"`
	Metadata       map[string]string `json:"metadata"`
	ServiceTier    string            `json:"service_tier"`
	CachePrompt    bool              `json:"cache_prompt"`
	ResponseFormat json.RawMessage   `json:"response_format"`
	// Chat only (tools.go).
	Tools             json.RawMessage `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
}

// stopList is OpenAI's stop: a string, an array of strings, or null.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return badRequest("stop", "stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// content is a message's content: a string, null, or an array of parts of
// which only {"type": "text", "text": ...} is supported.
type content string

func (c *content) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*c = content(s)
		return nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return badRequest("messages", "message content must be a string or an array of text parts")
	}
	var sb strings.Builder
	for _, raw := range parts {
		if e := knownFields(raw, "messages", partFields); e != nil {
			return e
		}
		var p struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return badRequest("messages", "a content part must be {\"type\": \"text\", \"text\": string}")
		}
		if p.Type != "text" {
			return badRequest("messages", "content part type %q is not supported (text only)", p.Type)
		}
		sb.WriteString(p.Text)
	}
	*c = content(sb.String())
	return nil
}

type message struct {
	Role       string          `json:"role"`
	Content    content         `json:"content"`
	Name       string          `json:"name"` // informational, or a tool result's function
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type chatBody struct {
	params
	Messages    []json.RawMessage `json:"messages"`
	Logprobs    *bool             `json:"logprobs"`
	TopLogprobs *int              `json:"top_logprobs"`
}

type completionBody struct {
	params
	Prompt       json.RawMessage `json:"prompt"`
	Echo         bool            `json:"echo"`
	Suffix       *string         `json:"suffix"`
	BestOf       *int            `json:"best_of"`
	Logprobs     *int            `json:"logprobs"`
	ParseSpecial *bool           `json:"parse_special"`
}

// knownFields returns a 400 naming the first field of the JSON object raw
// that is not in known (where is the object's path, "" at the top level),
// or nil; a raw that is not an object is left to the decoder.
func knownFields(raw []byte, where string, known []string) *apiError {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	name := unknown[0]
	if where != "" {
		name = where + "." + name
	}
	return badRequest(name, "unknown field %q: this server does not support it (known: %s)", name, strings.Join(known, ", "))
}

// decode unmarshals one JSON object from body into v, mapping JSON errors
// to 400s.
func decode(body []byte, v any) *apiError {
	d := json.NewDecoder(bytes.NewReader(body))
	err := d.Decode(v)
	if err == nil {
		if _, err2 := d.Token(); err2 != io.EOF {
			return badRequest("", "invalid JSON: trailing data after the request object")
		}
		return nil
	}
	var ae *apiError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "invalid JSON: the body is empty or truncated")
	case errors.As(err, &syn):
		return badRequest("", "invalid JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("", "the request body must be a JSON object, got %s", typ.Value)
		}
		field := strings.TrimPrefix(typ.Field, "params.") // the embedded struct
		return badRequest(field, "%s must be %s, got %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	return badRequest("", "invalid JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "bool":
		return "a boolean"
	case goKind == "string":
		return "a string"
	case goKind == "slice":
		return "an array"
	}
	return "an object"
}

// openAIDefault is the sampling of a request that sets none, before the
// model's own defaults (generate.Model.DefaultSampling): OpenAI's
// temperature 1.
var openAIDefault = generate.Sampling{Temperature: 1}

// parseChat parses and validates a /v1/chat/completions body; the sampling
// settings it does not set are base's.
func parseChat(body []byte, base generate.Sampling) (*request, *apiError) {
	var b chatBody
	if e := decode(body, &b); e != nil {
		return nil, e
	}
	if e := knownFields(body, "", chatFields); e != nil {
		return nil, e
	}
	r := &request{chat: true}
	if e := b.params.apply(r, base); e != nil {
		return nil, e
	}
	if b.Logprobs != nil {
		r.logprobs = *b.Logprobs
	}
	if k := b.TopLogprobs; k != nil {
		switch {
		case *k < 0 || *k > maxLogprobs:
			return nil, badRequest("top_logprobs", "top_logprobs must be in [0, %d], got %d", maxLogprobs, *k)
		case !r.logprobs:
			return nil, badRequest("top_logprobs", "top_logprobs needs logprobs: true")
		}
		r.topLogprobs = *k
	}
	if len(b.Messages) == 0 {
		return nil, badRequest("messages", "messages must be a non-empty array")
	}
	for i, raw := range b.Messages {
		where := fmt.Sprintf("messages[%d]", i)
		var m message
		if e := decode(raw, &m); e != nil {
			switch p, _ := e.Param.(string); {
			case p == "":
				e.Param = "messages"
			case !strings.HasPrefix(p, "messages"):
				e.Param = where + "." + p
			}
			return nil, e
		}
		if e := knownFields(raw, where, messageFields); e != nil {
			return nil, e
		}
		role := m.Role
		switch role {
		case "system", "developer":
			role = "system"
		case "user", "assistant", "model", "tool":
		case "":
			return nil, badRequest(where+".role", "%s has no role", where)
		default:
			return nil, badRequest(where+".role", "%s has role %q; supported: system, developer, user, assistant, tool", where, m.Role)
		}
		tm, e := toolMessage(where, role, m)
		if e == nil {
			e = answers(where, r.toolMsgs, tm)
		}
		if e != nil {
			return nil, e
		}
		r.toolMsgs = append(r.toolMsgs, tm)
	}
	r.render(nil)
	// The roles' order, checked without copying the contents.
	roles := make([]tokenizer.Message, len(r.messages))
	for i, m := range r.messages {
		roles[i].Role = m.Role
	}
	if _, err := tokenizer.GemmaChat(roles, true); err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	return r, nil
}

// parseCompletion parses and validates a /v1/completions body; the
// sampling settings it does not set are base's.
func parseCompletion(body []byte, base generate.Sampling) (*request, *apiError) {
	var b completionBody
	if e := decode(body, &b); e != nil {
		return nil, e
	}
	if e := knownFields(body, "", completionFields); e != nil {
		return nil, e
	}
	r := &request{parseSpecial: b.ParseSpecial}
	if e := b.params.apply(r, base); e != nil {
		return nil, e
	}
	if e := r.noTools(); e != nil {
		return nil, e
	}
	switch {
	case b.Echo:
		return nil, badRequest("echo", "echo is not supported")
	case b.Suffix != nil && *b.Suffix != "":
		return nil, badRequest("suffix", "suffix is not supported")
	case b.BestOf != nil && *b.BestOf != 1:
		return nil, badRequest("best_of", "best_of must be 1")
	}
	if k := b.Logprobs; k != nil {
		if *k < 0 || *k > maxLogprobs {
			return nil, badRequest("logprobs", "logprobs must be in [0, %d], got %d", maxLogprobs, *k)
		}
		r.logprobs, r.topLogprobs = true, *k
	}
	p := bytes.TrimSpace(b.Prompt)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return nil, badRequest("prompt", "prompt is required")
	}
	var s string
	var ss []string
	var ids []int32
	var idss [][]int32
	switch {
	case json.Unmarshal(p, &s) == nil:
		r.prompt = s
	case json.Unmarshal(p, &ss) == nil && len(ss) == 1:
		r.prompt = ss[0]
	case json.Unmarshal(p, &ids) == nil && len(ids) > 0:
		r.tokens = ids
	case json.Unmarshal(p, &idss) == nil && len(idss) == 1 && len(idss[0]) > 0:
		r.tokens = idss[0]
	default:
		return nil, badRequest("prompt", "prompt must be a string, an array of one string, or an array of token ids (one prompt per request)")
	}
	if r.tokens != nil && r.parseSpecial != nil {
		return nil, badRequest("parse_special", "parse_special applies to a text prompt, not to token ids")
	}
	return r, nil
}

// apply validates the shared fields and copies them into r.
func (p *params) apply(r *request, base generate.Sampling) *apiError {
	r.model = p.Model
	mt := p.MaxTokens
	if p.MaxCompletionTokens != nil {
		mt = p.MaxCompletionTokens
	}
	if mt != nil {
		if *mt < 1 {
			return badRequest("max_tokens", "max_tokens must be ≥ 1, got %d", *mt)
		}
		r.maxTokens = *mt
	}
	if p.N != nil && *p.N != 1 {
		return badRequest("n", "n must be 1 (one choice per request), got %d", *p.N)
	}
	if e := p.format(r); e != nil {
		return e
	}
	if e := p.toolFields(r); e != nil {
		return e
	}
	s := base
	if t := p.Temperature; t != nil {
		if *t < 0 || *t > 2 {
			return badRequest("temperature", "temperature must be in [0, 2], got %g", *t)
		}
		s.Temperature = *t
	}
	if t := p.TopP; t != nil {
		if *t < 0 || *t > 1 {
			return badRequest("top_p", "top_p must be in [0, 1], got %g", *t)
		}
		s.TopP = *t
		if *t == 0 {
			s.TopK = 1 // only the most likely token has mass ≥ 0
		}
	}
	if k := p.TopK; k != nil {
		if *k < 0 {
			return badRequest("top_k", "top_k must be ≥ 0, got %d", *k)
		}
		switch {
		case p.TopP != nil && *p.TopP == 0: // top_k 1 already
		default:
			s.TopK = *k // 0: off, whatever the model's default
		}
	}
	if m := p.MinP; m != nil {
		if *m < 0 || *m > 1 {
			return badRequest("min_p", "min_p must be in [0, 1], got %g", *m)
		}
		s.MinP = *m
	}
	if rp := p.RepeatPenalty; rp != nil {
		if *rp < 0 || *rp > 10 {
			return badRequest("repeat_penalty", "repeat_penalty must be in [0, 10], got %g", *rp)
		}
		s.RepetitionPenalty = *rp
	}
	for _, pen := range []struct {
		name string
		v    *float64
		dst  *float64
	}{{"presence_penalty", p.PresencePenalty, &s.PresencePenalty}, {"frequency_penalty", p.FrequencyPenalty, &s.FrequencyPenalty}} {
		if pen.v != nil {
			if *pen.v < -2 || *pen.v > 2 {
				return badRequest(pen.name, "%s must be in [-2, 2], got %g", pen.name, *pen.v)
			}
			*pen.dst = *pen.v
		}
	}
	if len(p.LogitBias) > 0 {
		s.LogitBias = make(map[int32]float64, len(p.LogitBias))
		for k, v := range p.LogitBias {
			id, err := strconv.ParseInt(k, 10, 32)
			if err != nil || id < 0 {
				return badRequest("logit_bias", "logit_bias keys must be token ids (decimal strings), got %q", k)
			}
			if v < -100 || v > 100 {
				return badRequest("logit_bias", "logit_bias of token %s must be in [-100, 100], got %g", k, v)
			}
			s.LogitBias[int32(id)] = v
		}
	}
	if p.Seed != nil {
		s.Seed = uint64(*p.Seed)
		r.seeded = true
	}
	if err := s.Validate(); err != nil {
		return badRequest("", "%v", err)
	}
	r.sampling = s
	if len(p.Stop) > maxStops {
		return badRequest("stop", "at most %d stop sequences, got %d", maxStops, len(p.Stop))
	}
	for _, st := range p.Stop {
		if st != "" {
			r.stop = append(r.stop, st)
		}
	}
	r.stream = p.Stream
	if so := bytes.TrimSpace(p.StreamOptions); len(so) > 0 && !bytes.Equal(so, []byte("null")) {
		if !p.Stream {
			return badRequest("stream_options", "stream_options is only allowed with stream: true")
		}
		var o struct {
			IncludeUsage       bool `json:"include_usage"`
			IncludeObfuscation bool `json:"include_obfuscation"`
		}
		if e := decode(so, &o); e != nil {
			e.Param = "stream_options"
			return e
		}
		if e := knownFields(so, "stream_options", streamFields); e != nil {
			return e
		}
		r.includeUsage = o.IncludeUsage
	}
	return nil
}

// format reads response_format into r.grammar or r.schema: "text" is
// free text, "json_object" any JSON object (or, as llama-server takes it,
// the JSON texts of its "schema"), "json_schema" those of
// json_schema.schema.
func (p *params) format(r *request) *apiError {
	rf := bytes.TrimSpace(p.ResponseFormat)
	if len(rf) == 0 || bytes.Equal(rf, []byte("null")) {
		return nil
	}
	var f struct {
		Type       string          `json:"type"`
		JSONSchema json.RawMessage `json:"json_schema"`
		Schema     json.RawMessage `json:"schema"`
	}
	if e := decode(rf, &f); e != nil {
		e.Param = "response_format"
		return e
	}
	if e := knownFields(rf, "response_format", formatFields); e != nil {
		return e
	}
	var schema json.RawMessage
	switch f.Type {
	case "text":
		if f.JSONSchema != nil || f.Schema != nil {
			return badRequest("response_format", "response_format \"text\" takes no schema")
		}
		return nil
	case "json_object":
		if f.JSONSchema != nil {
			return badRequest("response_format", "response_format \"json_object\" takes no json_schema (use type \"json_schema\")")
		}
		if len(f.Schema) == 0 || bytes.Equal(f.Schema, []byte("null")) {
			r.grammar = grammar.JSONObject()
			r.jsonAnswer = true
			return nil
		}
		schema = f.Schema
	case "json_schema":
		js := bytes.TrimSpace(f.JSONSchema)
		if len(js) == 0 || bytes.Equal(js, []byte("null")) {
			return badRequest("response_format.json_schema", "response_format \"json_schema\" needs json_schema: {\"name\": …, \"schema\": {…}}")
		}
		var o struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict"`
		}
		if e := decode(js, &o); e != nil {
			e.Param = "response_format.json_schema"
			return e
		}
		if e := knownFields(js, "response_format.json_schema", schemaFields); e != nil {
			return e
		}
		if len(o.Schema) == 0 || bytes.Equal(o.Schema, []byte("null")) {
			return badRequest("response_format.json_schema.schema", "response_format.json_schema.schema (a JSON Schema object) is required")
		}
		schema = o.Schema
	default:
		return badRequest("response_format", "response_format type must be \"text\", \"json_object\" or \"json_schema\", got %q", f.Type)
	}
	r.schema = schema
	return nil
}

// compile compiles r.schema into r.grammar, or, when the request offers
// tools, prepares their plan (tools.go).
func (r *request) compile() *apiError {
	if len(r.tools) > 0 || r.choice.Mode == toolcall.Required || r.choice.Mode == toolcall.Function {
		return r.prepareTools()
	}
	return r.compileSchema()
}

// compileSchema compiles r.schema, if any, into r.grammar.
func (r *request) compileSchema() *apiError {
	if r.schema == nil {
		return nil
	}
	g, err := grammar.FromJSONSchema(r.schema)
	if err != nil {
		return badRequest("response_format", "response_format schema: %v", err)
	}
	r.grammar = g
	return nil
}
