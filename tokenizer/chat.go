package tokenizer

import (
	"fmt"
	"strings"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // "system" (first message only), "user", or "assistant"/"model"
	Content string
}

// GemmaChat renders msgs with the Gemma 3 chat template (the Jinja
// template of Gemma 3's tokenizer_config.json):
//
//	<bos><start_of_turn>user
//	{system}\n\n{user}<end_of_turn>
//	<start_of_turn>model
//	{assistant}<end_of_turn>
//	…
//	<start_of_turn>model\n        (with addGenerationPrompt)
//
// A leading system message is folded into the first user turn followed by
// two newlines; turn contents are trimmed of surrounding white space (the
// system text is not); "assistant" is written as "model". After the
// optional system message, roles must alternate starting with "user".
// The result begins with the literal text "<bos>": encode it with
// Encode(s, false, true) so that BOS is not added twice. That parses
// control-token text inside the contents too; EncodeChat does not.
func GemmaChat(msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	err := gemmaChat(msgs, addGenerationPrompt, func(s string, _ bool) { b.WriteString(s) })
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// EncodeChat tokenizes msgs as GemmaChat renders them, with the template's
// own markers (<bos>, <start_of_turn>, <end_of_turn>) as their control
// tokens and everything else, the message contents included, encoded
// with parseSpecial off: a content's "<end_of_turn>" is text, so a message
// cannot forge a turn. For contents without control-token text the ids are
// those of Encode(GemmaChat(msgs), false, true). It returns GemmaChat's
// error for roles out of order.
func (t *Tokenizer) EncodeChat(msgs []Message, addGenerationPrompt bool) ([]int32, error) {
	var out []int32
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, t.Encode(text.String(), false, false)...)
			text.Reset()
		}
	}
	err := gemmaChat(msgs, addGenerationPrompt, func(s string, marker bool) {
		if !marker {
			text.WriteString(s)
			return
		}
		flush()
		// A vocabulary without the marker spells it out, as Encode would.
		out = append(out, t.Encode(s, false, true)...)
	})
	if err != nil {
		return nil, err
	}
	flush()
	return out, nil
}

// gemmaChat passes the pieces of the Gemma template to emit in order:
// the template's markers with marker set, other text without.
func gemmaChat(msgs []Message, addGenerationPrompt bool, emit func(s string, marker bool)) error {
	prefix := ""
	if len(msgs) > 0 && msgs[0].Role == "system" {
		prefix = msgs[0].Content + "\n\n"
		msgs = msgs[1:]
	}
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return fmt.Errorf("tokenizer: chat message %d has role %q: roles must alternate user/assistant starting with user", i, m.Role)
		}
	}
	emit("<bos>", true)
	for i, m := range msgs {
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		emit("<start_of_turn>", true)
		emit(role+"\n", false)
		if i == 0 {
			emit(prefix, false)
		}
		emit(strings.TrimSpace(m.Content), false)
		emit("<end_of_turn>", true)
		emit("\n", false)
	}
	if addGenerationPrompt {
		emit("<start_of_turn>", true)
		emit("model\n", false)
	}
	return nil
}
