package generate_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// TestStopAcrossTokens cuts a stop string out of the middle of two tokens'
// text and checks that generation stops there, that neither Result.Text nor
// the streamed text holds any of it, and that the streamed pieces add up to
// the text.
func TestStopAcrossTokens(t *testing.T) {
	ctx := context.Background()
	m, err := generate.Load(ctx, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt, _ := m.Encode("the people of the world", false)
	full, err := m.RunTokens(ctx, prompt, generate.Options{MaxTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	// Find a boundary between two tokens with ≥ 2 bytes on each side.
	var cut, i int
	for i = 1; i+1 < len(full.Tokens); i++ {
		a, _ := m.Tokenizer.Decode(full.Tokens[:i], false)
		b, _ := m.Tokenizer.Decode(full.Tokens[:i+1], false)
		if len(b)-len(a) >= 2 && len(a) >= 2 {
			cut = len(a)
			break
		}
	}
	if cut == 0 {
		t.Fatalf("no two-byte token boundary in %q", full.Text)
	}
	stop := full.Text[cut-2 : cut+2]
	want := full.Text[:strings.Index(full.Text, stop)]
	var streamed []string
	res, err := m.RunTokens(ctx, prompt, generate.Options{MaxTokens: 24, Stop: []string{"never there", stop},
		OnText: func(s string) error { streamed = append(streamed, s); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != want || res.Finish != generate.FinishStop {
		t.Errorf("stop %q in %q: got %q (finish %q), want %q (finish stop)", stop, full.Text, res.Text, res.Finish, want)
	}
	if got := strings.Join(streamed, ""); got != want {
		t.Errorf("stop %q: streamed %q, want %q", stop, streamed, want)
	}
	if len(res.Tokens) > i+1 {
		t.Errorf("stop %q completed by token %d, but %d tokens were generated", stop, i, len(res.Tokens))
	}

	// A held-back prefix that never completes is streamed in the end.
	streamed = nil
	res, err = m.RunTokens(ctx, prompt, generate.Options{MaxTokens: 24, Stop: []string{full.Text[cut-2:cut] + "\x00"},
		OnText: func(s string) error { streamed = append(streamed, s); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(streamed, ""); got != full.Text || res.Text != full.Text || res.Finish != generate.FinishLength {
		t.Errorf("unmatched stop: streamed %q, text %q (finish %q), want %q (finish length)", got, res.Text, res.Finish, full.Text)
	}
}

// tera is 1e12, or the largest int where int has 32 bits.
const tera = int(min(int64(1e12), int64(math.MaxInt)))

func TestMaxTokens(t *testing.T) {
	ctx := context.Background()
	m, err := generate.Load(ctx, tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt, _ := m.Encode("hello", false)
	ctxLen := m.Model.Config.Context
	for _, tc := range []struct {
		name              string
		maxTokens, maxLen int
		tokens            int // generated, unless the model ends its turn first
		finish            generate.FinishReason
	}{
		{"5 tokens", 5, 0, 5, generate.FinishLength},
		{"0: until MaxLen", 0, 20, 20 - len(prompt) + 1, generate.FinishContext},
		{"MaxTokens past MaxLen", 100, 20, 20 - len(prompt) + 1, generate.FinishContext},
		{"MaxLen past the context", 5, math.MaxInt, 5, generate.FinishLength},
		{"1e12", tera, 20, 20 - len(prompt) + 1, generate.FinishContext},
		{"MaxInt: until the model's context", math.MaxInt, 0, ctxLen - len(prompt) + 1, generate.FinishContext},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := m.RunTokens(ctx, prompt, generate.Options{MaxTokens: tc.maxTokens, MaxLen: tc.maxLen,
				Sampling: generate.Sampling{Temperature: 1, Seed: 3}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Finish == generate.FinishStop && len(res.Tokens) < tc.tokens {
				t.Skipf("the model ended its turn after %d tokens", len(res.Tokens))
			}
			if len(res.Tokens) != tc.tokens || res.Finish != tc.finish {
				t.Errorf("MaxTokens %d, MaxLen %d: got %d tokens (finish %q), want %d (finish %q)",
					tc.maxTokens, tc.maxLen, len(res.Tokens), res.Finish, tc.tokens, tc.finish)
			}
		})
	}
	for _, opt := range []generate.Options{{MaxTokens: -1}, {MaxLen: -1}, {Threads: -1}, {Stop: []string{"a", ""}}} {
		if _, err := m.RunTokens(ctx, prompt, opt); !errors.Is(err, generate.ErrOptions) {
			t.Errorf("%+v: got %v, want ErrOptions", opt, err)
		}
	}
	if _, err := m.RunTokens(ctx, prompt, generate.Options{MaxLen: len(prompt)}); !errors.Is(err, gemma3.ErrContext) {
		t.Errorf("prompt filling MaxLen: got %v, want ErrContext", err)
	}
	s, err := m.NewSession("", 40)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(ctx, "hello", generate.Options{MaxTokens: math.MaxInt, Sampling: generate.Sampling{Temperature: 1, Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Finish != generate.FinishContext && res.Finish != generate.FinishStop {
		t.Errorf("session send with MaxTokens MaxInt: finish %q, want context (or stop)", res.Finish)
	}
	if _, err := m.NewSession("", -1); !errors.Is(err, generate.ErrOptions) {
		t.Errorf("NewSession(-1): got %v, want ErrOptions", err)
	}
}

func TestLoadOptions(t *testing.T) {
	ctx := context.Background()
	path := tinyModel(t)
	var last, total int64
	calls := 0
	m, err := generate.Load(ctx, path, generate.WithThreads(1), generate.WithExact(true), generate.WithNotice(func(string) {}),
		generate.WithProgress(func(done, tot int64) { calls++; last, total = done, tot }))
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != total || total <= 0 {
		t.Errorf("progress: %d calls, last %d of %d; want done = total > 0", calls, last, total)
	}
	if _, err := m.Generate(ctx, "hello", generate.Options{MaxTokens: 3}); err != nil {
		t.Errorf("exact kernels: %v", err)
	}
	m.Close()

	if _, err := generate.Load(ctx, path, generate.WithThreads(-1)); !errors.Is(err, generate.ErrOptions) {
		t.Errorf("WithThreads(-1): got %v, want ErrOptions", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := generate.Load(cctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
	// Cancelled during the conversion: the conversion stops before the next
	// tensor, so progress is reported once.
	cctx, cancel = context.WithCancel(ctx)
	reports := 0
	_, err = generate.Load(cctx, path, generate.WithProgress(func(done, total int64) {
		reports++
		cancel()
	}))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "loading stopped before tensor") {
		t.Errorf("cancelled while loading: got %v, want context.Canceled naming the tensor", err)
	}
	if reports != 1 {
		t.Errorf("progress reported %d times after the first report cancelled the load, want once", reports)
	}

	for _, b := range []budget.Limit{1 << 10, 1 << 20} { // the header; the weights
		if _, err := generate.Load(ctx, path, generate.WithBudget(b)); !errors.Is(err, budget.ErrExceeded) {
			t.Errorf("WithBudget(%d): got %v, want budget.ErrExceeded", b, err)
		}
	}
}
