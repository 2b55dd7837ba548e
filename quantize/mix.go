package quantize

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Mix is one of llama.cpp's file types (enum llama_ftype) as llama-quantize
// names it: a default ggml type plus per-tensor rules that give some tensors
// more bits and let others fall back to a type their rows fit.
type Mix struct {
	Name     Type
	FileType uint32     // general.file_type (LLAMA_FTYPE_*)
	Default  quant.Type // the type of every quantizable tensor no rule changes
}

// The GGUF targets: llama-quantize's names for llama.cpp's file types.
const (
	F32    Type = "F32"
	F16    Type = "F16"
	BF16   Type = "BF16"
	Q4_0   Type = "Q4_0"
	Q4_1   Type = "Q4_1"
	Q5_0   Type = "Q5_0"
	Q5_1   Type = "Q5_1"
	Q8_0   Type = "Q8_0"
	Q2_K   Type = "Q2_K"
	Q3_K_S Type = "Q3_K_S"
	Q3_K_M Type = "Q3_K_M"
	Q3_K_L Type = "Q3_K_L"
	Q4_K_S Type = "Q4_K_S"
	Q4_K_M Type = "Q4_K_M"
	Q5_K_S Type = "Q5_K_S"
	Q5_K_M Type = "Q5_K_M"
	Q6_K   Type = "Q6_K"
	IQ4_NL Type = "IQ4_NL"
	IQ4_XS Type = "IQ4_XS"

	// Q3_K, Q4_K and Q5_K are llama-quantize's aliases for the _M mixes.
	Q3_K = Q3_K_M
	Q4_K = Q4_K_M
	Q5_K = Q5_K_M
)

// mixes lists the supported file types with their LLAMA_FTYPE value and
// default ggml type (llama.cpp 80fb11a, include/llama.h and
// llama_ftype_get_default_type).
var mixes = []Mix{
	{Q4_0, 2, quant.Q4_0},
	{Q4_1, 3, quant.Q4_1},
	{Q5_0, 8, quant.Q5_0},
	{Q5_1, 9, quant.Q5_1},
	{Q8_0, 7, quant.Q8_0},
	{Q2_K, 10, quant.Q2_K},
	{Q3_K_S, 11, quant.Q3_K},
	{Q3_K_M, 12, quant.Q3_K},
	{Q3_K_L, 13, quant.Q3_K},
	{Q4_K_S, 14, quant.Q4_K},
	{Q4_K_M, 15, quant.Q4_K},
	{Q5_K_S, 16, quant.Q5_K},
	{Q5_K_M, 17, quant.Q5_K},
	{Q6_K, 18, quant.Q6_K},
	{IQ4_NL, 25, quant.IQ4_NL},
	{IQ4_XS, 30, quant.IQ4_XS},
	{F16, 1, quant.F16},
	{BF16, 32, quant.BF16},
	{F32, 0, quant.F32},
}

// mixAliases are the other spellings ParseType accepts for a mix.
var mixAliases = map[string]Type{"Q3_K": Q3_K_M, "Q4_K": Q4_K_M, "Q5_K": Q5_K_M}

// LookupMix returns the mix called t (a canonical name from Types).
func LookupMix(t Type) (Mix, bool) {
	for _, m := range mixes {
		if m.Name == t {
			return m, true
		}
	}
	return Mix{}, false
}

// Geometry is what the rules read from the model as a whole.
type Geometry struct {
	// Layers is the block count: the n of the rules that depend on an
	// ffn_down tensor's position.
	Layers int
	// AttnV is the number of attn_v-like tensors (names holding
	// attn_v.weight, attn_qkv.weight or attn_kv_b.weight): the n of the
	// attn_v rules.
	AttnV int
	// GQA is the number of query heads per KV head (0 if unknown).
	GQA int
	// Tied is true when the file has no output.weight, so that token_embd
	// is also the output matrix and takes its rules.
	Tied bool
	// Is70B marks a model llama.cpp classes as 70B (LLaMA-2/3 70B and a
	// few others of 80 layers), whose attn_v gets Q5_K instead of Q3_K or
	// Q4_K.
	Is70B bool
}

// category is llama.cpp's coarse tensor role for the rules.
type category int

