package hf_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/hf/hftest"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
	"github.com/zerfoo/zerfoo/quantize"
	"github.com/zerfoo/zerfoo/safetensors"
)

// tokenizerFiles returns the synthetic Gemma-form tokenizer of
// testdata/hf (403 ids).
func tokenizerFiles(t testing.TB) (tj, tc []byte) {
	t.Helper()
	tj, err := os.ReadFile("../testdata/hf/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	tc, err = os.ReadFile("../testdata/hf/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	return tj, tc
}

// writeFolder writes a tiny random folder with the synthetic tokenizer.
func writeFolder(t testing.TB, o hftest.Options) string {
	t.Helper()
	o.Tokenizer, o.TokenizerConfig = tokenizerFiles(t)
	dir := filepath.Join(t.TempDir(), "tiny-gemma3")
	if err := hftest.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run loads path with generate.Load and decodes greedily from prompt for
// n steps, returning the tokens chosen and the logits of every step.
func run(t testing.TB, path string, prompt []int32, n int) ([]int32, [][]float32) {
	t.Helper()
	ctx := context.Background()
	m, err := generate.Load(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st := m.Model.NewState(gemma3.StateOptions{MaxLen: len(prompt) + n})
	var toks []int32
	var all [][]float32
	in := prompt
	for i := 0; i < n; i++ {
		logits := make([]float32, m.Model.Config.Vocab)
		if err := st.Forward(ctx, in, logits); err != nil {
			t.Fatal(err)
		}
		best := 0
		for j, v := range logits {
			if v > logits[best] {
				best = j
			}
		}
		toks, all = append(toks, int32(best)), append(all, logits)
		in = []int32{int32(best)}
	}
	return toks, all
}

var prompt = []int32{2, 105, 300, 17, 250, 9, 33, 106, 120, 64, 8, 290}

// TestConvertMatchesFolder: `zerfoo convert` (hf.Convert) to a GGUF of the
// checkpoint's own precision, loaded as GGUF, gives exactly the greedy
// tokens and the logits (bit for bit) of the folder loaded directly —
// single-file and sharded, BF16, F16 and F32, and the text part of a
// Gemma3ForConditionalGeneration folder.
func TestConvertMatchesFolder(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    hftest.Options
		typ  quantize.Type // conversion type ("" auto)
		want quant.Type    // matrix type of the GGUF
	}{
		{"bf16", hftest.Options{Seed: 1}, "", quant.BF16},
		{"bf16-sharded", hftest.Options{Seed: 2, Shards: 3}, "", quant.BF16},
		{"f16", hftest.Options{Seed: 3, DType: safetensors.F16}, "", quant.F16},
		{"f32-sharded", hftest.Options{Seed: 4, DType: safetensors.F32, Shards: 2}, quantize.F32, quant.F32},
		{"multimodal", hftest.Options{Seed: 5, Multimodal: true, Shards: 2}, "", quant.BF16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFolder(t, tc.o)
			out := filepath.Join(t.TempDir(), "m.gguf")
			var notices []string
			res, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Type: tc.typ,
				Options: hf.Options{Notice: func(s string) { notices = append(notices, s) }}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Type != quantize.Type(tc.want.String()) {
				t.Errorf("converted to %s, want %v", res.Type, tc.want)
			}
			if tc.o.Multimodal && (len(res.Skipped) != 4 || len(notices) != 1) {
				t.Errorf("multimodal: skipped %v, notices %q; want the 4 vision tensors and one notice", res.Skipped, notices)
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			q, _ := f.Tensor("blk.0.attn_q.weight")
			n, _ := f.Tensor("blk.0.attn_norm.weight")
			if q.Type != tc.want || n.Type != quant.F32 {
				t.Errorf("GGUF attn_q is %v, attn_norm %v; want %v and F32", q.Type, n.Type, tc.want)
			}
			f.Close()
			gt, gl := run(t, out, prompt, 8)
			ft, fl := run(t, dir, prompt, 8)
			for i := range gt {
				if gt[i] != ft[i] {
					t.Fatalf("step %d: GGUF token %d, folder token %d (tokens %v vs %v)", i, gt[i], ft[i], gt, ft)
				}
				for j := range gl[i] {
					if math.Float32bits(gl[i][j]) != math.Float32bits(fl[i][j]) {
						t.Fatalf("step %d logit %d: GGUF %g, folder %g", i, j, gl[i][j], fl[i][j])
					}
				}
			}
		})
	}
}

// TestAutoType: --outtype auto writes BF16 and F16 checkpoints at their
// precision and F32 ones as F16, as convert_hf_to_gguf.py does.
func TestAutoType(t *testing.T) {
	for _, tc := range []struct {
		dt   safetensors.DType
		want quant.Type
	}{{safetensors.BF16, quant.BF16}, {safetensors.F16, quant.F16}, {safetensors.F32, quant.F16}} {
		dir := writeFolder(t, hftest.Options{DType: tc.dt})
		f, err := hf.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.AutoType(); got != tc.want {
			t.Errorf("%v checkpoint: auto type %v, want %v", tc.dt, got, tc.want)
		}
		f.Close()
	}
}

// TestFolderMatchesGGUF: the weights of a GGUF written by the existing
// path (gemma3test, F32), put in a Hugging Face folder (names mapped
// back, dimensions reversed, norm weights stored as w = v − 1), load and
// run like the GGUF itself.
//
// The norms round trip exactly where v ∈ [0.5, 2] (about 99 % of them)
// and to an ulp elsewhere. So the folder's logits equal, bit for bit,
// those of the same GGUF with its norms rewritten as (v − 1) + 1 (by the
// same Builder path), and match the original GGUF's greedy tokens, with
// log-probabilities within 5e-3 — the decoder is that sensitive to a
// one-ulp change in a single norm weight (its int8 activation blocks
// round differently): measured 3.1e-4 for this model, 2.8e-4 for one
// weight of blk.2.attn_norm nudged by an ulp.
func TestFolderMatchesGGUF(t *testing.T) {
	b, err := gemma3test.Build(gemma3test.Options{Type: quant.F32, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, "tiny.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, ts, err := hftest.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	o := hftest.Options{DType: safetensors.F32}
	o.Tokenizer, o.TokenizerConfig = tokenizerFiles(t)
	dir := filepath.Join(tmp, "folder")
	if err := hftest.WriteTensors(dir, c, ts, o); err != nil {
		t.Fatal(err)
	}
	// The GGUF with the folder's norms.
	rb := gguf.NewBuilder()
	for _, kv := range f.Metadata {
		if err := rb.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors {
		v, err := f.TensorFloat32(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(ti.Dims) == 1 {
			for i := range v {
				v[i] = (v[i] - 1) + 1
			}
		}
		if err := rb.AddFloat32(ti.Name, ti.Type, ti.Dims, v); err != nil {
			t.Fatal(err)
		}
	}
	rounded := filepath.Join(tmp, "rounded.gguf")
	if err := rb.WriteFile(rounded); err != nil {
		t.Fatal(err)
	}
	ft, fl := run(t, dir, prompt, 8)
	rt, rl := run(t, rounded, prompt, 8)
	gt, gl := run(t, path, prompt, 8)
	var worst float64
	for i := range ft {
		if ft[i] != rt[i] || ft[i] != gt[i] {
			t.Fatalf("step %d: folder token %d, GGUF with the folder's norms %d, GGUF %d", i, ft[i], rt[i], gt[i])
		}
		for j := range fl[i] {
			if math.Float32bits(fl[i][j]) != math.Float32bits(rl[i][j]) {
				t.Fatalf("step %d logit %d: folder %g, GGUF with the folder's norms %g", i, j, fl[i][j], rl[i][j])
			}
		}
		d, _ := gemma3test.MaxDiff(gemma3test.LogSoftmax(fl[i]), gemma3test.LogSoftmax(gl[i]))
		worst = max(worst, d)
	}
	t.Logf("folder vs original GGUF: max |Δ log-prob| over %d steps %.3g", len(gt), worst)
	if worst > 5e-3 {
		t.Errorf("folder vs original GGUF: max |Δ log-prob| %g, want ≤ 5e-3", worst)
	}
}

// TestConvertQuantized: converting to a llama.cpp mix writes the bytes
// llama-quantize's rules give the converted checkpoint: the same file as
// converting at the stored precision and then quantizing that GGUF
// (quantize.File, byte-identical to llama-quantize).
func TestConvertQuantized(t *testing.T) {
	dir := writeFolder(t, hftest.Options{Seed: 9, Shards: 2})
	tmp := t.TempDir()
	ctx := context.Background()
	auto := filepath.Join(tmp, "auto.gguf")
	if _, err := hf.Convert(ctx, dir, auto, hf.ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []quantize.Type{quantize.Q8_0, quantize.Q4_K_M, quantize.Q6_K} {
		direct := filepath.Join(tmp, string(typ)+".gguf")
		var calls int
		res, err := hf.Convert(ctx, dir, direct, hf.ConvertOptions{Type: typ, Progress: func(done, total int64) {
			calls++
			if done > total {
				t.Errorf("progress %d of %d", done, total)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Report == nil || res.Type != typ || calls == 0 {
			t.Errorf("%s: result %+v after %d progress calls", typ, res, calls)
		}
		twoStep := filepath.Join(tmp, string(typ)+"-2.gguf")
		if _, err := quantize.File(ctx, auto, twoStep, false, quantize.Options{Type: typ}); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(direct)
		b, _ := os.ReadFile(twoStep)
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s: convert --type differs from convert + quantize (%d vs %d bytes)", typ, len(a), len(b))
		}
		if toks, _ := run(t, direct, prompt, 2); len(toks) != 2 {
			t.Errorf("%s: the quantized file does not run", typ)
		}
	}
}
