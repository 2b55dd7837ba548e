package exec

import (
	"math"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// ropeCache returns cos and sin caches [maxPos, half] for base theta.
func ropeCache(maxPos, half int, theta float64) (*tensor.Tensor[float32], *tensor.Tensor[float32]) {
	c := make([]float32, maxPos*half)
	s := make([]float32, maxPos*half)
	for p := 0; p < maxPos; p++ {
		for i := 0; i < half; i++ {
			f := float64(p) / math.Pow(theta, float64(2*i)/float64(2*half))
			c[p*half+i], s[p*half+i] = float32(math.Cos(f)), float32(math.Sin(f))
		}
	}
	return tensor.Must(tensor.New([]int{maxPos, half}, c)), tensor.Must(tensor.New([]int{maxPos, half}, s))
}

func attentionCases() []opCase {
	r := rnd(3)
	var cs []opCase
	add := func(name string, rtol, atol float64, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: rtol, atol: atol})
	}
	cosC, sinC := ropeCache(16, 4, 10000)
	ms := onnx.MicrosoftDomain
	add("RotaryEmbedding/3d", 1e-5, 1e-5, single("RotaryEmbedding", ms, 21, []in{x(randF32(r, 2, 3, 16)), y(i64s([]int{2, 3}, 0, 1, 2, 5, 6, 7)), cst("cos", cosC), cst("sin", sinC)}, f32Out))
	add("RotaryEmbedding/3d_interleaved_heads", 1e-5, 1e-5, single("RotaryEmbedding", ms, 21, []in{x(randF32(r, 1, 3, 16)), y(i64s([]int{1, 3}, 3, 4, 9)), cst("cos", cosC), cst("sin", sinC)}, f32Out, at("interleaved", 1), at("num_heads", 2)))
	add("RotaryEmbedding/4d_bnsh", 1e-5, 1e-5, single("RotaryEmbedding", ms, 21, []in{x(randF32(r, 1, 2, 3, 8)), y(i64s([]int{1, 3}, 0, 1, 2)), cst("cos", cosC), cst("sin", sinC)}, f32Out))
	add("RotaryEmbedding/partial_dim", 1e-5, 1e-5, single("RotaryEmbedding", ms, 21, []in{x(randF32(r, 1, 2, 24)), y(i64s([]int{1, 2}, 1, 2)), cst("cos", cosC), cst("sin", sinC)}, f32Out, at("num_heads", 2), at("rotary_embedding_dim", 8)))

	gqaOut := []out{{"z", onnx.Float32}, {"pk", onnx.Float32}, {"pv", onnx.Float32}}
	i32 := func(v ...int32) *tensor.Tensor[int32] { return tensor.Must(tensor.New([]int{len(v)}, v)) }
	cos16, sin16 := ropeCache(16, 8, 10000)
	gqaCase := func(name string, b, s, past int, seqlens []int32, total int32, rotary bool, attrs ...onnx.Attr) {
		h := 8
		if rotary {
			h = 16 // ORT's rotary kernel needs a multiple of 16
		}
		ins := []in{inp("q", randF32(r, b, s, 4*h)), inp("k", randF32(r, b, s, h)), inp("v", randF32(r, b, s, h)),
			inp("past_k", randF32(r, b, 1, past, h)), inp("past_v", randF32(r, b, 1, past, h)),
			inp("seqlens_k", i32(seqlens...)), inp("total", tensor.Scalar(total))}
		if rotary {
			ins = append(ins, cst("cos", cos16), cst("sin", sin16))
		}
		attrs = append(attrs, at("num_heads", 4), at("kv_num_heads", 1))
		add(name, 1e-5, 1e-5, single("GroupQueryAttention", ms, 21, ins, gqaOut, attrs...))
	}
	gqaCase("GroupQueryAttention/prompt", 1, 5, 0, []int32{4}, 5, false)
	gqaCase("GroupQueryAttention/prompt_window", 1, 6, 0, []int32{5}, 6, false, at("local_window_size", 2))
	gqaCase("GroupQueryAttention/decode", 1, 1, 5, []int32{5}, 6, false, at("scale", 0.3))
	gqaCase("GroupQueryAttention/decode_window_softcap", 1, 1, 7, []int32{7}, 8, false, at("local_window_size", 3), at("softcap", 2.0))
	gqaCase("GroupQueryAttention/rotary_prompt", 1, 4, 0, []int32{3}, 4, true, at("do_rotary", 1))
	gqaCase("GroupQueryAttention/rotary_decode_batch2", 2, 1, 4, []int32{4, 4}, 5, true, at("do_rotary", 1))
	return cs
}
