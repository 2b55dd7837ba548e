package exec

import (
	"context"
	"testing"
)

// TestBERTRepeat runs each quantized BERT form three times and checks that
// every run gives the first run's output bit for bit: the float outputs of
// attention, LayerNormalization, BiasGelu and the int8 products come from
// the Program's arena, so later runs get buffers earlier ones filled.
//
//	go test ./onnx/exec -run TestBERTRepeat -v -bert-dir DIR
func TestBERTRepeat(t *testing.T) {
	if *bertDir == "" {
		t.Skip("-bert-dir not set")
	}
	for _, form := range []string{"dynamic", "qoperator", "qdq"} {
		for _, b := range []int{1, 8} {
			p, feeds := loadBERT(t, form, b)
			var first []float32
			for i := 0; i < 3; i++ {
				out, err := p.Run(context.Background(), feeds)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range out {
					f, err := floats(v)
					if err != nil {
						t.Fatal(err)
					}
					if i == 0 {
						first = append([]float32(nil), f...)
						break
					}
					for j := range f {
						if f[j] != first[j] {
							t.Fatalf("%s b%d run %d: out[%d] %v != %v", form, b, i, j, f[j], first[j])
						}
					}
					break
				}
			}
			if p.arena.reused == 0 {
				t.Errorf("%s b%d: no buffer reused", form, b)
			}
		}
	}
}
