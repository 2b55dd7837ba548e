// Package hftest writes small Gemma 3 Hugging Face checkpoint folders for
// tests: config.json, generation_config.json, tokenizer files and
// safetensors weights (one file or shards with an index), either random
// or taken from a GGUF model, and onnxruntime-genai export folders of
// the same weights (WriteGenAI). The same Options always give the same
// files.
package hftest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/safetensors"
)

// Config gives a model's shapes and settings, written to config.json.
type Config struct {
	Vocab, Hidden, FFN, Layers, Heads, KVHeads, HeadDim int
	Context, Window, Period                             int
	Eps, RopeTheta, LocalRopeTheta, RopeFactor          float64 // RopeFactor 0 or 1: no rope_scaling
	QueryPreAttnScalar                                  float64 // 0: HeadDim
}

// Tiny returns the default shapes: those of gemma3test.Config (6 layers,
// layer 5 global, hidden 256, FFN 512, 4 query heads sharing 2 KV heads
// of 64, window 8, context 256, linear RoPE scale 8) with a vocabulary of
// 512.
func Tiny() Config {
	return Config{Vocab: 512, Hidden: 256, FFN: 512, Layers: 6, Heads: 4, KVHeads: 2, HeadDim: 64,
		Context: 256, Window: 8, Period: 6, Eps: 1e-6, RopeTheta: 1e6, LocalRopeTheta: 1e4, RopeFactor: 8}
}

// Options describes a folder.
type Options struct {
	Config Config // the zero value means Tiny()
	// DType is the weights' dtype: F32, F16 or BF16 (the zero value).
	DType safetensors.DType
	Seed  uint64
	// Shards > 1 splits the tensors over that many files named by
	// model.safetensors.index.json; otherwise they go to
	// model.safetensors.
	Shards int
	// Multimodal writes a Gemma3ForConditionalGeneration folder: the
	// config under text_config, the decoder's tensors under
	// "language_model.", and a few vision tower and projector tensors.
	Multimodal bool
	// Tokenizer and TokenizerConfig are written as tokenizer.json and
	// tokenizer_config.json when not nil.
	Tokenizer, TokenizerConfig []byte
	// Generation is written as generation_config.json; "" means
	// {"eos_token_id": [1, 106], "top_k": 64, "top_p": 0.95, "do_sample": true}.
	Generation string
	// Edit, if set, may change config.json's object (the text config for
	// Multimodal) before it is written.
	Edit func(cfg map[string]any)
}

// Tensor is one checkpoint tensor, in PyTorch order ([out, in]).
type Tensor struct {
	Name   string
	Shape  []int
	Values []float32
}

// Random returns the decoder's tensors with random weights: matrices
// normal with standard deviation 1/√in (the embedding 0.1), norm weights
// w normal with deviation 0.2 (Gemma multiplies by 1 + w).
func Random(c Config, seed uint64) []Tensor {
	r := rand.New(rand.NewPCG(seed, 0x4f6))
	mat := func(name string, n, k int, std float64) Tensor {
		v := make([]float32, n*k)
		for i := range v {
			v[i] = float32(r.NormFloat64() * std)
		}
		return Tensor{name, []int{n, k}, v}
	}
	vec := func(name string, n int) Tensor {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(0.2 * r.NormFloat64())
		}
		return Tensor{name, []int{n}, v}
	}
	H, Q, KV, F := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.FFN
	sd := func(k int) float64 { return 1 / math.Sqrt(float64(k)) }
	ts := []Tensor{mat("model.embed_tokens.weight", c.Vocab, H, 0.1), vec("model.norm.weight", H)}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			vec(p+"input_layernorm.weight", H),
			mat(p+"self_attn.q_proj.weight", Q, H, sd(H)),
			mat(p+"self_attn.k_proj.weight", KV, H, sd(H)),
			mat(p+"self_attn.v_proj.weight", KV, H, sd(H)),
			vec(p+"self_attn.q_norm.weight", c.HeadDim),
			vec(p+"self_attn.k_norm.weight", c.HeadDim),
			mat(p+"self_attn.o_proj.weight", H, Q, sd(Q)),
			vec(p+"post_attention_layernorm.weight", H),
			vec(p+"pre_feedforward_layernorm.weight", H),
			mat(p+"mlp.gate_proj.weight", F, H, sd(H)),
			mat(p+"mlp.up_proj.weight", F, H, sd(H)),
			mat(p+"mlp.down_proj.weight", H, F, sd(F)),
			vec(p+"post_feedforward_layernorm.weight", H),
		)
	}
	return ts
}

