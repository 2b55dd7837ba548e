package serve

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestPromptCache sends a chat's second turn: its usage, /slots and
// /metrics report the prompt tokens taken from the first turn's cache.
func TestPromptCache(t *testing.T) {
	_, ts := start(t, Options{Parallel: 1, CtxSize: 256})
	type out struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage usage `json:"usage"`
	}
	turn := func(msgs []map[string]string) out {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"messages": msgs, "max_tokens": 6, "temperature": 0})
		code, _, b := post(t, context.Background(), ts.URL+"/v1/chat/completions", body)
		if code != 200 {
			t.Fatalf("got %d %s", code, b)
		}
		var o out
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	msgs := []map[string]string{{"role": "user", "content": "Tell me a story."}}
	first := turn(msgs)
	if c := first.Usage.PromptTokensDetails.CachedTokens; c != 0 {
		t.Errorf("first turn: %d cached tokens, want 0", c)
	}
	msgs = append(msgs, map[string]string{"role": "assistant", "content": first.Choices[0].Message.Content},
		map[string]string{"role": "user", "content": "And then?"})
	second := turn(msgs)
	c := second.Usage.PromptTokensDetails.CachedTokens
	if c < first.Usage.PromptTokens || c >= second.Usage.PromptTokens {
		t.Errorf("second turn: %d of %d prompt tokens cached, want at least the first prompt's %d", c, second.Usage.PromptTokens, first.Usage.PromptTokens)
	}
	code, m := get(t, ts.URL+"/metrics")
	if code != 200 || !strings.Contains(string(m), "zerfoo_prompt_tokens_cached_total ") ||
		!strings.Contains(string(m), "zerfoo_kv_cache_bytes ") || !strings.Contains(string(m), "zerfoo_batch_sequences_count ") {
		t.Errorf("/metrics: %d %s", code, m)
	}
	code, sl := get(t, ts.URL+"/slots")
	var slots []struct {
		Cached int `json:"n_prompt_tokens_cache"`
		Held   int `json:"n_cache_tokens"`
	}
	if err := json.Unmarshal(sl, &slots); code != 200 || err != nil || len(slots) != 1 || slots[0].Cached != c || slots[0].Held < second.Usage.PromptTokens {
		t.Errorf("/slots: %d %s (%v), want %d cached, at least %d held", code, sl, err, c, second.Usage.PromptTokens)
	}
}

// TestWarmup checks that SetModel runs one warm-up generation through the
// batch unless NoWarmup, and leaves every slot's cache empty.
func TestWarmup(t *testing.T) {
	for _, no := range []bool{false, true} {
		s, _ := start(t, Options{Parallel: 3, CtxSize: 384, NoWarmup: no})
		st := s.batcher.Load().Stats()
		if ran := st.Steps > 0; ran == no {
			t.Errorf("NoWarmup %v: %d steps, %d tokens prefilled after SetModel", no, st.Steps, st.Prefilled)
		}
		for i, n := range st.SlotTokens {
			if n != 0 {
				t.Errorf("NoWarmup %v: slot %d holds %d tokens after SetModel, want 0", no, i, n)
			}
		}
	}
	// Two positions per slot: the warm-up prompt is cut to one token.
	s, _ := start(t, Options{Parallel: 1, CtxSize: 2})
	if st := s.batcher.Load().Stats(); st.Prefilled != 1 {
		t.Errorf("two positions: the warm-up prefilled %d tokens, want 1", st.Prefilled)
	}
}
