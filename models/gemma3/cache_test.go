package gemma3_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// randTokens returns n random token ids below vocab.
func randTokens(r *rand.Rand, n, vocab int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(r.IntN(vocab))
	}
	return t
}

// TestCacheTypes compares the logits of F16 and Q8_0 KV caches with an
// F32 cache's over a 40-token prompt (past the window of 8, in batches of
// 16) and 24 decode steps. Measured max |Δ logit| / std on the tiny
// model's F32 weights: F16 2.8e-3 (fp16 keys, values, queries and
// attention weights), Q8_0 3.7e-2 (8-bit codes: ~0.4% relative error per
// key and value, through six layers). On Q8_0 weights any such change
// also moves activations across Q8_0 rounding boundaries, which the random
// network amplifies (as in TestLlamaCpp): measured 8–9e-2.
func TestCacheTypes(t *testing.T) {
	ctx := context.Background()
	for _, typ := range []quant.Type{quant.F32, quant.Q8_0} {
		m, err := gemma3.Load(writeTiny(t, typ), gemma3.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		r := rand.New(rand.NewPCG(4, 4))
		toks := randTokens(r, 64, m.Config.Vocab)
		run := func(ct gemma3.CacheType) [][]float32 {
			s := m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: ct})
			if s.CacheType() != ct {
				t.Fatalf("CacheType() = %v, want %v", s.CacheType(), ct)
			}
			var out [][]float32
			l := make([]float32, m.Config.Vocab)
			if err := s.Forward(ctx, toks[:40], l); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
			for i := 40; i < len(toks); i++ {
				l := make([]float32, m.Config.Vocab)
				if err := s.Forward(ctx, toks[i:i+1], l); err != nil {
					t.Fatal(err)
				}
				out = append(out, l)
			}
			return out
		}
		want := run(gemma3.CacheF32)
		tols := map[gemma3.CacheType]float64{gemma3.CacheF16: 1e-2, gemma3.CacheQ8_0: 6e-2}
		if typ != quant.F32 {
			tols = map[gemma3.CacheType]float64{gemma3.CacheF16: 1.5e-1, gemma3.CacheQ8_0: 1.5e-1}
		}
		for _, tc := range []struct {
			ct  gemma3.CacheType
			tol float64
		}{{gemma3.CacheF16, tols[gemma3.CacheF16]}, {gemma3.CacheQ8_0, tols[gemma3.CacheQ8_0]}} {
			worst := 0.0
			for i, got := range run(tc.ct) {
				worst = max(worst, relDiff(got, want[i]))
			}
			t.Logf("%v weights, %v cache: max |Δ logit| / std = %.3g against an F32 cache", typ, tc.ct, worst)
			if worst > tc.tol {
				t.Errorf("%v weights, %v cache: max |Δ logit| / std = %.3g, want ≤ %g", typ, tc.ct, worst, tc.tol)
			}
		}
	}
}

// TestCacheMemory checks the KV memory of each cache type (NewState's
// budget and State.Bytes) and that CacheOnly leaves out the scratch.
func TestCacheMemory(t *testing.T) {
	m, err := gemma3.Load(writeTiny(t, quant.Q8_0), gemma3.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config
	// 6 layers: 5 local rings of 8 + 16 − 1 slots and one global of 64.
	slots := int64(5*(c.Window+16-1) + 64)
	for _, tc := range []struct {
		ct      gemma3.CacheType
		perSlot int64 // bytes of one slot's K and V
	}{{gemma3.CacheF32, 2 * 4 * 128}, {gemma3.CacheF16, 2 * 2 * 128}, {gemma3.CacheQ8_0, 2 * 4 * 34}} {
		s := m.NewState(gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: tc.ct, CacheOnly: true})
		if got, want := s.Bytes(), slots*tc.perSlot; got != want {
			t.Errorf("%v: Bytes() = %d, want %d", tc.ct, got, want)
		}
		// The budget check counts the same bytes: one byte less fails.
		opt := gemma3.StateOptions{MaxLen: 64, Batch: 16, CacheType: tc.ct, CacheOnly: true, Budget: budget.Limit(slots * tc.perSlot)}
		if err := m.NewState(opt).Err(); err != nil {
			t.Errorf("%v: budget of exactly the cache: %v", tc.ct, err)
		}
		opt.Budget--
		if err := m.NewState(opt).Err(); !errors.Is(err, budget.ErrExceeded) {
			t.Errorf("%v: budget one byte short of the cache: got %v, want budget.ErrExceeded", tc.ct, err)
		}
		if err := s.Forward(context.Background(), []int32{2}, nil); err != nil {
			t.Fatal(err)
		}
		if s.Bytes() <= slots*tc.perSlot {
			t.Errorf("%v: Bytes() = %d after its own Forward allocated its scratch", tc.ct, s.Bytes())
		}
	}
	for _, name := range []string{"f32", "F16", "q8_0"} {
		ct, err := gemma3.ParseCacheType(name)
		if err != nil || !strings.EqualFold(ct.String(), name) {
			t.Errorf("ParseCacheType(%q) = %v, %v", name, ct, err)
		}
	}
	if _, err := gemma3.ParseCacheType("q4_0"); err == nil {
		t.Error("ParseCacheType(q4_0): no error")
	}
}
