package quantize

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
)

// gemmaTensors returns the tensor table of a Gemma 3 GGUF with config c
// (no output.weight: tied embeddings), every tensor F32, in the order
// llama.cpp's converter writes them.
func gemmaTensors(c gemma3.Config) []gguf.TensorInfo {
	H, Q, KV, F := uint64(c.Hidden), uint64(c.QDim()), uint64(c.KVDim()), uint64(c.FFN)
	ts := []gguf.TensorInfo{
		{Name: "token_embd.weight", Dims: []uint64{H, uint64(c.Vocab)}},
		{Name: "output_norm.weight", Dims: []uint64{H}},
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		for _, t := range []struct {
			n string
			d []uint64
		}{
			{"attn_norm.weight", []uint64{H}},
			{"attn_q.weight", []uint64{H, Q}},
			{"attn_k.weight", []uint64{H, KV}},
			{"attn_v.weight", []uint64{H, KV}},
			{"attn_q_norm.weight", []uint64{uint64(c.HeadDim)}},
			{"attn_k_norm.weight", []uint64{uint64(c.HeadDim)}},
			{"attn_output.weight", []uint64{Q, H}},
			{"post_attention_norm.weight", []uint64{H}},
			{"ffn_norm.weight", []uint64{H}},
			{"ffn_gate.weight", []uint64{H, F}},
			{"ffn_up.weight", []uint64{H, F}},
			{"ffn_down.weight", []uint64{F, H}},
			{"post_ffw_norm.weight", []uint64{H}},
		} {
			ts = append(ts, gguf.TensorInfo{Name: p + t.n, Dims: t.d})
		}
	}
	for i := range ts {
		ts[i].Type = quant.F32
	}
	return ts
}

func preset(t *testing.T, name string) (gemma3.Config, Geometry) {
	t.Helper()
	c, err := gemma3.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return c, Geometry{Layers: c.Layers, AttnV: c.Layers, GQA: c.Heads / c.KVHeads, Tied: true}
}

// histogram counts the planned output types: "Q5_0:81 Q8_0:10 …" sorted
// by type name.
func histogram(p []plannedTensor) string {
	n := map[string]int{}
	for _, t := range p {
		n[t.typ.String()]++
	}
	var s []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		s = append(s, fmt.Sprintf("%s:%d", k, n[k]))
	}
	return strings.Join(s, " ")
}

// TestPresetShapes checks that the presets have the shapes the expected
// decisions below were worked out for.
func TestPresetShapes(t *testing.T) {
	for _, c := range []struct {
		name                               string
		layers, hidden, ffn, heads, kv, hd int
	}{{"270m", 18, 640, 2048, 4, 1, 256}, {"1b", 26, 1152, 6912, 4, 1, 256}} {
		p, _ := preset(t, c.name)
		if p.Layers != c.layers || p.Hidden != c.hidden || p.FFN != c.ffn || p.Heads != c.heads || p.KVHeads != c.kv || p.HeadDim != c.hd || p.Vocab != 262144 {
			t.Errorf("preset %s: %+v", c.name, p)
		}
	}
}

// TestUseMoreBits checks the layers the _M mixes give more bits for 18 and
// 26 layers.
func TestUseMoreBits(t *testing.T) {
	for n, want := range map[int][]int{
		18: {0, 1, 4, 7, 10, 13, 15, 16, 17},
		26: {0, 1, 2, 5, 8, 11, 14, 17, 20, 22, 23, 24, 25},
		8:  {0, 3, 6, 7},
	} {
		var got []int
		for i := range n {
			if useMoreBits(i, n) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("useMoreBits(·, %d): layers %v, want %v", n, got, want)
		}
	}
}

