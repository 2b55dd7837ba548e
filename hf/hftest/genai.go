package hftest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
)

// GenAILayout is the onnxruntime-genai model builder whose Gemma 3 graph
// WriteGenAI writes (shared/specs/ort-genai-gemma3.md §1).
type GenAILayout int

const (
	// GenAI2025 is the 2025 builder's layout: a float32 Gather embedding,
	// position_ids, separate q, k and v MatMulNBits, RotaryEmbedding nodes
	// after the q/k norms, GroupQueryAttention with do_rotary 0 and
	// com.microsoft FastGelu.
	GenAI2025 GenAILayout = iota
	// GenAI2026 is the current builder's layout: the embedding is a
	// GatherBlockQuantized of the LM head's int4 bytes (shared
	// embeddings), one packed qkv_proj MatMulNBits followed by Split,
	// GroupQueryAttention with do_rotary 1 and the cos/sin caches as its
	// inputs, no position_ids, and ONNX Gelu(approximate="tanh").
	GenAI2026
)

func (l GenAILayout) String() string {
	if l == GenAI2026 {
		return "2026"
	}
	return "2025"
}

// GenAIOptions describes an onnxruntime-genai export folder.
type GenAIOptions struct {
	Layout GenAILayout
	// InputsEmbeds makes the graph take inputs_embeds [batch, sequence,
	// hidden] instead of input_ids (the builder's exclude_embeds, forced
	// for Gemma 3 4B+): no embedding in the graph.
	InputsEmbeds bool
	// AccuracyLevel is every MatMulNBits' accuracy_level (the builder
	// writes 4 on CPU: int8 activations).
	AccuracyLevel int
	// BlockSize of the int4 blocks; 0 means 32, the builder's default.
	BlockSize int
	// Bias gives every projection MatMulNBits a random bias input and
	// GIdx a g_idx input mapping column k to block (k/BlockSize + k) mod
	// blocks (act-order style): both change the model, for checking the
	// executors against each other, not against the checkpoint.
	Bias, GIdx bool
	// Seed for the bias and g_idx values.
	Seed uint64
	// Tokenizer and TokenizerConfig are written as tokenizer.json and
	// tokenizer_config.json when not nil.
	Tokenizer, TokenizerConfig []byte
	// Search is genai_config.json's "search" object; nil means the
	// builder's defaults for Gemma 3 (do_sample false, top_k 50, …).
	Search map[string]any
}

// GenAIModelFile and GenAIConfigFile are the names WriteGenAI writes.
const (
	GenAIModelFile  = "model.onnx"
	GenAIConfigFile = "genai_config.json"
)

