package exec

import (
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func i32t(shape []int, v ...int32) *tensor.Tensor[int32] { return tensor.Must(tensor.New(shape, v)) }

// bertCases are the golden cases of bert.go's ops.
func bertCases() []opCase {
	r := rnd(19)
	var cs []opCase
	add := func(name string, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: 1e-4, atol: 1e-5})
	}
	ms := onnx.MicrosoftDomain
	add("QuickGelu/default", single("QuickGelu", ms, 21, []in{x(randF32(r, 3, 7))}, f32Out))
	add("QuickGelu/alpha", single("QuickGelu", ms, 21, []in{x(randF32(r, 3, 7))}, f32Out, at("alpha", 1.0)))
	add("BiasGelu", single("BiasGelu", ms, 21, []in{x(randF32(r, 2, 3, 8)), cst("b", randF32(r, 8))}, f32Out))
	ids := i32t([]int{2, 5}, 1, 7, 19, 0, 3, 4, 4, 2, 11, 5)
	seg := i32t([]int{2, 5}, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0)
	mask := i32t([]int{2, 5}, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1)
	eout := []out{{"y", onnx.Float32}, {"mi", onnx.Int32}, {"sum", onnx.Float32}}
	add("EmbedLayerNormalization/segment_mask", single("EmbedLayerNormalization", ms, 21, []in{x(ids), inp("seg", seg), cst("w", randF32(r, 20, 8)), cst("p", randF32(r, 10, 8)),
		cst("se", randF32(r, 2, 8)), cst("g", randF32(r, 8)), cst("bt", randF32(r, 8)), inp("m", mask)}, eout, at("epsilon", 1e-5)))
	add("EmbedLayerNormalization/position_ids", single("EmbedLayerNormalization", ms, 21, []in{x(ids), absent(), cst("w", randF32(r, 20, 8)), cst("p", randF32(r, 10, 8)),
		absent(), cst("g", randF32(r, 8)), cst("bt", randF32(r, 8)), absent(), inp("pos", i32t([]int{1, 5}, 9, 0, 2, 2, 5))}, eout[:2]))
	// Attention: hidden 16, 2 heads of 8.
	aIn := func() in { return x(randF32(r, 2, 4, 16)) }
	yOut := []out{{"y", onnx.Float32}}
	add("Attention/mask_lengths", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 48)), cst("b", randF32(r, 48)), inp("m", i32t([]int{2}, 3, 4))}, yOut, at("num_heads", 2)))
	add("Attention/mask_2d", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 48)), cst("b", randF32(r, 48)), inp("m", i32t([]int{2, 4}, 1, 1, 0, 1, 1, 0, 1, 1))}, yOut, at("num_heads", 2)))
	add("Attention/unidirectional_present", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 48)), cst("b", randF32(r, 48))},
		[]out{{"y", onnx.Float32}, {"present", onnx.Float32}}, at("num_heads", 2), at("unidirectional", 1)))
	add("Attention/past", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 48)), cst("b", randF32(r, 48)), inp("m", i32t([]int{2, 7}, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1)), inp("past", randF32(r, 2, 2, 2, 3, 8))},
		[]out{{"y", onnx.Float32}, {"present", onnx.Float32}}, at("num_heads", 2), at("unidirectional", 1)))
	add("Attention/bias_2b_mask", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 48)), cst("b", randF32(r, 48)), inp("m", i32t([]int{4}, 4, 3, 1, 0)), absent(), inp("ab", randF32(r, 1, 2, 4, 4))},
		yOut, at("num_heads", 2)))
	add("Attention/qkv_sizes_scale", single("Attention", ms, 21, []in{aIn(), cst("w", randF32(r, 16, 40)), cst("b", randF32(r, 40))}, yOut,
		at("num_heads", 2), at("qkv_hidden_sizes", []int64{16, 16, 8}), at("scale", 0.2)))
	// MultiHeadAttention.
	add("MultiHeadAttention/bias_padding_mask", single("MultiHeadAttention", ms, 21, []in{x(randF32(r, 2, 4, 16)), inp("k", randF32(r, 2, 6, 16)), inp("v", randF32(r, 2, 6, 16)),
		cst("b", randF32(r, 48)), inp("m", i32t([]int{2, 6}, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1))}, yOut, at("num_heads", 2)))
	add("MultiHeadAttention/bnsh_kv", single("MultiHeadAttention", ms, 21, []in{x(randF32(r, 1, 3, 16)), inp("k", randF32(r, 1, 2, 5, 8)), inp("v", randF32(r, 1, 2, 5, 8))}, yOut, at("num_heads", 2)))
	add("MultiHeadAttention/past_present", single("MultiHeadAttention", ms, 21, []in{x(randF32(r, 1, 2, 16)), inp("k", randF32(r, 1, 2, 16)), inp("v", randF32(r, 1, 2, 16)),
		absent(), inp("m", i32t([]int{1}, 4)), inp("ab", randF32(r, 1, 2, 2, 5)), inp("pk", randF32(r, 1, 2, 3, 8)), inp("pv", randF32(r, 1, 2, 3, 8))},
		[]out{{"y", onnx.Float32}, {"pko", onnx.Float32}, {"pvo", onnx.Float32}}, at("num_heads", 2)))
	return cs
}