// TestTensorType checks single decisions for Gemma 3 270m (hidden 640,
// 18 layers) and 1b (hidden 1152, 26 layers): neither hidden size is a
// multiple of 256, so every tensor whose rows are the hidden size falls
// back to a 32-block type.
func TestTensorType(t *testing.T) {
	c270, g270 := preset(t, "270m")
	c1b, g1b := preset(t, "1b")
	sq := func(c gemma3.Config) []uint64 { return []uint64{uint64(c.Hidden), uint64(c.QDim())} }
	sv := func(c gemma3.Config) []uint64 { return []uint64{uint64(c.Hidden), uint64(c.KVDim())} }
	so := func(c gemma3.Config) []uint64 { return []uint64{uint64(c.QDim()), uint64(c.Hidden)} }
	sd := func(c gemma3.Config) []uint64 { return []uint64{uint64(c.FFN), uint64(c.Hidden)} }
	se := func(c gemma3.Config) []uint64 { return []uint64{uint64(c.Hidden), 262144} }
	untied := g270
	untied.Tied = false
	gqa2 := g270
	gqa2.GQA = 2
	big70 := Geometry{Layers: 80, AttnV: 80, GQA: 8, Tied: false, Is70B: true}
	for _, tc := range []struct {
		mix  Type
		name string
		dims []uint64
		g    Geometry
		pos  int
		want quant.Type // 0: kept
	}{
		// Norms and rank-1 tensors are never converted, nor is a matrix
		// with a trailing dimension of 1.
		{Q4_K_M, "blk.0.attn_norm.weight", []uint64{640}, g270, 0, 0},
		{Q4_K_M, "blk.0.attn_q_norm.weight", []uint64{256, 4}, g270, 0, 0},
		{Q4_K_M, "blk.0.x.weight", []uint64{640, 1}, g270, 0, 0},
		{Q4_K_M, "blk.0.attn_q.bias", []uint64{640, 4}, g270, 0, 0},
		{F16, "output_norm.weight", []uint64{640}, g270, 0, 0},
		// The tied embedding is the output matrix: Q6_K, or Q8_0 when its
		// rows do not fit.
		{Q4_K_M, "token_embd.weight", se(c270), g270, 0, quant.Q8_0},
		{Q4_0, "token_embd.weight", se(c270), g270, 0, quant.Q8_0},
		{Q4_0, "token_embd.weight", []uint64{2560, 262144}, g270, 0, quant.Q6_K},
		{Q4_K_M, "token_embd.weight", []uint64{2560, 262144}, g270, 0, quant.Q6_K},
		{Q8_0, "token_embd.weight", []uint64{2560, 262144}, g270, 0, quant.Q8_0},
		{IQ4_NL, "token_embd.weight", se(c1b), g1b, 0, quant.Q8_0},
		{F16, "token_embd.weight", se(c270), g270, 0, quant.F16},
		{BF16, "token_embd.weight", se(c270), g270, 0, quant.BF16},
		// Untied, token_embd keeps the default (then falls back).
		{Q4_0, "token_embd.weight", []uint64{2560, 262144}, untied, 0, quant.Q4_0},
		{Q4_K_M, "token_embd.weight", se(c270), untied, 0, quant.Q5_0},
		{Q4_K_M, "output.weight", se(c270), untied, 0, quant.Q8_0},
		// Fallbacks for rows of 640 and 1152.
		{Q4_K_M, "blk.3.attn_q.weight", sq(c270), g270, 0, quant.Q5_0},
		{Q4_K_S, "blk.3.ffn_up.weight", sq(c1b), g1b, 0, quant.Q5_0},
		{Q5_K_M, "blk.3.attn_k.weight", sv(c270), g270, 0, quant.Q5_1},
		{Q6_K, "blk.3.ffn_gate.weight", sv(c1b), g1b, 0, quant.Q8_0},
		{Q3_K_S, "blk.3.attn_q.weight", sq(c270), g270, 0, quant.Q4_0},
		{Q2_K, "blk.3.attn_k.weight", sv(c1b), g1b, 0, quant.Q4_0},
		{IQ4_XS, "blk.3.attn_q.weight", sq(c270), g270, 0, quant.IQ4_NL},
		{IQ4_NL, "blk.3.attn_q.weight", sq(c270), g270, 0, quant.IQ4_NL},
		// Rows that are not a multiple of 32 go to F16, whatever the mix.
		{Q4_0, "blk.3.odd.weight", []uint64{48, 2}, g270, 0, quant.F16},
		{Q4_K_M, "blk.3.odd.weight", []uint64{48, 2}, g270, 0, quant.F16},
		// attn_v by position among the attn_v tensors.
		{Q4_K_M, "blk.0.attn_v.weight", sv(c270), g270, 0, quant.Q8_0},   // Q6_K → Q8_0
		{Q4_K_M, "blk.2.attn_v.weight", sv(c270), g270, 2, quant.Q5_0},   // Q4_K → Q5_0
		{Q4_K_M, "blk.4.attn_v.weight", sv(c270), g270, 4, quant.Q8_0},   // every third layer
		{Q4_K_M, "blk.15.attn_v.weight", sv(c270), g270, 15, quant.Q8_0}, // last eighth
		{Q4_K_M, "blk.5.attn_v.weight", sv(c1b), g1b, 5, quant.Q8_0},
		{Q4_K_M, "blk.6.attn_v.weight", sv(c1b), g1b, 6, quant.Q5_0},
		{Q5_K_M, "blk.6.attn_v.weight", sv(c1b), g1b, 6, quant.Q5_1},
		{Q4_K_S, "blk.3.attn_v.weight", sv(c270), g270, 3, quant.Q5_1}, // Q5_K → Q5_1
		{Q4_K_S, "blk.4.attn_v.weight", sv(c270), g270, 4, quant.Q5_0},
		{Q3_K_M, "blk.1.attn_v.weight", sv(c270), g270, 1, quant.Q5_1},
		{Q3_K_M, "blk.2.attn_v.weight", sv(c270), g270, 2, quant.Q5_0},
		{Q3_K_L, "blk.9.attn_v.weight", sv(c270), g270, 9, quant.Q5_1},
		{Q3_K_S, "blk.9.attn_v.weight", sv(c270), g270, 9, quant.Q4_0},
		{Q2_K, "blk.9.attn_v.weight", sv(c270), g270, 9, quant.Q5_0},   // GQA 4: Q4_K
		{Q2_K, "blk.9.attn_v.weight", sv(c270), gqa2, 9, quant.Q4_0},   // GQA 2: Q3_K
		{IQ4_NL, "blk.9.attn_v.weight", sv(c270), g270, 9, quant.Q5_1}, // GQA 4: Q5_K
		// A 70B model's attn_v gets Q5_K for Q3_K or Q4_K.
		{Q2_K, "blk.9.attn_v.weight", []uint64{8192, 1024}, big70, 9, quant.Q5_K},
		{Q3_K_S, "blk.9.attn_v.weight", []uint64{8192, 1024}, big70, 9, quant.Q5_K},
		{Q4_K_M, "blk.11.attn_v.weight", []uint64{8192, 1024}, big70, 11, quant.Q5_K},
		{Q4_K_M, "blk.0.attn_v.weight", []uint64{8192, 1024}, big70, 0, quant.Q6_K},
		{Q5_K_S, "blk.9.attn_v.weight", []uint64{8192, 1024}, big70, 9, quant.Q5_K},
		{Q4_0, "blk.9.attn_v.weight", []uint64{8192, 1024}, big70, 9, quant.Q4_0},
		{IQ4_XS, "blk.9.attn_v.weight", sv(c270), gqa2, 9, quant.IQ4_NL},
		{Q6_K, "blk.0.attn_v.weight", sv(c270), g270, 0, quant.Q8_0},
		// attn_qkv follows the attn_v rules (its own rules in llama.cpp are
		// unreachable).
		{Q4_K_M, "blk.0.attn_qkv.weight", []uint64{1024, 3072}, g270, 0, quant.Q6_K},
		{Q4_K_M, "blk.2.attn_qkv.weight", []uint64{1024, 3072}, g270, 2, quant.Q4_K},
		// ffn_down (rows of FFN, a multiple of 256) by layer.
		{Q4_K_M, "blk.0.ffn_down.weight", sd(c270), g270, 0, quant.Q6_K},
		{Q4_K_M, "blk.2.ffn_down.weight", sd(c270), g270, 2, quant.Q4_K},
		{Q4_K_M, "blk.13.ffn_down.weight", sd(c270), g270, 13, quant.Q6_K},
		{Q4_K_M, "blk.14.ffn_down.weight", sd(c270), g270, 14, quant.Q4_K},
		{Q4_K_M, "blk.21.ffn_down.weight", sd(c1b), g1b, 21, quant.Q4_K},
		{Q4_K_M, "blk.22.ffn_down.weight", sd(c1b), g1b, 22, quant.Q6_K},
		{Q5_K_M, "blk.2.ffn_down.weight", sd(c1b), g1b, 2, quant.Q6_K},
		{Q5_K_M, "blk.3.ffn_down.weight", sd(c1b), g1b, 3, quant.Q5_K},
		{Q4_K_S, "blk.1.ffn_down.weight", sd(c270), g270, 1, quant.Q5_K},
		{Q4_K_S, "blk.2.ffn_down.weight", sd(c270), g270, 2, quant.Q4_K},
		{Q4_K_S, "blk.2.ffn_down.weight", sd(c1b), g1b, 2, quant.Q5_K},
		{Q3_K_M, "blk.0.ffn_down.weight", sd(c270), g270, 0, quant.Q5_K},
		{Q3_K_M, "blk.1.ffn_down.weight", sd(c270), g270, 1, quant.Q4_K},
		{Q3_K_M, "blk.1.ffn_down.weight", sd(c1b), g1b, 1, quant.Q4_K},
		{Q3_K_L, "blk.9.ffn_down.weight", sd(c270), g270, 9, quant.Q5_K},
		{Q3_K_S, "blk.0.ffn_down.weight", sd(c270), g270, 0, quant.Q3_K},
		{Q2_K, "blk.9.ffn_down.weight", sd(c270), g270, 9, quant.Q3_K},
		{IQ4_NL, "blk.1.ffn_down.weight", sd(c270), g270, 1, quant.Q5_K},
		{IQ4_NL, "blk.2.ffn_down.weight", sd(c270), g270, 2, quant.IQ4_NL},
		{IQ4_XS, "blk.2.ffn_down.weight", sd(c1b), g1b, 2, quant.Q5_K},
		{IQ4_XS, "blk.3.ffn_down.weight", sd(c1b), g1b, 3, quant.IQ4_XS},
		{Q4_0, "blk.0.ffn_down.weight", sd(c270), g270, 0, quant.Q4_0},
		// attn_output (rows of n_head·head_dim = 1024).
		{Q4_K_M, "blk.0.attn_output.weight", so(c270), g270, 0, quant.Q4_K},
		{Q3_K_M, "blk.0.attn_output.weight", so(c270), g270, 0, quant.Q4_K},
		{Q3_K_L, "blk.0.attn_output.weight", so(c1b), g1b, 0, quant.Q5_K},
		{Q3_K_S, "blk.0.attn_output.weight", so(c1b), g1b, 0, quant.Q3_K},
		{Q2_K, "blk.0.attn_output.weight", so(c270), g270, 0, quant.Q3_K},
		{IQ4_XS, "blk.0.attn_output.weight", so(c270), g270, 0, quant.IQ4_XS},
		{Q6_K, "blk.0.attn_output.weight", so(c270), g270, 0, quant.Q6_K},
		{Q5_K_S, "blk.0.attn_output.weight", so(c270), g270, 0, quant.Q5_K},
		{F32, "blk.0.attn_output.weight", so(c270), g270, 0, quant.F32},
	} {
		m, ok := LookupMix(tc.mix)
		if !ok {
			t.Fatalf("no mix %s", tc.mix)
		}
		got, conv := m.TensorType(tc.name, tc.dims, tc.g, tc.pos)
		if !conv {
			got = 0
		}
		if got != tc.want {
			t.Errorf("%s: %s %v (layers %d, GQA %d, tied %v) at position %d: got %v, want %v",
				tc.mix, tc.name, tc.dims, tc.g.Layers, tc.g.GQA, tc.g.Tied, tc.pos, got, tc.want)
		}
	}
}