// Write writes a folder of random weights (Random with o.Seed) to dir.
func Write(dir string, o Options) error {
	c := o.Config
	if c.Layers == 0 {
		c = Tiny()
	}
	return WriteTensors(dir, c, Random(c, o.Seed), o)
}

// ggufToHF maps GGUF layer tensor names (after "blk.N.") to Hugging Face
// ones (after "model.layers.N.").
var ggufToHF = map[string]string{
	"attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
	"attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
	"attn_output.weight": "self_attn.o_proj.weight", "attn_q_norm.weight": "self_attn.q_norm.weight",
	"attn_k_norm.weight": "self_attn.k_norm.weight", "post_attention_norm.weight": "post_attention_layernorm.weight",
	"ffn_norm.weight": "pre_feedforward_layernorm.weight", "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
	"ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight",
}

// FromGGUF returns the Hugging Face tensors and config of a Gemma 3 GGUF
// model whose tensors gguf can decode: names mapped back, dimensions
// reversed, norm weights stored as w = v − 1 (exact for v in [0.5, 2]).
func FromGGUF(f *gguf.File) (Config, []Tensor, error) {
	u := func(key string) int {
		v, _ := f.Lookup(key)
		n, _ := v.Uint()
		return int(n)
	}
	fl := func(key string, def float64) float64 {
		if v, ok := f.Lookup(key); ok {
			x, _ := v.Float()
			return x
		}
		return def
	}
	c := Config{Hidden: u("gemma3.embedding_length"), FFN: u("gemma3.feed_forward_length"), Layers: u("gemma3.block_count"),
		Heads: u("gemma3.attention.head_count"), KVHeads: u("gemma3.attention.head_count_kv"), HeadDim: u("gemma3.attention.key_length"),
		Context: u("gemma3.context_length"), Window: u("gemma3.attention.sliding_window"), Period: 6,
		Eps: fl("gemma3.attention.layer_norm_rms_epsilon", 1e-6), RopeTheta: fl("gemma3.rope.freq_base", 1e6),
		LocalRopeTheta: fl("gemma3.rope.freq_base_swa", 1e4), RopeFactor: fl("gemma3.rope.scaling.factor", 0)}
	var ts []Tensor
	for _, ti := range f.Tensors {
		v, err := f.TensorFloat32(ti.Name)
		if err != nil {
			return Config{}, nil, err
		}
		shape := make([]int, len(ti.Dims))
		for i, d := range ti.Dims {
			shape[len(shape)-1-i] = int(d)
		}
		var name string
		switch ti.Name {
		case "token_embd.weight":
			name, c.Vocab = "model.embed_tokens.weight", shape[0]
		case "output_norm.weight":
			name = "model.norm.weight"
		case "output.weight":
			name = "lm_head.weight"
		default:
			var layer int
			var rest string
			if _, err := fmt.Sscanf(ti.Name, "blk.%d.%s", &layer, &rest); err != nil || ggufToHF[rest] == "" {
				return Config{}, nil, fmt.Errorf("hftest: tensor %s is not a Gemma 3 tensor", ti.Name)
			}
			name = fmt.Sprintf("model.layers.%d.%s", layer, ggufToHF[rest])
		}
		if strings.HasSuffix(ti.Name, "norm.weight") {
			for i := range v {
				v[i]--
			}
		}
		ts = append(ts, Tensor{name, shape, v})
	}
	return c, ts, nil
}

