package gguf

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

var writeModels = flag.String("write-models", "", "write the dequantization probe models to this directory (input of tools/llamacpp/goldens.mjs dequant)")

// Probe model geometry: a Gemma 3 model whose only non-trivial tensor is
// the token embedding (in the type under test); its one block has zero
// projections, so the residual stream passes through unchanged, and the LM
// head is the identity on the first probeEmbd tokens. Its logits are then
// llama.cpp's dequantized embedding row, RMS-normalized.
const (
	probeEmbd  = 256
	probeVocab = 512
)

var probeTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K}

func probeModel(t testing.TB, typ quant.Type) *Builder {
	b := NewBuilder()
	tokens := []string{"<pad>", "<eos>", "<bos>", "<unk>"}
	types := []int32{3, 3, 3, 2}
	for i := 0; i < 256; i++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", i))
		types = append(types, 6)
	}
	for len(tokens) < probeVocab {
		tokens = append(tokens, fmt.Sprintf("t%d", len(tokens)))
		types = append(types, 1)
	}
	for _, kv := range []struct {
		k string
		v any
	}{
		{KeyArchitecture, "gemma3"},
		{KeyName, "zerfoo-dequant-probe-" + typ.String()},
		{"gemma3.context_length", uint32(64)},
		{"gemma3.embedding_length", uint32(probeEmbd)},
		{"gemma3.block_count", uint32(1)},
		{"gemma3.feed_forward_length", uint32(probeEmbd)},
		{"gemma3.attention.head_count", uint32(1)},
		{"gemma3.attention.head_count_kv", uint32(1)},
		{"gemma3.attention.key_length", uint32(probeEmbd)},
		{"gemma3.attention.value_length", uint32(probeEmbd)},
		{"gemma3.attention.layer_norm_rms_epsilon", float32(1e-6)},
		{"gemma3.rope.freq_base", float32(1e6)},
		{"gemma3.attention.sliding_window", uint32(512)},
		{KeyQuantizationVersion, uint32(2)},
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.scores", make([]float32, len(tokens))},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.bos_token_id", uint32(2)},
		{"tokenizer.ggml.eos_token_id", uint32(1)},
		{"tokenizer.ggml.add_space_prefix", false},
	} {
		if err := b.Set(kv.k, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(uint64(typ), 99))
	embd := make([]float32, probeEmbd*probeVocab)
	for i := range embd {
		embd[i] = float32(r.NormFloat64())
	}
	ones := make([]float32, probeEmbd)
	for i := range ones {
		ones[i] = 1
	}
	zeros := make([]float32, probeEmbd*probeEmbd)
	head := make([]float32, probeEmbd*probeVocab)
	for v := 0; v < probeEmbd; v++ {
		head[v*probeEmbd+v] = 1
	}
	add := func(name string, typ quant.Type, dims []uint64, v []float32) {
		if err := b.AddFloat32(name, typ, dims, v); err != nil {
			t.Fatal(err)
		}
	}
	add("token_embd.weight", typ, []uint64{probeEmbd, probeVocab}, embd)
	add("output_norm.weight", quant.F32, []uint64{probeEmbd}, ones)
	add("output.weight", quant.F32, []uint64{probeEmbd, probeVocab}, head)
	for _, n := range []string{"attn_norm", "attn_q_norm", "attn_k_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"} {
		add("blk.0."+n+".weight", quant.F32, []uint64{probeEmbd}, ones)
	}
	for _, n := range []string{"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"} {
		add("blk.0."+n+".weight", quant.F32, []uint64{probeEmbd, probeEmbd}, zeros)
	}
	return b
}

type dequantGoldens struct {
	LlamaCpp struct{ Release string } `json:"llama_cpp"`
	Tokens   []int
	Models   map[string][][]float64
}

// TestLlamaCppDequant checks that llama.cpp decodes the blocks Zerfoo
// writes as Zerfoo does: for every type, the recorded next-token
// log-probabilities (relative to a zero logit) must equal the RMS-normalized
// embedding rows that quant.Dequantize gives, to float32 softmax precision.
func TestLlamaCppDequant(t *testing.T) {
	if *writeModels != "" {
		for _, typ := range probeTypes {
			if err := probeModel(t, typ).WriteFile(filepath.Join(*writeModels, "probe_"+typ.String()+".gguf")); err != nil {
				t.Fatal(err)
			}
		}
		t.Skipf("wrote %d models to %s", len(probeTypes), *writeModels)
	}
	data, err := os.ReadFile("../testdata/gguf/llamacpp_dequant.json")
	if err != nil {
		t.Fatal(err)
	}
	var g dequantGoldens
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, typ := range probeTypes {
		t.Run(typ.String(), func(t *testing.T) {
			got, ok := g.Models["probe_"+typ.String()+".gguf"]
			if !ok {
				t.Fatalf("no llama.cpp golden for %v", typ)
			}
			b := probeModel(t, typ)
			var row []byte
			for i, ti := range b.tensors {
				if ti.Name == "token_embd.weight" {
					row = b.data[i]
				}
			}
			rb, _ := typ.RowBytes(probeEmbd)
			var worst float64
			for p, tok := range g.Tokens {
				e := make([]float32, probeEmbd)
				if err := quant.Dequantize(typ, e, row[tok*rb:(tok+1)*rb]); err != nil {
					t.Fatal(err)
				}
				var ss float64
				for _, v := range e {
					x := float64(v) * 16 // sqrt(n_embd)
					ss += x * x
				}
				scale := 16 / math.Sqrt(ss/probeEmbd+1e-6)
				for v := 0; v < probeEmbd; v++ {
					want := float64(e[v]) * scale
					d := math.Abs(got[p][v] - want)
					worst = math.Max(worst, d)
					if d > 3e-6*math.Max(1, math.Abs(want)) {
						t.Fatalf("token %d, element %d: llama.cpp logit %v, Zerfoo %v", tok, v, got[p][v], want)
					}
				}
			}
			t.Logf("%v: %d rows, max |llama.cpp − Zerfoo| = %.2g", typ, len(g.Tokens), worst)
		})
	}
}
