package exec

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// modelBuilder adds nodes and initializers with less ceremony.
type modelBuilder struct {
	*onnx.Builder
	r *rand.Rand
	n int
}

func (m *modelBuilder) node(op, domain string, ins, outs []string, attrs ...onnx.Attr) {
	m.n++
	m.AddNode(onnx.Node{Name: fmt.Sprintf("/%s_%d", op, m.n), Op: op, Domain: domain, Inputs: ins, Outputs: outs, Attrs: attrs})
}

func (m *modelBuilder) init(name string, v tensor.Any) string {
	m.AddInitializer(tensorProto(name, v, onnxType(v)))
	return name
}

// nbits adds a symmetric int4 MatMulNBits (block 16) from in to out with
// random weights scaled so that activations stay O(1).
func (m *modelBuilder) nbits(name, in, out string, k, n, level int, bias bool) {
	kb := (k + 15) / 16
	sc := make([]float32, n*kb)
	for i := range sc {
		sc[i] = float32(0.5+m.r.Float64()) / float32(math.Sqrt(float64(k))) / 4
	}
	ins := []string{in, m.init(name+".weight_Q4", randBytes(m.r, n, kb, 8)), m.init(name+".weight_scales", tensor.Must(tensor.New([]int{n, kb}, sc)))}
	if bias {
		ins = append(ins, "", "", m.init(name+".bias", randF32(m.r, n)))
	}
	m.node("MatMulNBits", onnx.MicrosoftDomain, ins, []string{out}, at("K", k), at("N", n), at("bits", 4), at("block_size", 16), at("accuracy_level", level))
}

func (m *modelBuilder) normWeight(name string, n int) string {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(1 + 0.2*m.r.NormFloat64()) // Gemma bakes the +1 in
	}
	return m.init(name, tensor.Must(tensor.New([]int{n}, w)))
}

// buildMLP is a 2-layer MLP with int4 MatMulNBits weights and a symbolic
// batch: x [batch, 32] → MatMulNBits(+bias) → Gelu → MatMulNBits → Softmax.
func buildMLP() *onnx.Builder {
	m := &modelBuilder{Builder: onnx.NewBuilder("mlp_nbits", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1}), r: rnd(10)}
	m.Input("x", onnx.Float32, "batch", 32)
	m.nbits("fc1", "x", "h", 32, 48, 4, true)
	m.node("Gelu", "", []string{"h"}, []string{"g"})
	m.nbits("fc2", "g", "logits", 48, 10, 0, true)
	m.node("Softmax", "", []string{"logits"}, []string{"probs"})
	m.Output("logits", onnx.Float32, "batch", 10)
	m.Output("probs", onnx.Float32, "batch", 10)
	return m.Builder
}

// Tiny Gemma 3 decoder dimensions.
const (
	gVocab, gHidden, gHeads, gKV, gHead, gFF, gLayers, gWindow, gMaxPos = 64, 64, 4, 1, 16, 128, 2, 4, 32
)

