package generate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// TestSessionFit holds a conversation far longer than a 64-token session:
// Fit drops the oldest turns before each message, the system prompt stays,
// and no Send fails for lack of room.
func TestSessionFit(t *testing.T) {
	ctx := context.Background()
	m, err := generate.Load(ctx, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const system = "be brief"
	s, err := m.NewSession(system, 64)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxLen() != 64 {
		t.Fatalf("MaxLen: got %d, want 64", s.MaxLen())
	}
	total := 0
	for i, q := range strings.Fields(strings.Repeat("hello water people world ", 5)) {
		dropped, err := s.Fit(q, 8)
		if err != nil {
			t.Fatalf("turn %d: Fit(%q): %v", i, q, err)
		}
		total += dropped
		turns := s.Turns()
		if _, err := s.Send(ctx, q, generate.Options{MaxTokens: 8, Sampling: generate.Sampling{Temperature: 1, Seed: uint64(i)}}); err != nil {
			t.Fatalf("turn %d: Send(%q) after dropping %d turns: %v", i, q, dropped, err)
		}
		if s.Turns() != turns+1 {
			t.Errorf("turn %d: %d turns after Send, want %d", i, s.Turns(), turns+1)
		}
		msgs := s.Messages()
		if msgs[0].Role != "system" || msgs[0].Content != system {
			t.Fatalf("turn %d: first message %+v, want the system prompt", i, msgs[0])
		}
		if len(msgs) != 1+2*s.Turns() || msgs[len(msgs)-2].Content != q {
			t.Fatalf("turn %d: %d messages for %d turns, last user message %q; want %d, %q", i, len(msgs), s.Turns(), msgs[len(msgs)-2].Content, 1+2*s.Turns(), q)
		}
	}
	if total == 0 {
		t.Error("20 turns in a 64-token session dropped none")
	}

	s.Reset()
	if msgs := s.Messages(); s.Turns() != 0 || len(msgs) != 1 || msgs[0].Content != system {
		t.Errorf("after Reset: %d turns, messages %+v; want the system prompt alone", s.Turns(), msgs)
	}
	if _, err := s.Send(ctx, "hello", generate.Options{MaxTokens: 4}); err != nil {
		t.Errorf("Send after Reset: %v", err)
	}
}

func TestSessionFitErrors(t *testing.T) {
	ctx := context.Background()
	m, err := generate.Load(ctx, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession("", 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, "hello", generate.Options{MaxTokens: 4}); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("the people of the world ", 40)
	if n, err := s.Fit(long, 0); !errors.Is(err, gemma3.ErrContext) || n != 0 || s.Turns() != 1 {
		t.Errorf("Fit(a message longer than the session): dropped %d, %d turns left, error %v; want 0, 1, ErrContext", n, s.Turns(), err)
	}
	if _, err := s.Fit("hello", -1); !errors.Is(err, generate.ErrOptions) {
		t.Errorf("Fit(room -1): got %v, want ErrOptions", err)
	}
	// A room larger than the session drops every turn but sends.
	if n, err := s.Fit("hello", 1000); err != nil || n != 1 || s.Turns() != 0 {
		t.Errorf("Fit(room 1000): dropped %d, %d turns left, error %v; want 1, 0, nil", n, s.Turns(), err)
	}
}

// A chat in a small session: Fit drops the oldest turns before each
// message so that the conversation and room for a 16-token answer fit.
func ExampleSession_Fit() {
	ctx := context.Background()
	path, err := defaultmodel.Path()
	if err != nil {
		panic(err)
	}
	m, err := generate.Load(ctx, path)
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s, err := m.NewSession("Answer briefly.", 96)
	if err != nil {
		panic(err)
	}
	for _, q := range []string{"What is a goroutine?", "And a channel?", "What does select do?", "And a slice?"} {
		dropped, err := s.Fit(q, 16)
		if err != nil {
			panic(err)
		}
		if _, err := s.Send(ctx, q, generate.Options{MaxTokens: 16}); err != nil {
			panic(err)
		}
		fmt.Printf("dropped %d, kept %d turns\n", dropped, s.Turns())
	}
	// Output:
	// dropped 0, kept 1 turns
	// dropped 0, kept 2 turns
	// dropped 1, kept 2 turns
	// dropped 1, kept 2 turns
}
