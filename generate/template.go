package generate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/tokenizer"
)

// ErrTemplate is wrapped by the error for a chat when the model file's
// chat template is not one this package can render.
var ErrTemplate = errors.New("generate: unsupported chat template")

// GemmaTemplate reports whether a GGUF tokenizer.chat_template is rendered
// as Gemma's: an empty one (the file has none; the model is a Gemma 3) or
// one that writes Gemma's turn markers <start_of_turn> and <end_of_turn>.
// Templates are not interpreted: one that uses Gemma's markers otherwise
// (extra roles, tool blocks) is still rendered as tokenizer.GemmaChat
// renders chats.
func GemmaTemplate(template string) bool {
	return template == "" || strings.Contains(template, "<start_of_turn>") && strings.Contains(template, "<end_of_turn>")
}

// TemplateError returns nil if the model's chat template is rendered as
// Gemma's (see GemmaTemplate), else an error wrapping ErrTemplate that
// names the template's first line.
func (m *Model) TemplateError() error {
	if GemmaTemplate(m.ChatTemplate) {
		return nil
	}
	first, _, _ := strings.Cut(strings.TrimSpace(m.ChatTemplate), "\n")
	if len(first) > 80 {
		first = first[:80] + "…"
	}
	return fmt.Errorf("generate: the model's chat template (first line %q) is not Gemma's, and only Gemma's is built in; send a prompt already in the model's format as a raw prompt: %w", first, ErrTemplate)
}

// EncodeChat tokenizes a conversation with the Gemma chat template and
// the prompt of the model's turn (tokenizer.Tokenizer.EncodeChat): the
// template's markers become control tokens, while control-token text in
// the messages stays text, so that a message cannot forge a turn. It
// fails with TemplateError's error when the file's template is not
// Gemma's, and with the tokenizer's for roles out of order.
func (m *Model) EncodeChat(msgs []tokenizer.Message) ([]int32, error) {
	if err := m.TemplateError(); err != nil {
		return nil, err
	}
	return m.Tokenizer.EncodeChat(msgs, true)
}