// TestMixHistograms checks the number of tensors of each type for every
// mix on the full 270m and 1b tensor tables (worked out by hand from the
// rules; TestLlamaQuantizeDryRun checks the same plans against
// llama-quantize's own).
func TestMixHistograms(t *testing.T) {
	want := map[string]map[Type]string{
		"270m": {
			F32:    "F32:236",
			F16:    "F16:127 F32:109",
			BF16:   "BF16:127 F32:109",
			Q8_0:   "F32:109 Q8_0:127",
			Q4_0:   "F32:109 Q4_0:126 Q8_0:1",
			Q4_1:   "F32:109 Q4_1:126 Q8_0:1",
			Q5_0:   "F32:109 Q5_0:126 Q8_0:1",
			Q5_1:   "F32:109 Q5_1:126 Q8_0:1",
			Q2_K:   "F32:109 Q3_K:36 Q4_0:72 Q5_0:18 Q8_0:1",
			Q3_K_S: "F32:109 Q3_K:36 Q4_0:90 Q8_0:1",
			Q3_K_M: "F32:109 Q4_0:72 Q4_K:35 Q5_0:16 Q5_1:2 Q5_K:1 Q8_0:1",
			Q3_K_L: "F32:109 Q4_0:72 Q5_1:18 Q5_K:36 Q8_0:1",
			Q4_K_S: "F32:109 Q4_K:34 Q5_0:86 Q5_1:4 Q5_K:2 Q8_0:1",
			Q4_K_M: "F32:109 Q4_K:27 Q5_0:81 Q6_K:9 Q8_0:10",
			Q5_K_S: "F32:109 Q5_1:90 Q5_K:36 Q8_0:1",
			Q5_K_M: "F32:109 Q5_1:81 Q5_K:27 Q6_K:9 Q8_0:10",
			Q6_K:   "F32:109 Q6_K:36 Q8_0:91",
			IQ4_NL: "F32:109 IQ4_NL:106 Q5_1:18 Q5_K:2 Q8_0:1",
			IQ4_XS: "F32:109 IQ4_NL:72 IQ4_XS:34 Q5_1:18 Q5_K:2 Q8_0:1",
		},
		"1b": {
			F16:    "F16:183 F32:157",
			Q8_0:   "F32:157 Q8_0:183",
			Q4_0:   "F32:157 Q4_0:182 Q8_0:1",
			Q2_K:   "F32:157 Q3_K:52 Q4_0:104 Q5_0:26 Q8_0:1",
			Q3_K_S: "F32:157 Q3_K:52 Q4_0:130 Q8_0:1",
			Q3_K_M: "F32:157 Q4_0:104 Q4_K:51 Q5_0:24 Q5_1:2 Q5_K:1 Q8_0:1",
			Q3_K_L: "F32:157 Q4_0:104 Q5_1:26 Q5_K:52 Q8_0:1",
			Q4_K_S: "F32:157 Q4_K:49 Q5_0:126 Q5_1:4 Q5_K:3 Q8_0:1",
			Q4_K_M: "F32:157 Q4_K:39 Q5_0:117 Q6_K:13 Q8_0:14",
			Q5_K_S: "F32:157 Q5_1:130 Q5_K:52 Q8_0:1",
			Q5_K_M: "F32:157 Q5_1:117 Q5_K:39 Q6_K:13 Q8_0:14",
			Q6_K:   "F32:157 Q6_K:52 Q8_0:131",
			IQ4_NL: "F32:157 IQ4_NL:153 Q5_1:26 Q5_K:3 Q8_0:1",
			IQ4_XS: "F32:157 IQ4_NL:104 IQ4_XS:49 Q5_1:26 Q5_K:3 Q8_0:1",
		},
	}
	for _, name := range []string{"270m", "1b"} {
		c, g := preset(t, name)
		ts := gemmaTensors(c)
		for mix, w := range want[name] {
			m, _ := LookupMix(mix)
			if got := histogram(plan(m, ts, g)); got != w {
				t.Errorf("%s %s: types %s, want %s", name, mix, got, w)
			}
		}
	}
}