// buildGemma writes a Gemma-3-shaped decoder in onnxruntime-genai's layout
// (builder of 2025: RotaryEmbedding nodes, GQA with do_rotary=0, FastGelu):
// inputs input_ids, attention_mask, position_ids [batch, seq] int64 and
// past_key_values.{i}.key|value [batch, 1, past, 16]; outputs logits
// [batch, seq, 64] and present.{i}.key|value. Layer 0 is a sliding-window
// (local, window 4, θ 10000) layer, layer 1 a global one (θ 1e6); both have
// q/k RMS norms; all projections are int4 MatMulNBits (block 16).
func buildGemma() *onnx.Builder {
	m := &modelBuilder{Builder: onnx.NewBuilder("gemma3_tiny", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1}), r: rnd(11)}
	m.Input("input_ids", onnx.Int64, "batch_size", "sequence_length")
	m.Input("attention_mask", onnx.Int64, "batch_size", "total_sequence_length")
	m.Input("position_ids", onnx.Int64, "batch_size", "sequence_length")
	for i := 0; i < gLayers; i++ {
		m.Input(fmt.Sprintf("past_key_values.%d.key", i), onnx.Float32, "batch_size", gKV, "past_sequence_length", gHead)
		m.Input(fmt.Sprintf("past_key_values.%d.value", i), onnx.Float32, "batch_size", gKV, "past_sequence_length", gHead)
	}
	m.Output("logits", onnx.Float32, "batch_size", "sequence_length", gVocab)
	for i := 0; i < gLayers; i++ {
		m.Output(fmt.Sprintf("present.%d.key", i), onnx.Float32, "batch_size", gKV, "total_sequence_length", gHead)
		m.Output(fmt.Sprintf("present.%d.value", i), onnx.Float32, "batch_size", gKV, "total_sequence_length", gHead)
	}
	// Attention mask preprocessing.
	m.init("/model/constants/INT64/[1]", i64s([]int{1}, 1))
	m.init("/model/constants/INT64/1", tensor.Scalar[int64](1))
	m.node("ReduceSum", "", []string{"attention_mask", "/model/constants/INT64/[1]"}, []string{"mask_sum"}, at("keepdims", 0))
	m.node("Sub", "", []string{"mask_sum", "/model/constants/INT64/1"}, []string{"seqlens_k_64"})
	m.node("Cast", "", []string{"seqlens_k_64"}, []string{"seqlens_k"}, at("to", int(onnx.Int32)))
	m.node("Shape", "", []string{"attention_mask"}, []string{"mask_shape"})
	m.node("Gather", "", []string{"mask_shape", "/model/constants/INT64/1"}, []string{"total_64"}, at("axis", 0))
	m.node("Cast", "", []string{"total_64"}, []string{"total_seq_len"}, at("to", int(onnx.Int32)))
	// Embedding.
	m.init("model.embed_tokens.weight", randF32(m.r, gVocab, gHidden))
	m.init("embed_scale", tensor.Scalar(float32(math.Round(math.Sqrt(gHidden)*100)/100)))
	m.node("Gather", "", []string{"model.embed_tokens.weight", "input_ids"}, []string{"embed_raw"})
	m.node("Mul", "", []string{"embed_raw", "embed_scale"}, []string{"embeds"})
	// RoPE caches.
	for _, c := range []struct {
		name  string
		theta float64
	}{{"local", 10000}, {"global", 1e6}} {
		cos, sin := ropeCache(gMaxPos, gHead/2, c.theta)
		m.init("cos_cache_"+c.name, cos)
		m.init("sin_cache_"+c.name, sin)
	}
	m.init("/model/constants/INT64/[0, -1, 16]", i64s([]int{3}, 0, -1, gHead))
	m.init("/model/constants/INT64/[0, -1, 64]", i64s([]int{3}, 0, -1, gHeads*gHead))
	m.init("/model/constants/INT64/[0, -1, 16]kv", i64s([]int{3}, 0, -1, gKV*gHead))
	residual, prevOut := "embeds", ""
	for i := 0; i < gLayers; i++ {
		p := fmt.Sprintf("/model/layers.%d", i)
		local := (i+1)%6 != 0 && i == 0
		rope, window := "global", -1
		if local {
			rope, window = "local", gWindow
		}
		normed := p + "/input_layernorm/output_0"
		if prevOut == "" {
			m.node("SimplifiedLayerNormalization", "", []string{residual, m.normWeight(p+".input_layernorm.weight", gHidden)}, []string{normed}, at("epsilon", 1e-6), at("axis", -1), at("stash_type", 1))
		} else {
			next := p + "/input_layernorm/output_3"
			m.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, prevOut, m.normWeight(p+".input_layernorm.weight", gHidden)}, []string{normed, "", "", next}, at("epsilon", 1e-6))
			residual = next
		}
		m.nbits(p+".attn.q_proj", normed, p+"/q", gHidden, gHeads*gHead, 0, false)
		m.nbits(p+".attn.k_proj", normed, p+"/k", gHidden, gKV*gHead, 0, false)
		m.nbits(p+".attn.v_proj", normed, p+"/v", gHidden, gKV*gHead, 0, false)
		for _, qk := range []struct{ name, shape string }{{"q", "/model/constants/INT64/[0, -1, 64]"}, {"k", "/model/constants/INT64/[0, -1, 16]kv"}} {
			m.node("Reshape", "", []string{p + "/" + qk.name, "/model/constants/INT64/[0, -1, 16]"}, []string{p + "/" + qk.name + "_heads"})
			m.node("SimplifiedLayerNormalization", "", []string{p + "/" + qk.name + "_heads", m.normWeight(p+".attn."+qk.name+"_norm.weight", gHead)}, []string{p + "/" + qk.name + "_normed"}, at("epsilon", 1e-6))
			m.node("Reshape", "", []string{p + "/" + qk.name + "_normed", qk.shape}, []string{p + "/" + qk.name + "_flat"})
			m.node("RotaryEmbedding", onnx.MicrosoftDomain, []string{p + "/" + qk.name + "_flat", "position_ids", "cos_cache_" + rope, "sin_cache_" + rope}, []string{p + "/" + qk.name + "_rot"}, at("interleaved", 0))
		}
		m.node("GroupQueryAttention", onnx.MicrosoftDomain,
			[]string{p + "/q_rot", p + "/k_rot", p + "/v", fmt.Sprintf("past_key_values.%d.key", i), fmt.Sprintf("past_key_values.%d.value", i), "seqlens_k", "total_seq_len"},
			[]string{p + "/attn_out", fmt.Sprintf("present.%d.key", i), fmt.Sprintf("present.%d.value", i)},
			at("num_heads", gHeads), at("kv_num_heads", gKV), at("scale", float32(1/math.Sqrt(gHead))), at("local_window_size", window), at("do_rotary", 0), at("softcap", 0.0))
		m.nbits(p+".attn.o_proj", p+"/attn_out", p+"/o", gHeads*gHead, gHidden, 0, false)
		m.node("SimplifiedLayerNormalization", "", []string{p + "/o", m.normWeight(p+".post_attention_layernorm.weight", gHidden)}, []string{p + "/post_attn"}, at("epsilon", 1e-6))
		m.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, p + "/post_attn", m.normWeight(p+".pre_feedforward_layernorm.weight", gHidden)},
			[]string{p + "/ffn_in", "", "", p + "/residual_ffn"}, at("epsilon", 1e-6))
		residual = p + "/residual_ffn"
		m.nbits(p+".mlp.gate_proj", p+"/ffn_in", p+"/gate", gHidden, gFF, 0, false)
		m.nbits(p+".mlp.up_proj", p+"/ffn_in", p+"/up", gHidden, gFF, 0, false)
		if i == 0 {
			m.node("FastGelu", onnx.MicrosoftDomain, []string{p + "/gate"}, []string{p + "/act"})
		} else {
			m.node("Gelu", "", []string{p + "/gate"}, []string{p + "/act"}, at("approximate", "tanh"))
		}
		m.node("Mul", "", []string{p + "/act", p + "/up"}, []string{p + "/gated"})
		m.nbits(p+".mlp.down_proj", p+"/gated", p+"/down", gFF, gHidden, 0, false)
		m.node("SimplifiedLayerNormalization", "", []string{p + "/down", m.normWeight(p+".post_feedforward_layernorm.weight", gHidden)}, []string{p + "/post_ffn"}, at("epsilon", 1e-6))
		prevOut = p + "/post_ffn"
	}
	m.node("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, []string{residual, prevOut, m.normWeight("model.norm.weight", gHidden)}, []string{"/model/norm/output_0"}, at("epsilon", 1e-6))
	m.nbits("lm_head", "/model/norm/output_0", "logits", gHidden, gVocab, 0, false)
	return m.Builder
}

