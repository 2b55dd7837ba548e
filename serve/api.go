package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// maxStops is the most stop sequences a request may give (OpenAI's limit).
const maxStops = 4

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
}

// params are the fields shared by both completion endpoints. Pointers tell
// a missing field from a zero one. top_k, min_p and repeat_penalty are
// llama.cpp's extensions.
type params struct {
	Model               string         `json:"model"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Temperature         *float64       `json:"temperature"`
	TopP                *float64       `json:"top_p"`
	TopK                *int           `json:"top_k"`
	MinP                *float64       `json:"min_p"`
	RepeatPenalty       *float64       `json:"repeat_penalty"`
	Seed                *int64         `json:"seed"`
	Stop                stopList       `json:"stop"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	N                   *int           `json:"n"`
	Logprobs            any            `json:"logprobs"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
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
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return badRequest("messages", "message content must be a string or an array of text parts")
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return badRequest("messages", "content part type %q is not supported (text only)", p.Type)
		}
		sb.WriteString(p.Text)
	}
	*c = content(sb.String())
	return nil
}

type chatBody struct {
	params
	Messages []struct {
		Role    string  `json:"role"`
		Content content `json:"content"`
	} `json:"messages"`
}

type completionBody struct {
	params
	Prompt json.RawMessage `json:"prompt"`
	Echo   bool            `json:"echo"`
	Suffix *string         `json:"suffix"`
	BestOf *int            `json:"best_of"`
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

// parseChat parses and validates a /v1/chat/completions body.
func parseChat(body []byte) (*request, *apiError) {
	var b chatBody
	if e := decode(body, &b); e != nil {
		return nil, e
	}
	r := &request{chat: true}
	if e := b.params.apply(r); e != nil {
		return nil, e
	}
	if len(b.Messages) == 0 {
		return nil, badRequest("messages", "messages must be a non-empty array")
	}
	for i, m := range b.Messages {
		role := m.Role
		switch role {
		case "system", "developer":
			role = "system"
		case "user", "assistant", "model":
		case "":
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d] has no role", i)
		default:
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i), "messages[%d] has role %q; supported: system, developer, user, assistant", i, m.Role)
		}
		r.messages = append(r.messages, tokenizer.Message{Role: role, Content: string(m.Content)})
	}
	if _, err := tokenizer.GemmaChat(r.messages, true); err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	return r, nil
}

// parseCompletion parses and validates a /v1/completions body.
func parseCompletion(body []byte) (*request, *apiError) {
	var b completionBody
	if e := decode(body, &b); e != nil {
		return nil, e
	}
	r := &request{}
	if e := b.params.apply(r); e != nil {
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
	return r, nil
}

// apply validates the shared fields and copies them into r.
func (p *params) apply(r *request) *apiError {
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
		return badRequest("n", "n must be 1, got %d", *p.N)
	}
	if p.Logprobs != nil && p.Logprobs != false && p.Logprobs != float64(0) {
		return badRequest("logprobs", "logprobs are not supported")
	}
	s := generate.Sampling{Temperature: 1} // OpenAI's default
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
		if *k > 0 && (s.TopK == 0 || *k < s.TopK) {
			s.TopK = *k
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
	if p.StreamOptions != nil {
		if !p.Stream {
			return badRequest("stream_options", "stream_options is only allowed with stream: true")
		}
		r.includeUsage = p.StreamOptions.IncludeUsage
	}
	return nil
}

// Response bodies.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatMessage struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

// chatDelta is a streamed message piece; the last one is empty ({}).
type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message,omitempty"`
	Delta        *chatDelta   `json:"delta,omitempty"`
	Logprobs     any          `json:"logprobs"`
	FinishReason *string      `json:"finish_reason"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

type textChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type textResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []textChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}