// TestOrder checks llama.cpp's tensor order: global tensors first, then by
// block number (numerically), each group by name.
func TestOrder(t *testing.T) {
	names := []string{"blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "blk.2.attn_k_norm.weight",
		"blk.2.attn_k.weight", "output_norm.weight", "blk.0.post_ffw_norm.weight", "rope_freqs.weight"}
	Order(names)
	want := []string{"output_norm.weight", "rope_freqs.weight", "token_embd.weight", "blk.0.post_ffw_norm.weight",
		"blk.2.attn_k.weight", "blk.2.attn_k_norm.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"}
	if !slices.Equal(names, want) {
		t.Errorf("Order: got %v, want %v", names, want)
	}
}

// TestPlanPositions checks that plan numbers attn_v and ffn_down positions
// along llama.cpp's order, not the file's: a file listing blocks in
// reverse gets the same types.
func TestPlanPositions(t *testing.T) {
	c, g := preset(t, "270m")
	ts := gemmaTensors(c)
	m, _ := LookupMix(Q4_K_M)
	fwd := plan(m, ts, g)
	rev := slices.Clone(ts)
	slices.Reverse(rev)
	back := plan(m, rev, g)
	for i := range fwd {
		if fwd[i].info.Name != back[i].info.Name || fwd[i].typ != back[i].typ {
			t.Fatalf("tensor %d: %s %v in file order, %s %v reversed", i, fwd[i].info.Name, fwd[i].typ, back[i].info.Name, back[i].typ)
		}
	}
	if fwd[0].info.Name != "output_norm.weight" || fwd[1].info.Name != "token_embd.weight" || fwd[2].info.Name != "blk.0.attn_k.weight" {
		t.Errorf("order starts %s, %s, %s", fwd[0].info.Name, fwd[1].info.Name, fwd[2].info.Name)
	}
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]Type{
		"q4_0": Q4_0, "Q4_K_M": Q4_K_M, "q4_k_m": Q4_K_M, "q4_k": Q4_K_M, "Q5_K": Q5_K_M, "q3_k": Q3_K_M,
		"iq4_xs": IQ4_XS, "bf16": BF16, "f32": F32, "q8_0": Q8_0, "MNB4": MNB4, "mnb8": MNB8,
	} {
		if got, err := ParseType(in); err != nil || got != want {
			t.Errorf("ParseType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"q4", "Q2_K_S", "IQ2_XXS", ""} {
		if _, err := ParseType(in); err == nil {
			t.Errorf("ParseType(%q): no error", in)
		}
	}
	for _, typ := range Types {
		if _, ok := LookupMix(typ); ok == typ.IsONNX() {
			t.Errorf("%s: LookupMix %v, IsONNX %v", typ, ok, typ.IsONNX())
		}
	}
}
