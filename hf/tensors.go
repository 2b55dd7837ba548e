package hf

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/safetensors"
)

// tensor is one GGUF tensor of the folder: its name as
// convert_hf_to_gguf.py writes it, its source and its role.
type tensor struct {
	name string // GGUF name, such as blk.0.attn_q.weight
	src  *safetensors.Tensor
	norm bool // an RMSNorm weight: stored as float32 1 + w
}

// dims returns the ggml dimensions: the safetensors shape reversed.
func (t *tensor) dims() []uint64 {
	d := make([]uint64, len(t.src.Shape))
	for i, n := range t.src.Shape {
		d[len(d)-1-i] = uint64(n)
	}
	return d
}

// elems returns the number of elements.
func (t *tensor) elems() int { return int(t.src.Elements()) }

// layerNames maps the Hugging Face names of a decoder layer's tensors
// (after "model.layers.N.") to GGUF names (after "blk.N."), as gguf-py's
// tensor_mapping.py does for MODEL_ARCH.GEMMA3.
var layerNames = map[string]string{
	"input_layernorm.weight":            "attn_norm.weight",
	"self_attn.q_proj.weight":           "attn_q.weight",
	"self_attn.k_proj.weight":           "attn_k.weight",
	"self_attn.v_proj.weight":           "attn_v.weight",
	"self_attn.o_proj.weight":           "attn_output.weight",
	"self_attn.q_norm.weight":           "attn_q_norm.weight",
	"self_attn.k_norm.weight":           "attn_k_norm.weight",
	"post_attention_layernorm.weight":   "post_attention_norm.weight",
	"pre_feedforward_layernorm.weight":  "ffn_norm.weight",
	"post_feedforward_layernorm.weight": "post_ffw_norm.weight",
	"mlp.gate_proj.weight":              "ffn_gate.weight",
	"mlp.up_proj.weight":                "ffn_up.weight",
	"mlp.down_proj.weight":              "ffn_down.weight",
}

