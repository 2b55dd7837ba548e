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
// Encode(s, false, true) so that BOS is not added twice.
func GemmaChat(msgs []Message, addGenerationPrompt bool) (string, error) {
	var b strings.Builder
	b.WriteString("<bos>")
	prefix := ""
	if len(msgs) > 0 && msgs[0].Role == "system" {
		prefix = msgs[0].Content + "\n\n"
		msgs = msgs[1:]
	}
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return "", fmt.Errorf("tokenizer: chat message %d has role %q: roles must alternate user/assistant starting with user", i, m.Role)
		}
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		b.WriteString("<start_of_turn>" + role + "\n")
		if i == 0 {
			b.WriteString(prefix)
		}
		b.WriteString(strings.TrimSpace(m.Content))
		b.WriteString("<end_of_turn>\n")
	}
	if addGenerationPrompt {
		b.WriteString("<start_of_turn>model\n")
	}
	return b.String(), nil
}