// WriteGenAI writes the Gemma 3 decoder of c and ts (Hugging Face names,
// as Random or FromGGUF return) to dir as onnxruntime-genai's model
// builder exports it for the CPU at int4: model.onnx with its
// initializers in model.onnx.data, genai_config.json and the tokenizer
// files. Matrices are quantized as the builder's default MLAS quantizer
// does (symmetric int4 blocks, round to nearest: numeric.QuantizeBlockwise),
// norm weights stored as 1 + w, the embedding scale round(√hidden, 2), RoPE
// caches of max_position_embeddings rows (global ones divided by the
// linear RopeFactor). Weights on the int4 grid (SnapInt4) are kept exactly.
func WriteGenAI(dir string, c Config, ts []Tensor, o GenAIOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := buildGenAI(c, ts, o)
	if err != nil {
		return err
	}
	p, err := b.Model()
	if err != nil {
		return err
	}
	if err := onnx.Save(filepath.Join(dir, GenAIModelFile), p, onnx.WriteOptions{ExternalData: GenAIModelFile + ".data"}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, GenAIConfigFile), genaiConfig(c, o)); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"tokenizer.json": o.Tokenizer, "tokenizer_config.json": o.TokenizerConfig} {
		if data == nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// genaiConfig returns genai_config.json's object as make_genai_config
// writes it.
func genaiConfig(c Config, o GenAIOptions) map[string]any {
	inputs := map[string]any{"input_ids": "input_ids", "attention_mask": "attention_mask",
		"past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"}
	if o.InputsEmbeds {
		delete(inputs, "input_ids")
		inputs["inputs_embeds"] = "inputs_embeds"
	}
	if o.Layout == GenAI2025 {
		inputs["position_ids"] = "position_ids"
	}
	decoder := map[string]any{
		"session_options": map[string]any{"log_id": "onnxruntime-genai", "provider_options": []any{}},
		"filename":        GenAIModelFile, "head_size": c.HeadDim, "hidden_size": c.Hidden, "inputs": inputs,
		"outputs":             map[string]any{"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"},
		"num_attention_heads": c.Heads, "num_hidden_layers": c.Layers, "num_key_value_heads": c.KVHeads,
	}
	typ := "gemma3_text"
	if o.InputsEmbeds {
		typ = "gemma3"
	}
	if o.Layout == GenAI2026 {
		var local []int
		for l := 0; l < c.Layers; l++ {
			if (l+1)%c.Period != 0 {
				local = append(local, l)
			}
		}
		decoder["sliding_window"] = map[string]any{"window_size": c.Window, "slide_key_value_cache": false,
			"slide_inputs": false, "layers": local, "cache_slack": 0}
	}
	search := o.Search
	if search == nil {
		search = map[string]any{"diversity_penalty": 0.0, "do_sample": false, "early_stopping": true, "length_penalty": 1.0,
			"max_length": c.Context, "min_length": 0, "no_repeat_ngram_size": 0, "num_beams": 1, "num_return_sequences": 1,
			"past_present_share_buffer": true, "repetition_penalty": 1.0, "temperature": 1.0, "top_k": 50, "top_p": 1.0}
	}
	return map[string]any{
		"model": map[string]any{"bos_token_id": 2, "context_length": c.Context, "decoder": decoder,
			"eos_token_id": []int{1, 106}, "pad_token_id": 0, "type": typ, "vocab_size": c.Vocab},
		"search": search,
	}
}

// genaiGraph adds nodes and initializers.
type genaiGraph struct {
	*onnx.Builder
	c     Config
	o     GenAIOptions
	w     map[string]Tensor
	r     *rand.Rand
	n     int
	names map[string]bool
}

func (g *genaiGraph) node(op, domain string, ins, outs []string, attrs ...onnx.Attr) {
	g.n++
	g.AddNode(onnx.Node{Name: fmt.Sprintf("/%s_%d", op, g.n), Op: op, Domain: domain, Inputs: ins, Outputs: outs, Attrs: attrs})
}

func at(name string, v any) onnx.Attr { return onnx.Attr{Name: name, Value: v} }

// ints adds the 1-D int64 initializer vals once and returns its name.
func (g *genaiGraph) ints(vals ...int64) string {
	name := fmt.Sprintf("/model/constants/INT64/%v", vals)
	if !g.names[name] {
		g.names[name] = true
		onnx.Initializer(g.Builder, name, onnx.Int64, []int64{int64(len(vals))}, vals)
	}
	return name
}

// one adds the int64 scalar 1 once and returns its name.
func (g *genaiGraph) one() string {
	const name = "/model/constants/INT64/1"
	if !g.names[name] {
		g.names[name] = true
		onnx.Initializer(g.Builder, name, onnx.Int64, nil, []int64{1})
	}
	return name
}

func (g *genaiGraph) scalar(name string, v float32) string {
	if !g.names[name] {
		g.names[name] = true
		onnx.Initializer(g.Builder, name, onnx.Float32, nil, []float32{v})
	}
	return name
}

// norm adds the initializer 1 + w of the checkpoint's norm weight hfName.
func (g *genaiGraph) norm(hfName string) string {
	t := g.w[hfName]
	v := make([]float32, len(t.Values))
	for i, x := range t.Values {
		v[i] = 1 + x
	}
	onnx.Initializer(g.Builder, hfName, onnx.Float32, []int64{int64(len(v))}, v)
	return hfName
}

// quantize returns the int4 blocks of the stacked checkpoint matrices.
func (g *genaiGraph) quantize(names ...string) (*numeric.BlockQuantized, error) {
	var w []float32
	n, k := 0, 0
	for _, name := range names {
		t, ok := g.w[name]
		if !ok {
			return nil, fmt.Errorf("hftest: tensor %s is missing", name)
		}
		w = append(w, t.Values...)
		n, k = n+t.Shape[0], t.Shape[1]
	}
	return numeric.QuantizeBlockwise(w, n, k, numeric.BlockOptions{Bits: 4, BlockSize: g.o.BlockSize, Symmetric: true})
}

// nbits adds the MatMulNBits node name (initializers name.weight_Q4 and
// name.weight_scales, node name_Q4) from in to out, for the stacked
// checkpoint matrices hfNames; it returns the quantized matrix.
func (g *genaiGraph) nbits(name, in, out string, bias bool, hfNames ...string) (*numeric.BlockQuantized, error) {
	q, err := g.quantize(hfNames...)
	if err != nil {
		return nil, err
	}
	kb := int64(q.KBlocks())
	wq, ws := name+".weight_Q4", name+".weight_scales"
	onnx.Initializer(g.Builder, wq, onnx.Uint8, []int64{int64(q.N), kb, int64(q.BlobSize())}, q.B)
	onnx.Initializer(g.Builder, ws, onnx.Float32, []int64{int64(q.N), kb}, q.Scales)
	ins := []string{in, wq, ws}
	if g.o.GIdx && bias {
		gi := make([]int32, q.K)
		for k := range gi {
			gi[k] = int32((k/q.BlockSize + k) % int(kb))
		}
		ins = append(ins, "", name+".g_idx")
		onnx.Initializer(g.Builder, name+".g_idx", onnx.Int32, []int64{int64(q.K)}, gi)
	}
	if g.o.Bias && bias {
		for len(ins) < 5 {
			ins = append(ins, "")
		}
		v := make([]float32, q.N)
		for i := range v {
			v[i] = float32(0.1 * g.r.NormFloat64())
		}
		ins = append(ins, name+".bias")
		onnx.Initializer(g.Builder, name+".bias", onnx.Float32, []int64{int64(q.N)}, v)
	}
	g.AddNode(onnx.Node{Name: name + "_Q4", Op: "MatMulNBits", Domain: onnx.MicrosoftDomain, Inputs: ins, Outputs: []string{out},
		Attrs: []onnx.Attr{at("K", q.K), at("N", q.N), at("bits", 4), at("block_size", q.BlockSize), at("accuracy_level", g.o.AccuracyLevel)}})
	return q, nil
}

// ropeCache returns cos and sin of pos·θ^(−2i/d)/factor, [positions, d/2].
func ropeCache(positions, d int, theta, factor float64) (cos, sin []float32) {
	half := d / 2
	cos, sin = make([]float32, positions*half), make([]float32, positions*half)
	for p := 0; p < positions; p++ {
		for i := 0; i < half; i++ {
			a := float64(p) / (factor * math.Pow(theta, float64(2*i)/float64(d)))
			cos[p*half+i], sin[p*half+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	return cos, sin
}

func buildGenAI(c Config, ts []Tensor, o GenAIOptions) (*onnx.Builder, error) {
	if o.BlockSize == 0 {
		o.BlockSize = 32
	}
	if c.Period == 0 {
		c.Period = 6
	}
	g := &genaiGraph{Builder: onnx.NewBuilder("main_graph", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1}),
		c: c, o: o, w: map[string]Tensor{}, r: rand.New(rand.NewPCG(o.Seed, 0x9e41)), names: map[string]bool{}}
	for _, t := range ts {
		g.w[t.Name] = t
	}
	H, Q, KV, hd := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.HeadDim
	if o.InputsEmbeds {
		g.Input("inputs_embeds", onnx.Float32, "batch_size", "sequence_length", H)
	} else {
		g.Input("input_ids", onnx.Int64, "batch_size", "sequence_length")
	}
	g.Input("attention_mask", onnx.Int64, "batch_size", "total_sequence_length")
	if o.Layout == GenAI2025 {
		g.Input("position_ids", onnx.Int64, "batch_size", "sequence_length")
	}
	for i := 0; i < c.Layers; i++ {
		for _, kv := range []string{"key", "value"} {
			g.Input(fmt.Sprintf("past_key_values.%d.%s", i, kv), onnx.Float32, "batch_size", c.KVHeads, "past_sequence_length", hd)
		}
	}
	g.Output("logits", onnx.Float32, "batch_size", "sequence_length", c.Vocab)
	for i := 0; i < c.Layers; i++ {
		for _, kv := range []string{"key", "value"} {
			g.Output(fmt.Sprintf("present.%d.%s", i, kv), onnx.Float32, "batch_size", c.KVHeads, "total_sequence_length", hd)
		}
	}
	// attn_mask_reformat: seqlens_k and total_seq_len.
	g.node("ReduceSum", "", []string{"attention_mask", g.ints(1)}, []string{"/model/attn_mask_reformat/attn_mask_subgraph/ReduceSum/output_0"}, at("keepdims", 0))
	g.node("Sub", "", []string{"/model/attn_mask_reformat/attn_mask_subgraph/ReduceSum/output_0", g.one()}, []string{"/model/attn_mask_reformat/attn_mask_subgraph/Sub/output_0"})
	g.node("Cast", "", []string{"/model/attn_mask_reformat/attn_mask_subgraph/Sub/output_0"}, []string{"seqlens_k"}, at("to", int(onnx.Int32)))
	g.node("Shape", "", []string{"attention_mask"}, []string{"/model/attn_mask_reformat/attn_mask_subgraph/Shape/output_0"})
	g.node("Gather", "", []string{"/model/attn_mask_reformat/attn_mask_subgraph/Shape/output_0", g.one()}, []string{"/model/attn_mask_reformat/attn_mask_subgraph/Gather/output_0"}, at("axis", 0))
	g.node("Cast", "", []string{"/model/attn_mask_reformat/attn_mask_subgraph/Gather/output_0"}, []string{"total_seq_len"}, at("to", int(onnx.Int32)))

	// LM head first in the 2026 layout: the embedding reads its bytes.
	embeds := "inputs_embeds"
	scale := g.scalar("/model/embed_tokens/scale", float32(math.Round(math.Sqrt(float64(H))*100)/100))
	if !o.InputsEmbeds {
		embeds = "/model/embed_tokens/Mul/output_0"
		switch o.Layout {
		case GenAI2025:
			e := g.w["model.embed_tokens.weight"]
			onnx.Initializer(g.Builder, "model.embed_tokens.weight", onnx.Float32, []int64{int64(c.Vocab), int64(H)}, e.Values)
			g.node("Gather", "", []string{"model.embed_tokens.weight", "input_ids"}, []string{"/model/embed_tokens/Gather/output_0"})
			g.node("Mul", "", []string{"/model/embed_tokens/Gather/output_0", scale}, []string{embeds})
		default:
			// shared_embeddings: the LM head's bytes, reshaped to [vocab, H/2].
			g.node("Reshape", "", []string{"lm_head.MatMul.weight_Q4", g.ints(int64(c.Vocab), int64(H/2))}, []string{"/model/embed_tokens/Reshape/output_0"})
			g.node("GatherBlockQuantized", onnx.MicrosoftDomain, []string{"/model/embed_tokens/Reshape/output_0", "input_ids", "lm_head.MatMul.weight_scales"},
				[]string{"/model/embed_tokens/GatherBlockQuantized/output_0"}, at("bits", 4), at("block_size", o.BlockSize), at("gather_axis", 0), at("quantize_axis", 1))
			g.node("Mul", "", []string{"/model/embed_tokens/GatherBlockQuantized/output_0", scale}, []string{embeds})
		}
	}
	for _, rc := range []struct {
		name          string
		theta, factor float64
	}{{"global", c.RopeTheta, c.RopeFactor}, {"local", c.LocalRopeTheta, 1}} {
		f := rc.factor
		if f == 0 {
			f = 1
		}
		cos, sin := ropeCache(c.Context, hd, rc.theta, f)
		onnx.Initializer(g.Builder, "cos_cache_"+rc.name, onnx.Float32, []int64{int64(c.Context), int64(hd / 2)}, cos)
		onnx.Initializer(g.Builder, "sin_cache_"+rc.name, onnx.Float32, []int64{int64(c.Context), int64(hd / 2)}, sin)
	}
	qpa := c.QueryPreAttnScalar
	if qpa == 0 {
		qpa = float64(hd)
	}
	eps := float32(c.Eps)
	residual, prevOut := embeds, ""
	for i := 0; i < c.Layers; i++ {
		p := fmt.Sprintf("/model/layers.%d", i)
		hp := fmt.Sprintf("model.layers.%d.", i)
		local := (i+1)%c.Period != 0
		rope, window := "global", -1
		if local {
			rope, window = "local", c.Window
		}
		normed := p + "/input_layernorm/output_0"
		if prevOut == "" {
			g.node("SimplifiedLayerNormalization", "", []string{residual, g.norm(hp + "input_layernorm.weight")}, []string{normed}, at("epsilon", eps), at("axis", -1), at("stash_type", 1))
		} else {
			next := p + "/input_layernorm/output_3"
			g.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, prevOut, g.norm(hp + "input_layernorm.weight")}, []string{normed, "", "", next}, at("epsilon", eps))
			residual = next
		}
		qn, kn, vn := hp+"self_attn.q_proj.weight", hp+"self_attn.k_proj.weight", hp+"self_attn.v_proj.weight"
		q, k, v := p+"/attn/q_proj/output_0", p+"/attn/k_proj/output_0", p+"/attn/v_proj/output_0"
		if o.Layout == GenAI2025 {
			for _, x := range []struct{ name, out, hf string }{{"q_proj", q, qn}, {"k_proj", k, kn}, {"v_proj", v, vn}} {
				if _, err := g.nbits(hp+"attn."+x.name+".MatMul", normed, x.out, true, x.hf); err != nil {
					return nil, err
				}
			}
		} else {
			qkv := p + "/attn/qkv_proj/MatMul/output_0"
			if _, err := g.nbits(fmt.Sprintf("model.layers.%d.attn.qkv_proj.MatMul", i), normed, qkv, true, qn, kn, vn); err != nil {
				return nil, err
			}
			g.node("Split", "", []string{qkv, g.ints(int64(Q), int64(KV), int64(KV))}, []string{q, k, v}, at("axis", -1))
		}
		attnIn := map[string]string{}
		for _, x := range []struct{ name, in, norm string }{{"q", q, hp + "self_attn.q_norm.weight"}, {"k", k, hp + "self_attn.k_norm.weight"}} {
			width := Q
			if x.name == "k" {
				width = KV
			}
			pp := p + "/attn/" + x.name + "_norm"
			g.node("Reshape", "", []string{x.in, g.ints(0, -1, int64(hd))}, []string{pp + "/Reshape/output_0"})
			g.node("SimplifiedLayerNormalization", "", []string{pp + "/Reshape/output_0", g.norm(x.norm)}, []string{pp + "/output_0"}, at("epsilon", eps), at("axis", -1), at("stash_type", 1))
			g.node("Reshape", "", []string{pp + "/output_0", g.ints(0, -1, int64(width))}, []string{pp + "/Reshape_1/output_0"})
			attnIn[x.name] = pp + "/Reshape_1/output_0"
			if o.Layout == GenAI2025 {
				rot := p + "/attn/" + x.name + "_rotary/output_0"
				g.node("RotaryEmbedding", onnx.MicrosoftDomain, []string{attnIn[x.name], "position_ids", "cos_cache_" + rope, "sin_cache_" + rope}, []string{rot}, at("interleaved", 0))
				attnIn[x.name] = rot
			}
		}
		gqaIn := []string{attnIn["q"], attnIn["k"], v, fmt.Sprintf("past_key_values.%d.key", i), fmt.Sprintf("past_key_values.%d.value", i), "seqlens_k", "total_seq_len"}
		rotary := 0
		if o.Layout == GenAI2026 {
			gqaIn, rotary = append(gqaIn, "cos_cache_"+rope, "sin_cache_"+rope), 1
		}
		attnOut := p + "/attn/GroupQueryAttention/output_0"
		g.AddNode(onnx.Node{Name: p + "/attn/GroupQueryAttention", Op: "GroupQueryAttention", Domain: onnx.MicrosoftDomain, Inputs: gqaIn,
			Outputs: []string{attnOut, fmt.Sprintf("present.%d.key", i), fmt.Sprintf("present.%d.value", i)},
			Attrs: []onnx.Attr{at("num_heads", c.Heads), at("kv_num_heads", c.KVHeads), at("scale", float32(1/math.Sqrt(qpa))),
				at("local_window_size", window), at("do_rotary", rotary), at("rotary_interleaved", 0), at("softcap", float32(0))}})
		o1 := p + "/attn/o_proj/MatMul/output_0"
		if _, err := g.nbits(hp+"attn.o_proj.MatMul", attnOut, o1, true, hp+"self_attn.o_proj.weight"); err != nil {
			return nil, err
		}
		postAttn := p + "/post_attention_layernorm/output_0"
		g.node("SimplifiedLayerNormalization", "", []string{o1, g.norm(hp + "post_attention_layernorm.weight")}, []string{postAttn}, at("epsilon", eps), at("axis", -1), at("stash_type", 1))
		ffnIn, ffnRes := p+"/pre_feedforward_layernorm/output_0", p+"/pre_feedforward_layernorm/output_3"
		g.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, postAttn, g.norm(hp + "pre_feedforward_layernorm.weight")}, []string{ffnIn, "", "", ffnRes}, at("epsilon", eps))
		residual = ffnRes
		gate, up := p+"/mlp/gate_proj/MatMul/output_0", p+"/mlp/up_proj/MatMul/output_0"
		if _, err := g.nbits(hp+"mlp.gate_proj.MatMul", ffnIn, gate, true, hp+"mlp.gate_proj.weight"); err != nil {
			return nil, err
		}
		if _, err := g.nbits(hp+"mlp.up_proj.MatMul", ffnIn, up, true, hp+"mlp.up_proj.weight"); err != nil {
			return nil, err
		}
		act := p + "/mlp/act_fn/output_0"
		if o.Layout == GenAI2025 {
			g.node("FastGelu", onnx.MicrosoftDomain, []string{gate}, []string{act})
		} else {
			g.node("Gelu", "", []string{gate}, []string{act}, at("approximate", "tanh"))
		}
		g.node("Mul", "", []string{act, up}, []string{p + "/mlp/Mul/output_0"})
		down := p + "/mlp/down_proj/MatMul/output_0"
		if _, err := g.nbits(hp+"mlp.down_proj.MatMul", p+"/mlp/Mul/output_0", down, true, hp+"mlp.down_proj.weight"); err != nil {
			return nil, err
		}
		prevOut = p + "/post_feedforward_layernorm/output_0"
		g.node("SimplifiedLayerNormalization", "", []string{down, g.norm(hp + "post_feedforward_layernorm.weight")}, []string{prevOut}, at("epsilon", eps), at("axis", -1), at("stash_type", 1))
	}
	g.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, prevOut, g.norm("model.norm.weight")}, []string{"/model/norm/output_0"}, at("epsilon", eps))
	head := "model.embed_tokens.weight"
	if _, ok := g.w["lm_head.weight"]; ok {
		head = "lm_head.weight"
	}
	if _, err := g.nbits("lm_head.MatMul", "/model/norm/output_0", "logits", false, head); err != nil {
		return nil, err
	}
	return g.Builder, nil
}

