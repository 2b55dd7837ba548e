package generate

import (
	"fmt"

	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// MaxLen returns the most tokens the session holds: the rendered
// conversation, the next user message and the answer together.
func (s *Session) MaxLen() int { return s.st.MaxLen() }

// Turns returns the number of exchanges kept: user messages with the
// model's answers, the system prompt not counted.
func (s *Session) Turns() int { return (len(s.msgs) - s.system()) / 2 }

// Reset starts the conversation over: the turns and the KV cache are
// dropped, the system prompt stays.
func (s *Session) Reset() {
	s.msgs = s.msgs[:s.system()]
	s.cached = nil
	s.st.Reset()
}

// Fit drops the oldest turns (a user message and the model's answer each;
// the system prompt stays) until the conversation with user as the next
// message leaves room tokens for the answer within MaxLen, and returns the
// number of turns dropped. Send, next, renders the turns kept and runs them
// again through the model (a KV cache cannot drop its start in place); the
// tokens they share with the cache from the start, such as the system
// prompt, are kept.
//
// When the turns kept are few enough to fit but leave less than room, Fit
// keeps them: Send answers in what is left. A user message that does not
// fit MaxLen even alone is an error wrapping gemma3.ErrContext, and
// nothing is dropped. A negative room is an error wrapping ErrOptions.
func (s *Session) Fit(user string, room int) (dropped int, err error) {
	if room < 0 {
		return 0, fmt.Errorf("generate: room %d must be ≥ 0: %w", room, ErrOptions)
	}
	sys := s.system()
	// The tokens of the system prompt and user alone.
	n, err := s.tokens(append(s.msgs[:sys:sys], tokenizer.Message{Role: "user", Content: user}))
	if err != nil {
		return 0, err
	}
	if n >= s.MaxLen() {
		return 0, fmt.Errorf("generate: a message of %d tokens does not fit the session length %d: %w", n, s.MaxLen(), gemma3.ErrContext)
	}
	for s.Turns() > 0 {
		kept := s.msgs[:len(s.msgs):len(s.msgs)]
		n, err := s.tokens(append(kept, tokenizer.Message{Role: "user", Content: user}))
		if err != nil {
			return dropped, err
		}
		if n+room <= s.MaxLen() {
			break
		}
		s.msgs = append(s.msgs[:sys], s.msgs[sys+2:]...)
		dropped++
	}
	return dropped, nil
}

// system returns 1 if the conversation starts with a system prompt, else 0.
func (s *Session) system() int {
	if len(s.msgs) > 0 && s.msgs[0].Role == "system" {
		return 1
	}
	return 0
}

// tokens returns the length of msgs as Send encodes them, with the prompt
// for the model's turn.
func (s *Session) tokens(msgs []tokenizer.Message) (int, error) {
	ids, err := s.m.EncodeChat(msgs)
	return len(ids), err
}

// Messages returns a copy of the conversation kept: the system prompt if
// any, then user messages and the model's answers in turn.
func (s *Session) Messages() []tokenizer.Message {
	return append([]tokenizer.Message(nil), s.msgs...)
}
