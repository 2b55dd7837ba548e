package gemma3_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// TestLoadCopies checks that Load copies F16, BF16 and F32 matrices out of
// the file mapping unless LoadOptions.Mapped, where they stay in place, and
// that both give the same logits.
func TestLoadCopies(t *testing.T) {
	for _, typ := range []quant.Type{quant.F16, quant.BF16, quant.F32} {
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := gemma3test.Write(path, gemma3test.Options{Type: typ, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		var logits [2][]float32
		for i, mapped := range []bool{false, true} {
			m, err := gemma3.Load(path, gemma3.LoadOptions{Mapped: mapped})
			if err != nil {
				t.Fatal(err)
			}
			in, ok := gemma3.InFileMapping(m.Weights.Layers[0].Down)
			if !ok {
				t.Fatalf("%v: Down is %T", typ, m.Weights.Layers[0].Down)
			}
			if in != mapped {
				t.Errorf("%v Mapped %v: Down's bytes in the file mapping: %v", typ, mapped, in)
			}
			s := m.NewState(gemma3.StateOptions{MaxLen: 16, Batch: 8, CacheType: gemma3.CacheF32})
			logits[i] = make([]float32, m.Config.Vocab)
			if err := s.Forward(context.Background(), []int32{2, 108, 109, 110}, logits[i]); err != nil {
				t.Fatal(err)
			}
			m.Close()
		}
		for j := range logits[0] {
			if logits[0][j] != logits[1][j] {
				t.Fatalf("%v: logit %d copied %v, in place %v", typ, j, logits[0][j], logits[1][j])
			}
		}
	}
}
