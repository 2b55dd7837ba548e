package train

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/qat"
	"github.com/zerfoo/zerfoo/tokenizer"
)

// TestQATGemma3CloserThanRTN measures the Gemma 3 rows of the QAT table in
// docs/QUANTIZATION.md. A nano Gemma 3 decoder is trained on the first 80 %
// of the first 120 000 bytes of the Go specification under GOROOT
// (tokenizer trained on the same text, 320 tokens); its validation loss on
// the last 20 % is measured (a) in float32, (b) with every layer matrix
// rounded to nearest 4-bit block-wise (qat.FakeQuantize, the codes export
// writes) and (c) after a QAT fine-tune from (a) (Model.QAT set), quantized
// the same way. A float fine-tune from (a) with the same steps is the
// control: (c) must be closer to (a) than (b) is, and (c) must exceed the
// control by less than (b) exceeds (a).
//
//	go test ./models/gemma3/train -run TestQATGemma3CloserThanRTN -v
func TestQATGemma3CloserThanRTN(t *testing.T) {
	ctx := t.Context()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to locate GOROOT: %v", err)
	}
	text, err := ReadCorpus(filepath.Join(strings.TrimSpace(string(goroot)), "doc", "go_spec.html"))
	if err != nil {
		t.Skipf("no Go specification to train on: %v", err)
	}
	text = text[:min(len(text), 120000)]
	v, err := tokenizer.Train(text, tokenizer.TrainOptions{VocabSize: 320})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.New(v)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(text, false, false)
	cut := len(ids) * 8 / 10
	trainIDs, valIDs := ids[:cut], ids[cut:]
	c, err := Preset("nano", len(v.Tokens))
	if err != nil {
		t.Fatal(err)
	}
	const seqLen = 32
	fm, err := New(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, fm, trainIDs, Options{Steps: 1200, Batch: 8, SeqLen: seqLen, BOS: v.BOS, LR: 1e-2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	fine := Options{Steps: 150, Batch: 8, SeqLen: seqLen, BOS: v.BOS, LR: 1e-3, Seed: 2}
	ctl := quantizedCopy(t, fm, qat.Config{})
	if _, err := Run(ctx, ctl, trainIDs, fine); err != nil {
		t.Fatal(err)
	}
	a, control := valLoss(t, ctx, fm, valIDs, v.BOS, seqLen), valLoss(t, ctx, ctl, valIDs, v.BOS, seqLen)
	t.Logf("train %d tokens, validation %d tokens, vocabulary %d, %d parameters; float fine-tune (control) %.4f",
		len(trainIDs), len(valIDs), len(v.Tokens), fm.NumParams(), control)
	t.Logf("| model | bits | block | symmetric | (a) float | (b) RTN | (c) QAT → Q4 | (b)−(a) | (c)−(a) | (c)−control |")
	sym32 := qat.Config{Bits: 4, BlockSize: 32, Symmetric: true}
	var qat32 *Model
	for _, r := range []struct {
		name string
		cfg  qat.Config
		q4_0 bool // export through GGUF Q4_0 (the QAT model of sym32)
	}{
		{"MatMulNBits", sym32, false},
		{"MatMulNBits", qat.Config{Bits: 4, BlockSize: 16, Symmetric: true}, false},
		{"GGUF Q4_0", sym32, true},
	} {
		cfg := r.cfg
		quantize := func(m *Model) *Model {
			if r.q4_0 {
				return q4_0Copy(t, m)
			}
			return quantizedCopy(t, m, cfg)
		}
		b := valLoss(t, ctx, quantize(fm), valIDs, v.BOS, seqLen)
		qm := qat32
		if qm == nil || cfg != sym32 {
			qm = quantizedCopy(t, fm, qat.Config{})
			qm.QAT = &cfg
			if _, err := Run(ctx, qm, trainIDs, fine); err != nil {
				t.Fatal(err)
			}
			qm.QAT = nil
			if cfg == sym32 {
				qat32 = qm
			}
		}
		cq := valLoss(t, ctx, quantize(qm), valIDs, v.BOS, seqLen)
		t.Logf("| Gemma 3 nano → %s | %d | %d | %v | %.4f | %.4f | %.4f | %+.4f | %+.4f | %+.4f |",
			r.name, cfg.Bits, cfg.BlockSize, cfg.Symmetric, a, b, cq, b-a, cq-a, cq-control)
		if gb, gc := math.Abs(b-a), math.Abs(cq-a); !(gc < gb) {
			t.Errorf("%+v: |QAT − float| = %.4f, |RTN − float| = %.4f: want QAT closer", cfg, gc, gb)
		}
		if gb, gc := b-a, cq-control; !(gc < gb) {
			t.Errorf("%+v: QAT − float fine-tune = %.4f, RTN − float = %.4f: want the QAT gap smaller", cfg, gc, gb)
		}
	}
}

// quantizedCopy returns a copy of m whose layer matrices are fake-quantized
// with cfg (a plain copy when cfg.Bits is 0). The embedding stays float.
func quantizedCopy(t *testing.T, m *Model, cfg qat.Config) *Model {
	t.Helper()
	cp, err := New(m.Config, 0)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := m.Params(), cp.Params()
	for i := range src {
		copy(dst[i].Value.Data(), src[i].Value.Data())
	}
	if cfg.Bits == 0 {
		return cp
	}
	for i := range cp.Layers {
		for _, p := range cp.Layers[i].matrices() {
			n, k := p.Value.Shape()[0], p.Value.Shape()[1]
			if _, err := qat.FakeQuantize(p.Value.Data(), p.Value.Data(), k, n, qat.LayoutNK, cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cp
}

// q4_0Copy returns a copy of m whose layer matrices went through GGUF Q4_0
// and back: the values Builder with Type Q4_0 writes.
func q4_0Copy(t *testing.T, m *Model) *Model {
	t.Helper()
	cp := quantizedCopy(t, m, qat.Config{})
	for i := range cp.Layers {
		for _, p := range cp.Layers[i].matrices() {
			w := p.Value.Data()
			buf := make([]byte, len(w)/quant.Q4_0.BlockSize()*quant.Q4_0.BlockBytes())
			if err := quant.Quantize(quant.Q4_0, buf, w); err != nil {
				t.Fatal(err)
			}
			if err := quant.Dequantize(quant.Q4_0, w, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cp
}

// valLoss returns the mean next-token cross-entropy over ids cut into
// sequences of BOS followed by seqLen−1 tokens.
func valLoss(t *testing.T, ctx context.Context, m *Model, ids []int32, bos int32, seqLen int) float64 {
	t.Helper()
	T := seqLen - 1
	var sum float64
	var n int
	for off := 0; off+T < len(ids); off += T {
		in := append([]int32{bos}, ids[off:off+T]...)
		l, err := m.Eval(ctx, in, ids[off:off+T+1], 1, seqLen)
		if err != nil {
			t.Fatal(err)
		}
		sum += l
		n++
	}
	return sum / float64(n)
}