func gemmaInputs(seed uint64, batch, seq, past int) map[string]tensor.Any {
	r := rnd(seed)
	total := past + seq
	ids := make([]int64, batch*seq)
	pos := make([]int64, batch*seq)
	for b := 0; b < batch; b++ {
		for s := 0; s < seq; s++ {
			ids[b*seq+s] = int64(r.IntN(gVocab))
			pos[b*seq+s] = int64(past + s)
		}
	}
	mask := make([]int64, batch*total)
	for i := range mask {
		mask[i] = 1
	}
	in := map[string]tensor.Any{
		"input_ids":      i64s([]int{batch, seq}, ids...),
		"attention_mask": i64s([]int{batch, total}, mask...),
		"position_ids":   i64s([]int{batch, seq}, pos...),
	}
	for i := 0; i < gLayers; i++ {
		in[fmt.Sprintf("past_key_values.%d.key", i)] = randF32(r, batch, gKV, past, gHead)
		in[fmt.Sprintf("past_key_values.%d.value", i)] = randF32(r, batch, gKV, past, gHead)
	}
	return in
}

func modelCases() []opCase {
	mlp := func(batch int) func() (*onnx.Builder, map[string]tensor.Any) {
		return func() (*onnx.Builder, map[string]tensor.Any) {
			return buildMLP(), map[string]tensor.Any{"x": randF32(rnd(uint64(20+batch)), batch, 32)}
		}
	}
	gemma := func(seed uint64, batch, seq, past int) func() (*onnx.Builder, map[string]tensor.Any) {
		return func() (*onnx.Builder, map[string]tensor.Any) {
			return buildGemma(), gemmaInputs(seed, batch, seq, past)
		}
	}
	return []opCase{
		{name: "model/mlp_nbits/batch1", model: mlp(1), rtol: 1e-5, atol: 1e-6},
		{name: "model/mlp_nbits/batch5", model: mlp(5), rtol: 1e-5, atol: 1e-6},
		{name: "model/gemma3_tiny/prompt", model: gemma(30, 1, 6, 0), rtol: 1e-4, atol: 1e-5},
		{name: "model/gemma3_tiny/decode", model: gemma(31, 1, 1, 7), rtol: 1e-4, atol: 1e-5},
		{name: "model/gemma3_tiny/chunk", model: gemma(32, 1, 3, 4), rtol: 1e-4, atol: 1e-5},
		{name: "model/gemma3_tiny/decode_batch2", model: gemma(33, 2, 1, 5), rtol: 1e-4, atol: 1e-5},
	}
}
