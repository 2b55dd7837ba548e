package gemma3_test

import (
	"context"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// TestDecodeAllocs checks that a decode step allocates nothing in steady
// state when it runs on one thread (parallel loops on the shared worker
// pool cost two small allocations each).
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops buffers at random")
	}
	for _, typ := range []quant.Type{quant.F32, quant.Q8_0} {
		m, err := gemma3.Load(writeTiny(t, typ), gemma3.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := m.NewState(gemma3.StateOptions{MaxLen: 256, Threads: 1})
		logits := make([]float32, m.Config.Vocab)
		ctx := context.Background()
		tok := []int32{400}
		if err := s.Forward(ctx, []int32{2, 400, 401}, logits); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := s.Forward(ctx, tok, logits); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per decode step, want 0", typ, allocs)
		}
	}
}

// BenchmarkTiny measures prompt (64 tokens) and decode tokens/s of the
// tiny model.
func BenchmarkTiny(b *testing.B) {
	for _, typ := range []quant.Type{quant.F32, quant.Q8_0, quant.Q4_0} {
		m, err := gemma3.Load(writeTiny(b, typ), gemma3.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		prompt := make([]int32, 64)
		for i := range prompt {
			prompt[i] = int32(363 + i)
		}
		logits := make([]float32, m.Config.Vocab)
		ctx := context.Background()
		b.Run(typ.String()+"/prompt", func(b *testing.B) {
			s := m.NewState(gemma3.StateOptions{MaxLen: 256, Batch: 64})
			for b.Loop() {
				s.Reset()
				s.Forward(ctx, prompt, logits)
			}
			b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run(typ.String()+"/decode", func(b *testing.B) {
			s := m.NewState(gemma3.StateOptions{MaxLen: 256})
			s.Forward(ctx, prompt[:8], logits)
			n := 0
			for b.Loop() {
				if s.Pos() == s.MaxLen() {
					s.Reset()
					if err := s.Forward(ctx, prompt[:8], logits); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Forward(ctx, []int32{400}, logits); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
		})
		m.Close()
	}
}
