package train

import (
	"context"
	"testing"

	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// TestQATForwardAndSTE checks that with Model.QAT set the forward pass
// equals a float model whose matrices hold the fake-quantized weights, and
// that the float weights receive exactly that model's gradients
// (straight-through estimator).
func TestQATForwardAndSTE(t *testing.T) {
	ctx := context.Background()
	v := testVocab(t)
	tok, _ := tokenizer.New(*v)
	data := tok.Encode(testText, false, false)
	in, tg := data[:32], data[1:33]
	for _, bits := range []int{4, 8} {
		cfg := qat.Config{Bits: bits, BlockSize: 32, Symmetric: true}
		a, b := tinyModel(t, v), tinyModel(t, v)
		a.QAT = &cfg
		for i := range b.Layers {
			for _, p := range b.Layers[i].matrices() {
				n, k := p.Value.Shape()[0], p.Value.Shape()[1]
				if _, err := qat.FakeQuantize(p.Value.Data(), p.Value.Data(), k, n, qat.LayoutNK, cfg); err != nil {
					t.Fatal(err)
				}
			}
		}
		la, err := a.Loss(ctx, in, tg, 2, 16)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.Loss(ctx, in, tg, 2, 16)
		if err != nil {
			t.Fatal(err)
		}
		if la != lb {
			t.Errorf("%d bits: QAT loss %v, loss with fake-quantized weights %v; want equal", bits, la, lb)
		}
		pa, pb := a.Params(), b.Params()
		for i := range pa {
			ga, gb := grad(pa[i]), grad(pb[i])
			for j := range ga {
				if ga[j] != gb[j] {
					t.Fatalf("%d bits: %s gradient [%d]: QAT %v, quantized model %v", bits, pa[i].Name, j, ga[j], gb[j])
				}
			}
		}
		// The float weights themselves are untouched by the forward pass.
		if w, q := a.Layers[0].Q.Value.Data()[0], b.Layers[0].Q.Value.Data()[0]; w == q && bits == 4 {
			t.Errorf("4 bits: float weight %v equals its quantized value; the test would not see fake quantization", w)
		}
	}
}