// multimodal reports whether a tensor belongs to a vision tower or
// projector, which the text model leaves out (convert_hf_to_gguf.py's
// TextModel.filter_tensors, the parts that apply to Gemma 3).
func multimodal(name string) bool {
	for _, s := range []string{"vision_", "vision.", "visual.", "projector.", "audio_", "audio."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// ggufName maps a Hugging Face tensor name (with "language_model."
// removed) to its GGUF name; "" for a name that is not part of the Gemma
// 3 text decoder.
func ggufName(name string) (string, int) {
	switch name {
	case "model.embed_tokens.weight":
		return "token_embd.weight", -1
	case "model.norm.weight":
		return "output_norm.weight", -1
	case "lm_head.weight":
		return "output.weight", -1
	}
	rest, ok := strings.CutPrefix(name, "model.layers.")
	if !ok {
		return "", -1
	}
	num, suffix, ok := strings.Cut(rest, ".")
	if !ok || num == "" || len(num) > 6 || strings.TrimLeft(num, "0123456789") != "" || (len(num) > 1 && num[0] == '0') {
		return "", -1
	}
	g, ok := layerNames[suffix]
	if !ok {
		return "", -1
	}
	n, _ := strconv.Atoi(num)
	return "blk." + num + "." + g, n
}

// plan lists the folder's GGUF tensors in the order convert_hf_to_gguf.py
// writes them — shards in file-name order, tensors of each by name — and
// checks every name, shape and dtype against the config. skipped lists
// the multimodal tensors left out.
func plan(dir string, ck *safetensors.Checkpoint, c *Config) (ts []tensor, skipped []string, err error) {
	type src struct {
		hfName string
		t      *safetensors.Tensor
	}
	var srcs []src
	for _, n := range ck.Names() {
		t, _ := ck.Tensor(n)
		srcs = append(srcs, src{n, t})
	}
	sort.SliceStable(srcs, func(i, j int) bool {
		fi, fj := filepath.Base(srcs[i].t.File), filepath.Base(srcs[j].t.File)
		if fi != fj {
			return fi < fj
		}
		return srcs[i].hfName < srcs[j].hfName
	})
	want := c.shapes()
	seen := map[string]bool{}
	for _, s := range srcs {
		name := strings.ReplaceAll(s.hfName, "language_model.", "")
		if multimodal(name) {
			skipped = append(skipped, s.hfName)
			continue
		}
		if strings.HasSuffix(name, ".rotary_emb.inv_freq") {
			continue // recomputed; convert_hf_to_gguf.py drops it too
		}
		g, layer := ggufName(name)
		if g == "" || layer >= c.Layers {
			return nil, nil, tensorErr(s.t, "is not a tensor of a Gemma 3 text decoder with %d layers", c.Layers)
		}
		if seen[g] {
			return nil, nil, tensorErr(s.t, "gives %s a second time", g)
		}
		seen[g] = true
		shape := want[strings.TrimPrefix(g, "blk."+strconv.Itoa(layer)+".")]
		if fmt.Sprint(s.t.Shape) != fmt.Sprint(shape) {
			return nil, nil, tensorErr(s.t, "has shape %v, want %v (from %s)", s.t.Shape, shape, ConfigFile)
		}
		switch s.t.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16, safetensors.F64:
		default:
			return nil, nil, tensorErr(s.t, "has dtype %v; only F32, F16, BF16 and F64 weights are supported", s.t.DType)
		}
		ts = append(ts, tensor{name: g, src: s.t, norm: len(shape) == 1})
	}
	for _, g := range c.required() {
		if !seen[g] {
			return nil, nil, fmt.Errorf("hf: %s: the checkpoint has no tensor %s (for %s): %w", dir, hfNameOf(g), g, ErrConfig)
		}
	}
	return ts, skipped, nil
}

// shapes returns the safetensors shape ([out, in], PyTorch order) of each
// GGUF tensor, by name without the "blk.N." prefix.
func (c *Config) shapes() map[string][]int {
	H, F, Q, KV := c.Hidden, c.FFN, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	return map[string][]int{
		"token_embd.weight":          {c.VocabSize, H},
		"output.weight":              {c.VocabSize, H},
		"output_norm.weight":         {H},
		"attn_norm.weight":           {H},
		"attn_q.weight":              {Q, H},
		"attn_k.weight":              {KV, H},
		"attn_v.weight":              {KV, H},
		"attn_output.weight":         {H, Q},
		"attn_q_norm.weight":         {c.HeadDim},
		"attn_k_norm.weight":         {c.HeadDim},
		"post_attention_norm.weight": {H},
		"ffn_norm.weight":            {H},
		"post_ffw_norm.weight":       {H},
		"ffn_gate.weight":            {F, H},
		"ffn_up.weight":              {F, H},
		"ffn_down.weight":            {H, F},
	}
}

// required lists the GGUF tensors a checkpoint must have.
func (c *Config) required() []string {
	names := []string{"token_embd.weight", "output_norm.weight"}
	if !c.TieEmbeddings {
		names = append(names, "output.weight")
	}
	var layer []string
	for _, g := range layerNames {
		layer = append(layer, g)
	}
	sort.Strings(layer)
	for i := 0; i < c.Layers; i++ {
		for _, g := range layer {
			names = append(names, "blk."+strconv.Itoa(i)+"."+g)
		}
	}
	return names
}

// hfNameOf returns the Hugging Face name of a GGUF tensor (without a
// language_model. part).
func hfNameOf(g string) string {
	switch g {
	case "token_embd.weight":
		return "model.embed_tokens.weight"
	case "output_norm.weight":
		return "model.norm.weight"
	case "output.weight":
		return "lm_head.weight"
	}
	rest := strings.TrimPrefix(g, "blk.")
	num, suffix, _ := strings.Cut(rest, ".")
	for h, gg := range layerNames {
		if gg == suffix {
			return "model.layers." + num + "." + h
		}
	}
	return g
}

// tensorErr returns an error naming t's file and name.
func tensorErr(t *safetensors.Tensor, format string, args ...any) error {
	return fmt.Errorf("hf: %s: tensor %s %s: %w", t.File, strconv.Quote(clip(t.Name)), fmt.Sprintf(format, args...), ErrConfig)
}
