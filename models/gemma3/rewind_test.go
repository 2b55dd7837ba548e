package gemma3_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// TestRewind checks Rewind's rule on a State whose local rings hold
// Window + Batch − 1 = 8 + 4 − 1 = 11 positions: with hw positions
// written, Rewind(pos) works iff hw ≤ 11 or pos ≥ hw − Batch, also after a
// rewind and after a failed Forward (whose writes count); and a rewound
// State continues exactly as one that never went further.
func TestRewind(t *testing.T) {
	ctx := context.Background()
	m, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	toks := randTokens(rand.New(rand.NewPCG(8, 8)), 40, m.Config.Vocab)
	opt := gemma3.StateOptions{MaxLen: 64, Batch: 4}
	s := m.NewState(opt)
	if err := s.Forward(ctx, toks[:11], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Rewind(0); err != nil {
		t.Errorf("hw 11 (the ring never wrapped): Rewind(0): %v", err)
	}
	if err := s.Forward(ctx, toks[:20], nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pos int
		ok  bool
	}{{20, true}, {16, true}, {15, false}, {3, false}} {
		pos, ok := tc.pos, tc.ok
		err := s.Rewind(pos)
		if ok != (err == nil) || (err != nil && !errors.Is(err, gemma3.ErrContext)) {
			t.Errorf("hw 20: Rewind(%d) = %v, want success %v", pos, err, ok)
		}
		if err == nil && s.Pos() != pos {
			t.Errorf("Rewind(%d): Pos() = %d", pos, s.Pos())
		}
		if err != nil && s.Pos() != 16 && s.Pos() != 20 {
			t.Errorf("a failed Rewind(%d) moved the position to %d", pos, s.Pos())
		}
	}
	// Back at 16 (hw still 20): the rule is against hw, not Pos.
	if err := s.Rewind(16); err != nil {
		t.Fatal(err)
	}
	if err := s.Forward(ctx, toks[16:18], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Rewind(15); err == nil {
		t.Error("hw 20, Pos 18: Rewind(15) worked")
	}
	// A cancelled Forward wrote keys up to position 22 before failing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Forward(cancelled, toks[18:22], nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Forward: %v", err)
	}
	if s.Pos() != 18 {
		t.Fatalf("a failed Forward moved the position to %d", s.Pos())
	}
	if err := s.Rewind(17); err == nil {
		t.Error("hw 22 after a failed Forward: Rewind(17) worked")
	}
	if err := s.Rewind(18); err != nil {
		t.Errorf("hw 22: Rewind(18): %v", err)
	}
	// Continue from 18: the same logits as a State that only ever saw
	// toks[:18].
	got, want := make([]float32, m.Config.Vocab), make([]float32, m.Config.Vocab)
	if err := s.Forward(ctx, toks[18:23], got); err != nil {
		t.Fatal(err)
	}
	fresh := m.NewState(opt)
	if err := fresh.Forward(ctx, toks[:23], want); err != nil {
		t.Fatal(err)
	}
	if d := relDiff(got, want); d != 0 {
		t.Errorf("after rewinds: max |Δ logit| / std = %.3g, want 0", d)
	}
	s.Reset()
	if err := s.Forward(ctx, toks[:2], nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Rewind(0); err != nil {
		t.Errorf("after Reset, hw 2: Rewind(0): %v", err)
	}
}