const (
	catOther category = iota
	catTokenEmbd
	catOutput
	catAttnQ
	catAttnK
	catAttnV // attn_v, attn_qkv and attn_kv_b: all follow the attn_v rules
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
)

// categoryOf classifies name, testing the patterns in llama.cpp's order.
func categoryOf(name string) category {
	switch name {
	case "output.weight":
		return catOutput
	case "token_embd.weight", "per_layer_token_embd.weight":
		return catTokenEmbd
	}
	for _, p := range []struct {
		sub string
		cat category
	}{
		{"attn_qkv.weight", catAttnV},
		{"attn_kv_b.weight", catAttnV},
		{"attn_v.weight", catAttnV},
		{"attn_k.weight", catAttnK},
		{"attn_q.weight", catAttnQ},
		{"attn_output.weight", catAttnOutput},
		{"ffn_up", catFFNUp},
		{"ffn_gate", catFFNGate},
		{"ffn_down", catFFNDown},
	} {
		if strings.Contains(name, p.sub) {
			return p.cat
		}
	}
	return catOther
}

// keepSubstrings are name fragments of tensors llama-quantize never
// quantizes (norms, MoE routers, tiny projections of various
// architectures, multimodal position tables).
var keepSubstrings = []string{
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
	"per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
	"indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
	"time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
	"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
	"time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
	"time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
	"sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
	"mm.a.code_embd",
}

// nDims is ggml_n_dims: the rank without trailing dimensions of 1 (at least 1).
func nDims(dims []uint64) int {
	n := len(dims)
	for n > 1 && dims[n-1] == 1 {
		n--
	}
	return n
}