// WriteTensors writes a folder holding ts (Hugging Face names without the
// "language_model." part), with config.json from c.
func WriteTensors(dir string, c Config, ts []Tensor, o Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dt := o.DType
	if dt == safetensors.Invalid {
		dt = safetensors.BF16
	}
	var named []Tensor
	for _, t := range ts {
		if o.Multimodal {
			t.Name = "language_model." + t.Name
		}
		named = append(named, t)
	}
	if o.Multimodal {
		r := rand.New(rand.NewPCG(o.Seed, 0x71))
		for _, x := range []struct {
			name  string
			shape []int
		}{
			{"vision_tower.vision_model.embeddings.patch_embedding.weight", []int{8, 3, 2, 2}},
			{"vision_tower.vision_model.post_layernorm.weight", []int{8}},
			{"multi_modal_projector.mm_input_projection_weight", []int{8, c.Hidden}},
			{"multi_modal_projector.mm_soft_emb_norm.weight", []int{8}},
		} {
			n := 1
			for _, d := range x.shape {
				n *= d
			}
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			named = append(named, Tensor{x.name, x.shape, v})
		}
	}
	if err := writeWeights(dir, named, dt, o.Shards); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), configJSON(c, dt, o)); err != nil {
		return err
	}
	gen := o.Generation
	if gen == "" {
		gen = `{"do_sample": true, "eos_token_id": [1, 106], "top_k": 64, "top_p": 0.95}`
	}
	files := map[string][]byte{"generation_config.json": []byte(gen), "tokenizer.json": o.Tokenizer, "tokenizer_config.json": o.TokenizerConfig}
	for name, data := range files {
		if data == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// configJSON returns config.json's object as transformers 4.50 writes it
// for Gemma 3.
func configJSON(c Config, dt safetensors.DType, o Options) map[string]any {
	qpa := c.QueryPreAttnScalar
	if qpa == 0 {
		qpa = float64(c.HeadDim)
	}
	text := map[string]any{
		"architectures": []string{"Gemma3ForCausalLM"}, "model_type": "gemma3_text",
		"vocab_size": c.Vocab, "hidden_size": c.Hidden, "intermediate_size": c.FFN, "num_hidden_layers": c.Layers,
		"num_attention_heads": c.Heads, "num_key_value_heads": c.KVHeads, "head_dim": c.HeadDim,
		"max_position_embeddings": c.Context, "sliding_window": c.Window, "sliding_window_pattern": c.Period,
		"rms_norm_eps": c.Eps, "rope_theta": c.RopeTheta, "rope_local_base_freq": c.LocalRopeTheta,
		"query_pre_attn_scalar": qpa, "hidden_activation": "gelu_pytorch_tanh", "final_logit_softcapping": nil,
		"attn_logit_softcapping": nil, "attention_bias": false, "bos_token_id": 2, "eos_token_id": []int{1, 106},
		"pad_token_id": 0, "torch_dtype": map[safetensors.DType]string{safetensors.F32: "float32", safetensors.F16: "float16"}[dt],
		"rope_scaling": nil,
	}
	if text["torch_dtype"] == "" {
		text["torch_dtype"] = "bfloat16"
	}
	if c.RopeFactor != 0 && c.RopeFactor != 1 {
		text["rope_scaling"] = map[string]any{"rope_type": "linear", "factor": c.RopeFactor}
	}
	cfg := text
	if o.Multimodal {
		delete(text, "architectures")
		cfg = map[string]any{
			"architectures": []string{"Gemma3ForConditionalGeneration"}, "model_type": "gemma3",
			"text_config": text, "eos_token_id": []int{1, 106}, "image_token_index": c.Vocab,
			"vision_config": map[string]any{"model_type": "siglip_vision_model", "hidden_size": 8},
		}
	}
	if o.Edit != nil {
		o.Edit(text)
	}
	return cfg
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// encode returns v in dtype dt, little-endian.
func encode(v []float32, dt safetensors.DType) []byte {
	out := make([]byte, len(v)*dt.Size())
	for i, x := range v {
		switch dt {
		case safetensors.F32:
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
		case safetensors.F16:
			binary.LittleEndian.PutUint16(out[2*i:], numeric.Float16FromFloat32(x).Bits())
		default:
			binary.LittleEndian.PutUint16(out[2*i:], numeric.BFloat16FromFloat32(x).Bits())
		}
	}
	return out
}

// writeWeights writes ts as model.safetensors or as n shards with an
// index.
func writeWeights(dir string, ts []Tensor, dt safetensors.DType, n int) error {
	if n < 1 {
		n = 1
	}
	builders := make([]*safetensors.Builder, n)
	for i := range builders {
		builders[i] = safetensors.NewBuilder()
		builders[i].SetMetadata("format", "pt")
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)
	}
	if n == 1 {
		names[0] = safetensors.SingleFile
	}
	weightMap := map[string]string{}
	var total int64
	sorted := append([]Tensor(nil), ts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, t := range sorted {
		s := i * n / len(sorted) // contiguous runs by name, as transformers shards
		data := encode(t.Values, dt)
		if err := builders[s].Add(t.Name, dt, t.Shape, data); err != nil {
			return err
		}
		weightMap[t.Name] = names[s]
		total += int64(len(data))
	}
	for i, b := range builders {
		f, err := os.Create(filepath.Join(dir, names[i]))
		if err != nil {
			return err
		}
		if _, err := b.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if n == 1 {
		return nil
	}
	return writeJSON(filepath.Join(dir, safetensors.IndexFile), map[string]any{
		"metadata": map[string]any{"total_size": total}, "weight_map": weightMap,
	})
}
