package quantize

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// tinyGGUF writes an F32 model: two weight matrices (row lengths 256 and
// 64), one with row length 48 (fits no block), a rank-1 norm and an F16
// token embedding (tied: also the output matrix), and returns the path and
// the float values by name.
func tinyGGUF(t *testing.T, dir string) (string, map[string][]float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	b := gguf.NewBuilder()
	if err := b.Set("general.architecture", "gemma3"); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"general.file_type": uint32(0), "gemma3.block_count": uint32(1),
		"gemma3.attention.head_count": uint32(4), "gemma3.attention.head_count_kv": uint32(1)} {
		if err := b.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	vals := map[string][]float32{}
	add := func(name string, typ quant.Type, dims ...uint64) {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
		}
		if typ == quant.F16 { // round to F16 so the reference is exact
			enc := make([]byte, 2*n)
			_ = quant.Quantize(quant.F16, enc, v)
			_ = quant.Dequantize(quant.F16, v, enc)
		}
		vals[name] = v
		if err := b.AddFloat32(name, typ, dims, v); err != nil {
			t.Fatal(err)
		}
	}
	add("blk.0.ffn_up.weight", quant.F32, 256, 4)
	add("blk.0.attn_q.weight", quant.F32, 64, 8)
	add("blk.0.odd.weight", quant.F32, 48, 2)
	add("blk.0.attn_norm.weight", quant.F32, 64)
	add("token_embd.weight", quant.F16, 256, 3)
	path := filepath.Join(dir, "tiny.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path, vals
}

func TestGGUF(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in, vals := tinyGGUF(t, dir)
	cases := []struct {
		typ  Type
		want map[string]quant.Type
	}{
		// Rows of 48 fit no block: F16, as llama-quantize does. The tied
		// embedding gets Q6_K unless the mix is Q8_0.
		{Q4_0, map[string]quant.Type{"blk.0.ffn_up.weight": quant.Q4_0, "blk.0.attn_q.weight": quant.Q4_0, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.Q6_K}},
		{Q8_0, map[string]quant.Type{"blk.0.ffn_up.weight": quant.Q8_0, "blk.0.attn_q.weight": quant.Q8_0, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.Q8_0}},
		// Q4_K is Q4_K_M: rows of 64 fall back to Q5_0.
		{Q4_K, map[string]quant.Type{"blk.0.ffn_up.weight": quant.Q4_K, "blk.0.attn_q.weight": quant.Q5_0, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.Q6_K}},
		// Q2_K: rows of 64 fall back to Q4_0; IQ4_XS: to IQ4_NL.
		{Q2_K, map[string]quant.Type{"blk.0.ffn_up.weight": quant.Q2_K, "blk.0.attn_q.weight": quant.Q4_0, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.Q6_K}},
		{IQ4_XS, map[string]quant.Type{"blk.0.ffn_up.weight": quant.IQ4_XS, "blk.0.attn_q.weight": quant.IQ4_NL, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.Q6_K}},
		{F16, map[string]quant.Type{"blk.0.ffn_up.weight": quant.F16, "blk.0.attn_q.weight": quant.F16, "blk.0.odd.weight": quant.F16, "blk.0.attn_norm.weight": quant.F32, "token_embd.weight": quant.F16}},
	}
	for _, c := range cases {
		out := filepath.Join(dir, string(c.typ)+".gguf")
		r, err := File(ctx, in, out, false, Options{Type: c.typ})
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := LookupMix(c.typ)
		if ft, err := f.Uint("general.file_type"); err != nil || ft != uint64(m.FileType) {
			t.Errorf("%s: general.file_type %v, %v: want %d", c.typ, ft, err, m.FileType)
		}
		if n := len(f.Metadata); n < 2 || f.Metadata[n-2].Key != "general.quantization_version" || f.Metadata[n-1].Key != "general.file_type" {
			t.Errorf("%s: metadata does not end with general.quantization_version, general.file_type", c.typ)
		}
		if a, _ := f.String("general.architecture"); a != "gemma3" {
			t.Errorf("%s: architecture %q not copied", c.typ, a)
		}
		for _, tr := range r.Tensors {
			ti, err := f.Tensor(tr.Name)
			if err != nil {
				t.Fatal(err)
			}
			if ti.Type != c.want[tr.Name] {
				t.Errorf("%s: tensor %s written as %s, want %s", c.typ, tr.Name, ti.Type, c.want[tr.Name])
			}
			got, err := f.TensorFloat32(tr.Name)
			if err != nil {
				t.Fatal(err)
			}
			w := vals[tr.Name]
			var se, maxAbs float64
			for i := range w {
				d := float64(w[i]) - float64(got[i])
				se += d * d
				maxAbs = max(maxAbs, math.Abs(d))
			}
			rmse := math.Sqrt(se / float64(len(w)))
			if math.Abs(rmse-tr.RMSE) > 1e-12 || maxAbs != tr.MaxAbs {
				t.Errorf("%s: %s: reported RMSE %g max %g, file gives %g and %g", c.typ, tr.Name, tr.RMSE, tr.MaxAbs, rmse, maxAbs)
			}
			// Weights σ = 0.05: 2-bit RMSE stays below 0.025, 4-bit below
			// 0.01, 5- and 6-bit below 0.005, 8-bit below 0.001, F16 below
			// 1e-4; kept tensors are exact.
			limit := map[quant.Type]float64{quant.Q2_K: 0.025, quant.Q4_0: 0.01, quant.Q4_K: 0.01, quant.IQ4_NL: 0.01,
				quant.IQ4_XS: 0.01, quant.Q5_0: 0.005, quant.Q6_K: 0.005, quant.Q8_0: 0.001, quant.F16: 1e-4, quant.F32: 0}[ti.Type]
			if rmse > limit {
				t.Errorf("%s: %s: RMSE %g above %g", c.typ, tr.Name, rmse, limit)
			}
		}
		f.Close()
	}
	if _, err := File(ctx, in, filepath.Join(dir, "x.gguf"), false, Options{Type: Q4_0, BlockSize: 64}); !errors.Is(err, ErrInput) {
		t.Errorf("--block-size with a GGUF type: got %v, want ErrInput", err)
	}
	if _, err := File(ctx, in, filepath.Join(dir, "x.gguf"), false, Options{Type: MNB4}); !errors.Is(err, ErrInput) {
		t.Errorf("mnb4 for a GGUF model: got %v, want ErrInput", err)
	}
	// A quantized input tensor the mix would convert is refused, as
	// llama-quantize refuses without --allow-requantize.
	q8 := filepath.Join(dir, string(Q8_0)+".gguf")
	if _, err := File(ctx, q8, filepath.Join(dir, "x.gguf"), false, Options{Type: Q4_0}); !errors.Is(err, ErrInput) {
		t.Errorf("requantizing Q8_0 to Q4_0: got %v, want ErrInput", err)
	}
	if _, err := File(ctx, q8, filepath.Join(dir, "x.gguf"), false, Options{Type: Q8_0}); err != nil {
		t.Errorf("Q8_0 file to Q8_0 (copy): %v", err)
	}
	os.Remove(filepath.Join(dir, "x.gguf"))
	if _, err := File(ctx, in, filepath.Join(dir, "x.gguf"), false, Options{Type: Q4_0, BlockSize: 32}); err == nil {
		t.Errorf("--block-size 32 with a GGUF type: no error")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.gguf")); err == nil {
		t.Errorf("a failed conversion left an output file")
	}
}