// quantizable reports whether llama-quantize converts the tensor at all:
// rank ≥ 2 (ignoring trailing 1s), a name ending in "weight" and none of
// the excluded names.
func quantizable(name string, dims []uint64) bool {
	if nDims(dims) < 2 || !strings.HasSuffix(name, "weight") ||
		name == "position_embd.weight" || name == "token_types.weight" {
		return false
	}
	for _, s := range keepSubstrings {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// useMoreBits is llama.cpp's choice of layers that get a bigger type in the
// _M mixes: the first and last eighth, and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// fallbacks maps a 256-element block type to the 32-element type used when
// a row is not a multiple of 256.
var fallbacks = map[quant.Type]quant.Type{
	quant.Q2_K:    quant.Q4_0,
	quant.Q3_K:    quant.Q4_0,
	quant.TQ1_0:   quant.Q4_0,
	quant.TQ2_0:   quant.Q4_0,
	quant.Q4_K:    quant.Q5_0,
	quant.Q5_K:    quant.Q5_1,
	quant.Q6_K:    quant.Q8_0,
	quant.IQ1_S:   quant.IQ4_NL,
	quant.IQ1_M:   quant.IQ4_NL,
	quant.IQ2_XXS: quant.IQ4_NL,
	quant.IQ2_XS:  quant.IQ4_NL,
	quant.IQ2_S:   quant.IQ4_NL,
	quant.IQ3_XXS: quant.IQ4_NL,
	quant.IQ3_S:   quant.IQ4_NL,
	quant.IQ4_XS:  quant.IQ4_NL,
}

// fit returns t if rows of ne0 elements fit its blocks, else its fallback,
// else F16 (rows not a multiple of 32).
func fit(t quant.Type, ne0 uint64) quant.Type {
	if ne0%uint64(t.BlockSize()) == 0 {
		return t
	}
	if f, ok := fallbacks[t]; ok && ne0%uint64(f.BlockSize()) == 0 {
		return f
	}
	return quant.F16
}

// Table-driven rules: the type a category gets under a mix, where it does
// not depend on the tensor's position.
var (
	attnOutputRules = map[Type]quant.Type{Q2_K: quant.Q3_K, Q3_K_M: quant.Q4_K, Q3_K_L: quant.Q5_K}
	// attn_v rules for models with at least 4 query heads per KV head.
	attnVGQA4Rules = map[Type]quant.Type{Q2_K: quant.Q4_K, IQ4_NL: quant.Q5_K, IQ4_XS: quant.Q5_K}
)

// TensorType returns the ggml type mix m gives the tensor called name with
// ggml-order dims in a model of geometry g, and false if llama-quantize
// leaves the tensor as it is (norms, rank-1 tensors, excluded names). pos
// is the number of tensors of the same kind that come before it in
// llama.cpp's order (see Order): attn_v-like tensors for an attn_v, ffn_down
// tensors for an ffn_down; it is ignored for other tensors. The rules are
// llama.cpp's (80fb11a, llama-quant.cpp) without an importance matrix, for
// models without experts and other than Falcon; the last step replaces a
// type whose block does not divide dims[0] by its fallback (Q4_K → Q5_0,
// Q5_K → Q5_1, Q6_K → Q8_0, Q2_K and Q3_K → Q4_0, IQ4_XS → IQ4_NL) or, if
// that does not fit either, F16.
func (m Mix) TensorType(name string, dims []uint64, g Geometry, pos int) (quant.Type, bool) {
	t, ok := m.rule(name, dims, g, pos)
	if !ok {
		return 0, false
	}
	return fit(t, dims[0]), true
}

// rule is TensorType before the fallback for rows that do not fit.
func (m Mix) rule(name string, dims []uint64, g Geometry, pos int) (quant.Type, bool) {
	if !quantizable(name, dims) {
		return 0, false
	}
	t := m.Default
	if t == quant.F32 || t == quant.F16 || t == quant.BF16 {
		return t, true // float file types: no rules, no fallback
	}
	ne0 := dims[0]
	cat := categoryOf(name)
	n := g.Layers
	switch {
	case cat == catOutput || (cat == catTokenEmbd && g.Tied):
		// The output matrix: Q8_0 if rows do not fit the default's blocks,
		// else Q6_K unless the file is Q8_0 (then the fallback may apply).
		if ne0%uint64(t.BlockSize()) != 0 {
			t = quant.Q8_0
		} else if t != quant.Q8_0 {
			t = quant.Q6_K
		}
	case cat == catAttnV:
		r, gqa4 := attnVGQA4Rules[m.Name]
		switch {
		case gqa4 && g.GQA >= 4:
			t = r
		case m.Name == Q2_K:
			t = quant.Q3_K
		case m.Name == Q3_K_M && pos < 2:
			t = quant.Q5_K
		case m.Name == Q3_K_M:
			t = quant.Q4_K
		case m.Name == Q3_K_L:
			t = quant.Q5_K
		case (m.Name == Q4_K_M || m.Name == Q5_K_M) && useMoreBits(pos, g.AttnV):
			t = quant.Q6_K
		case m.Name == Q4_K_S && pos < 4:
			t = quant.Q5_K
		}
		if g.Is70B && (t == quant.Q3_K || t == quant.Q4_K) {
			t = quant.Q5_K
		}
	case cat == catFFNDown:
		switch m.Name {
		case Q2_K:
			t = quant.Q3_K
		case Q3_K_M:
			t = quant.Q4_K
			if pos < n/16 {
				t = quant.Q5_K
			}
		case Q3_K_L:
			t = quant.Q5_K
		case Q4_K_M, Q5_K_M:
			if useMoreBits(pos, n) {
				t = quant.Q6_K
			}
		case IQ4_NL, IQ4_XS, Q4_K_S:
			if pos < n/8 {
				t = quant.Q5_K
			}
		}
	case cat == catAttnOutput:
		if r, ok := attnOutputRules[m.Name]; ok {
			t = r
		}
	}
	return t, true
}

// Order sorts tensor names into llama.cpp's order (its weights map): names
// outside a block ("blk.N.") first, then block by block, each group by
// byte order of the name. llama-quantize writes tensors in this order and
// numbers attn_v and ffn_down positions along it.
func Order(names []string) {
	sort.SliceStable(names, func(a, b int) bool {
		la, lb := blockOf(names[a]), blockOf(names[b])
		if la != lb {
			return la < lb
		}
		return names[a] < names[b]
	})
}

// blockOf returns N for a name starting "blk.N", or -1.
func blockOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	end := 0
	if end < len(rest) && (rest[0] == '-' || rest[0] == '+') {
		end++
	}
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	l, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return l
}

// plannedTensor is one tensor of a conversion: where it comes from and the
// type it is written in.
type plannedTensor struct {
	info *gguf.TensorInfo
	typ  quant.Type // output type (info.Type when kept)
	want quant.Type // the mix rule's type before the fallback
	// rule is false for tensors llama-quantize never converts.
	rule bool
}

// plan orders tensors as llama.cpp does and gives each its type under m.
func plan(m Mix, tensors []gguf.TensorInfo, g Geometry) []plannedTensor {
	names := make([]string, len(tensors))
	byName := make(map[string]*gguf.TensorInfo, len(tensors))
	for i := range tensors {
		names[i] = tensors[i].Name
		byName[names[i]] = &tensors[i]
	}
	Order(names)
	out := make([]plannedTensor, len(names))
	var nV, nDown int
	for i, name := range names {
		ti := byName[name]
		pos := 0
		switch categoryOf(name) {
		case catAttnV:
			pos = nV
		case catFFNDown:
			pos = nDown
		}
		want, ok := m.rule(name, ti.Dims, g, pos)
		if ok && m.Default.BlockSize() > 1 { // llama.cpp counts only where the rules ran
			switch categoryOf(name) {
			case catAttnV:
				nV++
			case catFFNDown:
				nDown++
			}
		}
		t := ti.Type
		if ok {
			t = fit(want, ti.Dims[0])
		}
		out[i] = plannedTensor{info: ti, typ: t, want: want, rule: ok}
	}
	return out
}

// seventyB lists the architectures llama.cpp classes as 70B by block count
// (80fb11a, src/models/*.cpp); "llama" only with grouped-query attention.
var seventyB = map[string]int{"llama": 80, "deci": 80, "olmo": 80, "qwen2": 80, "jais2": 68}

// geometryOf reads the model-wide inputs of the rules from f's metadata
// and tensor names. It fails for models with experts and for Falcon, whose
// rules are not implemented, and when the block count is missing.
func geometryOf(f *gguf.File) (Geometry, error) {
	arch, _ := f.String(gguf.KeyArchitecture)
	if arch == "falcon" {
		return Geometry{}, fmt.Errorf("%w: llama.cpp's Falcon-specific mix rules are not implemented", ErrInput)
	}
	first := func(key string) (uint64, bool) {
		v, ok := f.Lookup(arch + "." + key)
		if !ok {
			return 0, false
		}
		if u, ok := v.Uint(); ok {
			return u, true
		}
		if a, ok := v.V.(gguf.Array); ok && a.Len() > 0 {
			if u, ok := (gguf.Value{Type: a.Elem, V: indexArray(a, 0)}).Uint(); ok {
				return u, true
			}
		}
		return 0, false
	}
	if e, ok := first("expert_count"); ok && e > 1 {
		return Geometry{}, fmt.Errorf("%w: llama.cpp's mix rules for mixture-of-experts models are not implemented (%s.expert_count = %d)", ErrInput, arch, e)
	}
	layers, ok := first("block_count")
	if !ok {
		return Geometry{}, fmt.Errorf("%w: %s.block_count missing: the mix rules need the layer count", ErrInput, arch)
	}
	g := Geometry{Layers: int(layers), Tied: true}
	heads, _ := first("attention.head_count")
	kv, ok := first("attention.head_count_kv")
	if !ok {
		kv = heads
	}
	if kv > 0 {
		g.GQA = int(heads / kv)
	}
	if n, ok := seventyB[arch]; ok && int(layers) == n && (arch != "llama" || heads != kv) {
		g.Is70B = true
	}
	for i := range f.Tensors {
		switch categoryOf(f.Tensors[i].Name) {
		case catAttnV:
			g.AttnV++
		case catOutput:
			g.Tied = false
		}
	}
	return g, nil
}

// indexArray returns element i of a scalar array.
func indexArray(a gguf.Array, i int) any {
	switch v := a.Values.(type) {
	case []uint8:
		return v[i]
	case []int8:
		return v[i]
	case []uint16:
		return v[i]
	case []int16:
		return v[i]
	case []uint32:
		return v[i]
	case []int32:
		return v[i]
	case []uint64:
		return v[i]
	case []int64:
		return v[i]
	}
	return nil
}
