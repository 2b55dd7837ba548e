package serve

import (
	"math"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// Response bodies.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails says how many prompt tokens came from the
	// prompt cache (OpenAI's prompt_tokens_details.cached_tokens).
	PromptTokensDetails promptTokensDetails `json:"prompt_tokens_details"`
}

type promptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type chatMessage struct {
	Role      string     `json:"role,omitempty"`
	Content   string     `json:"content"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"` // content is then null (tools.go)
}

// chatDelta is a streamed message piece; the last one is empty ({}).
type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	// ToolCalls are the calls of an answer under tools, each whole in one
	// chunk (tools.go).
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      *chatMessage  `json:"message,omitempty"`
	Delta        *chatDelta    `json:"delta,omitempty"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
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
	Text         string        `json:"text"`
	Index        int           `json:"index"`
	Logprobs     *textLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
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

// chatLogprobs is a chat choice's logprobs: one entry per token.
type chatLogprobs struct {
	Content []tokenLogprob `json:"content"`
	Refusal *string        `json:"refusal"`
}

type tokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// textLogprobs is the legacy completions format: parallel arrays.
type textLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

// tokenLog collects the generated tokens with their log-probabilities and
// hands them out with the text they start in.
type tokenLog struct {
	tok     *tokenizer.Tokenizer
	entries []logEntry
	next    int   // entries handed out
	end     int   // bytes of text of the entries
	prev    int32 // the last token, -1 before the first
}

type logEntry struct {
	tok   generate.Token
	text  string   // the token's text
	top   []string // the text of each of tok.Top
	start int      // byte offset of text in the generated text
}

func newTokenLog(tok *tokenizer.Tokenizer) *tokenLog { return &tokenLog{tok: tok, prev: -1} }

// add is generate.Options.OnToken.
func (l *tokenLog) add(t generate.Token) error {
	e := logEntry{tok: t, text: l.piece(t.ID), start: l.end}
	for _, p := range t.Top {
		e.top = append(e.top, l.piece(p.ID))
	}
	l.entries = append(l.entries, e)
	l.end += len(e.text)
	l.prev = t.ID
	return nil
}

// piece returns the text id adds after the previous token (which matters
// for a vocabulary that drops the leading space of the first token).
func (l *tokenLog) piece(id int32) string {
	if l.prev < 0 {
		s, _ := l.tok.Decode([]int32{id}, false)
		return s
	}
	a, _ := l.tok.Decode([]int32{l.prev}, false)
	b, _ := l.tok.Decode([]int32{l.prev, id}, false)
	return b[min(len(a), len(b)):]
}

// take returns the entries not handed out yet whose text starts before
// byte sent of the generated text; at the end (final), also the ones
// without text right at sent. Tokens of a stop string, whose text was
// never sent, are left out.
func (l *tokenLog) take(sent int, final bool) []logEntry {
	i := l.next
	for i < len(l.entries) {
		e := &l.entries[i]
		if e.start < sent || final && e.start == sent && e.text == "" {
			i++
			continue
		}
		break
	}
	out := l.entries[l.next:i]
	l.next = i
	return out
}

// finite keeps a log-probability encodable in JSON (logits that overflow
// to infinity would give NaN or -Inf).
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return -9999
	}
	return x
}

func byteList(s string) []int {
	b := make([]int, len(s))
	for i := range len(s) {
		b[i] = int(s[i])
	}
	return b
}

// chatFormat returns entries in the chat format (nil for none).
func chatFormat(entries []logEntry) *chatLogprobs {
	if entries == nil {
		return nil
	}
	out := &chatLogprobs{Content: make([]tokenLogprob, 0, len(entries))}
	for _, e := range entries {
		t := tokenLogprob{Token: e.text, Logprob: finite(e.tok.Logprob), Bytes: byteList(e.text), TopLogprobs: make([]topLogprob, 0, len(e.top))}
		for i, p := range e.tok.Top {
			t.TopLogprobs = append(t.TopLogprobs, topLogprob{Token: e.top[i], Logprob: finite(p.Logprob), Bytes: byteList(e.top[i])})
		}
		out.Content = append(out.Content, t)
	}
	return out
}

// textFormat returns entries in the legacy completions format (nil for
// none): each top_logprobs object holds the alternatives and the chosen
// token, as OpenAI's does.
func textFormat(entries []logEntry) *textLogprobs {
	if entries == nil {
		return nil
	}
	out := &textLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	for _, e := range entries {
		out.Tokens = append(out.Tokens, e.text)
		out.TokenLogprobs = append(out.TokenLogprobs, finite(e.tok.Logprob))
		top := map[string]float64{e.text: finite(e.tok.Logprob)}
		for i, p := range e.tok.Top {
			top[e.top[i]] = finite(p.Logprob)
		}
		out.TopLogprobs = append(out.TopLogprobs, top)
		out.TextOffset = append(out.TextOffset, e.start)
	}
	return out
}
