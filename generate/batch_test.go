package generate_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/grammar"
	"github.com/zerfoo/zerfoo/internal/defaultmodel"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// builtinModel loads the built-in trained tiny model.
func builtinModel(t testing.TB) *generate.Model {
	t.Helper()
	p, err := defaultmodel.Path()
	if err != nil {
		t.Fatal(err)
	}
	m, err := generate.Load(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newBatcher(t testing.TB, m *generate.Model, opt generate.BatcherOptions) *generate.Batcher {
	t.Helper()
	b, err := m.NewBatcher(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// run is one generation with its streamed text and tokens.
type run struct {
	res      generate.Result
	streamed string
	toks     []int32
}

func collect(opt generate.Options, f func(generate.Options) (generate.Result, error)) (run, error) {
	var r run
	var sb strings.Builder
	opt.OnText = func(s string) error { sb.WriteString(s); return nil }
	opt.OnToken = func(t generate.Token) error { r.toks = append(r.toks, t.ID); return nil }
	res, err := f(opt)
	r.res, r.streamed = res, sb.String()
	return r, err
}

func sameRun(t *testing.T, name string, got, want run) {
	t.Helper()
	if !slices.Equal(got.res.Tokens, want.res.Tokens) || got.res.Text != want.res.Text || got.res.Finish != want.res.Finish ||
		got.streamed != want.streamed || !slices.Equal(got.toks, want.toks) {
		t.Errorf("%s: batcher gave %v %q (%s, streamed %q), RunTokens %v %q (%s, streamed %q)", name,
			got.res.Tokens, got.res.Text, got.res.Finish, got.streamed, want.res.Tokens, want.res.Text, want.res.Finish, want.streamed)
	}
}

// TestBatcherMatchesRunTokens checks that one sequence in a Batcher
// produces exactly RunTokens' tokens, text, stream and finish: greedy,
// seeded sampling with penalties, stop strings and a grammar.
func TestBatcherMatchesRunTokens(t *testing.T) {
	m := builtinModel(t)
	ctx := context.Background()
	g, err := grammar.FromJSONSchema([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	seeded := generate.Options{MaxTokens: 24}
	seeded.Temperature, seeded.TopK, seeded.TopP, seeded.Seed = 0.9, 40, 0.95, 7
	seeded.PresencePenalty, seeded.RepetitionPenalty = 0.5, 1.1
	seeded.LogitBias = map[int32]float64{5: 3}
	for _, tc := range []struct {
		name   string
		prompt string
		opt    generate.Options
	}{
		{"greedy", "The sky is", generate.Options{MaxTokens: 20}},
		{"seeded", "Once upon a time", seeded},
		{"stop", "The sky is", generate.Options{MaxTokens: 40, Stop: []string{"e"}}},
		{"grammar", "JSON:", generate.Options{MaxTokens: 40, Grammar: g}},
		{"context", "The sky is", generate.Options{MaxLen: 12}},
	} {
		ids, err := m.Encode(tc.prompt, false)
		if err != nil {
			t.Fatal(err)
		}
		want, err := collect(tc.opt, func(o generate.Options) (generate.Result, error) { return m.RunTokens(ctx, ids, o) })
		if err != nil {
			t.Fatalf("%s: RunTokens: %v", tc.name, err)
		}
		for _, chunk := range []int{0, 2} {
			b := newBatcher(t, m, generate.BatcherOptions{Slots: 2, Chunk: chunk})
			got, err := collect(tc.opt, func(o generate.Options) (generate.Result, error) { return b.Run(ctx, ids, o) })
			if err != nil {
				t.Fatalf("%s: Batcher.Run: %v", tc.name, err)
			}
			sameRun(t, fmt.Sprintf("%s chunk %d", tc.name, chunk), got, want)
			if got.res.PromptTokens != len(ids) || got.res.CachedTokens != 0 {
				t.Errorf("%s: prompt tokens %d cached %d, want %d and 0", tc.name, got.res.PromptTokens, got.res.CachedTokens, len(ids))
			}
		}
	}
}

// TestBatcherConcurrent runs more requests than slots at once: each gives
// the tokens it gives alone (greedy, or seeded sampling for every other
// one, sampled on parallel goroutines).
func TestBatcherConcurrent(t *testing.T) {
	m := builtinModel(t)
	ctx := context.Background()
	prompts := []string{"The sky is", "Once upon a time there was", "A", "In the beginning", "Water is wet because", "Go is a language", "Red", "The cat sat on the mat and"}
	want := make([][]int32, len(prompts))
	ids := make([][]int32, len(prompts))
	opts := make([]generate.Options, len(prompts))
	for i, p := range prompts {
		ids[i], _ = m.Encode(p, false)
		opts[i] = generate.Options{MaxTokens: 12 + i}
		if i%2 == 1 {
			opts[i].Temperature, opts[i].Seed = 0.8, uint64(i)
		}
		res, err := m.RunTokens(ctx, ids[i], opts[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Tokens
	}
	var steps, most int
	var mu sync.Mutex
	var b *generate.Batcher
	b = newBatcher(t, m, generate.BatcherOptions{Slots: 4, Chunk: 3, StepTokens: 8, OnStep: func(seqs, _ int) {
		mu.Lock()
		steps, most = steps+1, max(most, seqs)
		first := steps == 1
		mu.Unlock()
		if first {
			// Hold the engine after its first step until every slot
			// is taken, so that the next steps batch them even where
			// a loaded machine starts the goroutines late (the first
			// request alone could otherwise finish before the second
			// arrives).
			allBusy(t, b, 30*time.Second)
		}
	}})
	var wg sync.WaitGroup
	for i := range prompts {
		wg.Go(func() {
			res, err := b.Run(ctx, ids[i], opts[i])
			if err != nil {
				t.Errorf("%q: %v", prompts[i], err)
				return
			}
			if !slices.Equal(res.Tokens, want[i]) {
				t.Errorf("%q: got %v, want %v", prompts[i], res.Tokens, want[i])
			}
		})
	}
	wg.Wait()
	if most < 2 {
		t.Errorf("at most %d sequences in a step over %d steps, want batching", most, steps)
	}
	t.Logf("%d steps, up to %d sequences", steps, most)
}

// TestBatcherStreamsEachStep checks that a Run's callbacks get each token
// right after the step that sampled it, not in bursts: the engine
// goroutine, which never blocks while a sequence is active, yields after
// each step to the goroutines it woke. Without that, a Run's goroutine
// waited in the engine's run queue until the runtime preempted the engine
// (after 10 ms), and its callbacks then ran for every step since at once.
// Each step here is made to take 0.5 ms, as a model's would (the tiny
// model's take microseconds), so that a burst spans about 20 steps.
func TestBatcherStreamsEachStep(t *testing.T) {
	m := builtinModel(t)
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 1})
	generate.SetBatcherHook(b, func([]gemma3.Seq) {
		for t0 := time.Now(); time.Since(t0) < 500*time.Microsecond; {
		}
	})
	ids, _ := m.Encode("Once upon a time", false)
	bias := map[int32]float64{}
	for _, id := range generate.StopTokens(m) {
		bias[id] = -100 // so that it generates all MaxTokens
	}
	before := b.Stats().Steps
	var lags []int64
	opt := generate.Options{MaxTokens: 64, Sampling: generate.Sampling{LogitBias: bias}}
	opt.OnToken = func(generate.Token) error {
		// Token k (from 0) was sampled after step k+1 (one prefill
		// step); the steps run since are its lag.
		lags = append(lags, b.Stats().Steps-before-int64(len(lags)+1))
		return nil
	}
	res, err := b.Run(context.Background(), ids, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tokens) != 64 || len(lags) != 64 {
		t.Fatalf("%d tokens, %d callbacks, want 64", len(res.Tokens), len(lags))
	}
	// The median, not the largest: where the machine is loaded, the
	// thread running a callback may lose its core for a few
	// milliseconds while the engine goes on on another (a yield cannot
	// prevent that), and the tokens of those steps then come together.
	// In bursts half the tokens wait ten steps or more.
	sorted := slices.Clone(lags)
	slices.Sort(sorted)
	if med := sorted[len(sorted)/2]; med > 2 {
		t.Errorf("a token's callback ran a median %d steps after the step that sampled it (lags %v)", med, lags)
	}
}

// TestBatcherPromptCache checks that a second request sharing a prefix
// with the first prefills only its new tokens and generates what it
// generates alone.
func TestBatcherPromptCache(t *testing.T) {
	m := builtinModel(t)
	ctx := context.Background()
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 2, Chunk: 4})
	p1, _ := m.Encode("The sky is blue because", false)
	r1, err := b.Run(ctx, p1, generate.Options{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	// The cache holds the prompt and the generated tokens but the last.
	held := len(p1) + len(r1.Tokens) - 1
	more, _ := m.Encode(" and so on", false)
	p2 := append(append(slices.Clone(p1), r1.Tokens...), more[1:]...) // without BOS
	before := b.Stats()
	r2, err := b.Run(ctx, p2, generate.Options{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	after := b.Stats()
	if r2.CachedTokens != held || after.Cached-before.Cached != int64(held) || after.Prefilled-before.Prefilled != int64(len(p2)-held) {
		t.Errorf("second request: cached %d (stats %d), prefilled %d; want %d cached, %d prefilled",
			r2.CachedTokens, after.Cached-before.Cached, after.Prefilled-before.Prefilled, held, len(p2)-held)
	}
	want, err := m.RunTokens(ctx, p2, generate.Options{MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r2.Tokens, want.Tokens) {
		t.Errorf("with the cache: %v, alone: %v", r2.Tokens, want.Tokens)
	}
	// Another prompt shares the BOS token with the used slot only.
	p3, _ := m.Encode("zzz", false)
	if _, err := b.Run(ctx, p3, generate.Options{MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if !slices.Equal(st.SlotTokens, []int{len(p3) + 1, 0}) || st.KVBytes <= 0 {
		t.Errorf("slot tokens %v (want [%d 0]), KV bytes %d", st.SlotTokens, len(p3)+1, st.KVBytes)
	}
}

// TestBatcherSlotChoice checks that an unrelated prompt, sharing only the
// BOS token, takes the least recently used slot and leaves the other
// slot's cache for the conversation that fills it.
func TestBatcherSlotChoice(t *testing.T) {
	m := builtinModel(t)
	ctx := context.Background()
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 2})
	chat, _ := m.Encode("The sky is blue because the air scatters the short waves of the light of the sun", false)
	other, _ := m.Encode("Water boils at one hundred degrees at the level of the sea, which is why", false)
	for _, p := range [][]int32{chat, other} {
		if _, err := b.Run(ctx, p, generate.Options{MaxTokens: 2}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Run(ctx, chat, generate.Options{MaxTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.CachedTokens != len(chat)-1 {
		t.Errorf("the conversation again: %d cached tokens, want %d (its slot kept)", res.CachedTokens, len(chat)-1)
	}
}

// TestBatcherCancel stops generations mid-stream (ctx cancelled, a
// callback error): Run returns the error and the slot serves the next
// request.
func TestBatcherCancel(t *testing.T) {
	m := builtinModel(t)
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 1})
	ids, _ := m.Encode("The sky is", false)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := b.Run(ctx, ids, generate.Options{OnToken: func(generate.Token) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
	boom := errors.New("client gone")
	res, err := b.Run(context.Background(), ids, generate.Options{OnText: func(string) error { return boom }})
	if !errors.Is(err, boom) || len(res.Tokens) == 0 || res.Finish != "" {
		t.Errorf("callback error: got %v after %d tokens (finish %q), want %v", err, len(res.Tokens), res.Finish, boom)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b.Run(context.Background(), ids, generate.Options{MaxTokens: 4})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the slot was not freed")
	}
}

// TestBatcherPanic makes one step panic: its requests fail, the others
// and later ones run.
func TestBatcherPanic(t *testing.T) {
	m := builtinModel(t)
	ctx := context.Background()
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 2})
	ids, _ := m.Encode("The sky is", false)
	want, err := m.RunTokens(ctx, ids, generate.Options{MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	generate.SetBatcherHook(b, func([]gemma3.Seq) { once.Do(func() { panic("kernel bug") }) })
	if _, err := b.Run(ctx, ids, generate.Options{MaxTokens: 6}); err == nil || !strings.Contains(err.Error(), "kernel bug") {
		t.Errorf("panicking step: got %v, want an error naming the panic", err)
	}
	res, err := b.Run(ctx, ids, generate.Options{MaxTokens: 6})
	if err != nil || !reflect.DeepEqual(res.Tokens, want.Tokens) {
		t.Errorf("after the panic: %v %v, want %v", res.Tokens, err, want.Tokens)
	}
}

// TestBatcherClose fails waiting and later Runs.
func TestBatcherClose(t *testing.T) {
	m := builtinModel(t)
	b, err := m.NewBatcher(generate.BatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	ids, _ := m.Encode("x", false)
	if _, err := b.Run(context.Background(), ids, generate.Options{}); !errors.Is(err, generate.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// allBusy waits until every slot of b is taken by a request, or fails
// the test after timeout.
func allBusy(t *testing.T, b *generate.Batcher, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		busy := 0
		for _, n := range b.Stats().SlotTokens {
			if n < 0 {
				busy++
			}
		}
		if busy == len(b.Stats().SlotTokens) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d slots taken after %v", busy, len(b.Stats().SlotTokens), timeout)
			return
		}
		time.Sleep(time.Millisecond)
	}
}
