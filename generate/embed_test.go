package generate_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// closeTo reports whether a and b differ by at most tol times b's
// largest magnitude, value by value.
func closeTo(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	var scale float64
	for _, v := range b {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol*scale {
			return false
		}
	}
	return true
}

// TestEmbed checks the poolings against each other through causality (a
// prefix's last state is the same token's state in the longer prompt):
// cls is the last state of the first token alone, mean the average of
// every prefix's last state. The last state through the LM head gives the
// logits of State.Forward. A Batcher's Embed, run beside generations and
// other embeddings, gives Model.Embed's vectors, and leaves the prompt in
// the slot's cache for a Run.
func TestEmbed(t *testing.T) {
	ctx := context.Background()
	m := builtinModel(t)
	H := m.Model.Config.Hidden
	prompt, err := m.Encode("The quick brown fox jumps over the lazy dog, again and again.", false)
	if err != nil {
		t.Fatal(err)
	}
	embed := func(p []int32, pool generate.Pooling) []float32 {
		t.Helper()
		v, err := m.Embed(ctx, p, pool)
		if err != nil {
			t.Fatalf("Embed(%d tokens, %v): %v", len(p), pool, err)
		}
		if len(v) != H {
			t.Fatalf("Embed(%d tokens, %v): %d values, want %d", len(p), pool, len(v), H)
		}
		return v
	}
	mean := make([]float32, H)
	for k := range prompt {
		for i, v := range embed(prompt[:k+1], generate.PoolLast) {
			mean[i] += v / float32(len(prompt))
		}
	}
	if got := embed(prompt, generate.PoolMean); !closeTo(got, mean, 1e-4) {
		t.Errorf("mean pooling %v…, want the average of the prefixes' last states %v…", got[:4], mean[:4])
	}
	if got, want := embed(prompt, generate.PoolCLS), embed(prompt[:1], generate.PoolLast); !closeTo(got, want, 1e-5) {
		t.Errorf("cls pooling %v…, want the first token's state %v…", got[:4], want[:4])
	}
	last := embed(prompt, generate.PoolLast)
	lm := m.Model.Weights.Embed
	if m.Model.Weights.Output != nil {
		lm = m.Model.Weights.Output
	}
	V := m.Model.Config.Vocab
	got, want := make([]float32, V), make([]float32, V)
	if err := lm.MatMul(ctx, got, last, 1, 0); err != nil {
		t.Fatal(err)
	}
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: len(prompt)})
	if err := st.Forward(ctx, prompt, want); err != nil {
		t.Fatal(err)
	}
	if !closeTo(got, want, 1e-3) {
		t.Errorf("LM head of the last state %v…, want State.Forward's logits %v…", got[:4], want[:4])
	}

	b := newBatcher(t, m, generate.BatcherOptions{Slots: 3, Context: 3 * 256, Chunk: 8})
	var wg sync.WaitGroup
	for i, pool := range []generate.Pooling{generate.PoolMean, generate.PoolLast, generate.PoolCLS} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			v, err := b.Embed(ctx, prompt[i:], pool)
			if err != nil {
				t.Errorf("Batcher.Embed(%v): %v", pool, err)
				return
			}
			if want := embed(prompt[i:], pool); !closeTo(v, want, 1e-4) {
				t.Errorf("Batcher.Embed(%v) %v…, want Model.Embed's %v…", pool, v[:4], want[:4])
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := b.Run(ctx, prompt[:5+i], generate.Options{MaxTokens: 6}); err != nil {
				t.Errorf("Run beside embeddings: %v", err)
			}
		}()
	}
	wg.Wait()
	long := append(append([]int32(nil), prompt...), prompt...)
	if _, err := b.Embed(ctx, long, generate.PoolMean); err != nil {
		t.Fatal(err)
	}
	res, err := b.Run(ctx, append(long, prompt[:3]...), generate.Options{MaxTokens: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.CachedTokens != len(long) {
		t.Errorf("Run after Embed of its first %d tokens took %d from the cache, want %d", len(long), res.CachedTokens, len(long))
	}
}

func TestEmbedErrors(t *testing.T) {
	ctx := context.Background()
	m := builtinModel(t)
	b := newBatcher(t, m, generate.BatcherOptions{Slots: 1, Context: 64})
	long := make([]int32, 65)
	for _, tc := range []struct {
		name   string
		prompt []int32
		pool   generate.Pooling
		want   error
	}{
		{"empty", nil, generate.PoolMean, generate.ErrOptions},
		{"token out of range", []int32{2, int32(m.Model.Config.Vocab)}, generate.PoolMean, gemma3.ErrToken},
		{"negative token", []int32{-1}, generate.PoolLast, gemma3.ErrToken},
		{"unknown pooling", []int32{2, 3}, generate.Pooling(9), generate.ErrOptions},
		{"longer than the slot", long, generate.PoolMean, gemma3.ErrContext},
	} {
		if _, err := b.Embed(ctx, tc.prompt, tc.pool); !errors.Is(err, tc.want) {
			t.Errorf("Batcher.Embed(%s): got %v, want %v", tc.name, err, tc.want)
		}
		if tc.name == "longer than the slot" {
			continue
		}
		if _, err := m.Embed(ctx, tc.prompt, tc.pool); !errors.Is(err, tc.want) {
			t.Errorf("Model.Embed(%s): got %v, want %v", tc.name, err, tc.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Embed(cctx, []int32{2, 3}, generate.PoolMean); !errors.Is(err, context.Canceled) {
		t.Errorf("Batcher.Embed with a cancelled context: got %v, want context.Canceled", err)
	}
	for _, s := range []string{"mean", "LAST", "cls"} {
		p, err := generate.ParsePooling(s)
		if err != nil || !(p.String() == s || p.String() == "last") {
			t.Errorf("ParsePooling(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := generate.ParsePooling("rank"); !errors.Is(err, generate.ErrOptions) {
		t.Errorf("ParsePooling(rank): got %v, want ErrOptions", err)
	}
	v := []float32{3, 4}
	generate.Normalize(v)
	if v[0] != 0.6 || v[1] != 0.8 {
		t.Errorf("Normalize(3, 4) = %v, want [0.6 0.8]", v)
	}
}