// SnapInt4 moves the matrices of ts (the 2-D tensors) onto a symmetric
// int4 grid of blocks of blockSize values along each row: each block
// becomes s·(q − 8), q in [0, 15], with s a power of two and at least one
// value −8·s. Such weights are exact in BF16, F16 (for s ≥ 2⁻²⁴) and
// F32, and every symmetric int4 quantizer with that block size (ONNX
// Runtime's MatMulNBits quantizer, llama.cpp's Q4_0 at blockSize 32)
// reproduces them exactly, so all formats of one checkpoint hold the
// same model.
func SnapInt4(ts []Tensor, blockSize int) {
	for _, t := range ts {
		if len(t.Shape) != 2 {
			continue
		}
		v := t.Values
		for lo := 0; lo < len(v); lo += blockSize {
			b := v[lo:min(lo+blockSize, len(v))]
			arg, amax := 0, 0.0
			for i, x := range b {
				if a := math.Abs(float64(x)); a > amax {
					arg, amax = i, a
				}
			}
			if amax == 0 {
				continue
			}
			s := math.Exp2(math.Round(math.Log2(amax / 8)))
			for i, x := range b {
				q := math.Max(-8, math.Min(7, math.Round(float64(x)/s)))
				b[i] = float32(q * s)
			}
			b[arg] = float32(-8 * s)
		}
	}
}
