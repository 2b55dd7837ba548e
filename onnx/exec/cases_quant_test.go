package exec

import (
	"math/rand/v2"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func randBytes(r *rand.Rand, shape ...int) *tensor.Tensor[uint8] {
	d := make([]uint8, prod(shape))
	for i := range d {
		d[i] = uint8(r.IntN(256))
	}
	return tensor.Must(tensor.New(shape, d))
}

func randCodes(r *rand.Rand, lo, hi int, shape ...int) []int {
	d := make([]int, prod(shape))
	for i := range d {
		d[i] = lo + r.IntN(hi-lo+1)
	}
	return d
}

func i8t(shape []int, v []int) *tensor.Tensor[int8] {
	return tensor.Must(tensor.New(shape, convSlice[int64, int8](toI64(v))))
}

func u8t(shape []int, v []int) *tensor.Tensor[uint8] {
	return tensor.Must(tensor.New(shape, convSlice[int64, uint8](toI64(v))))
}

func toI64(v []int) []int64 {
	o := make([]int64, len(v))
	for i, e := range v {
		o[i] = int64(e)
	}
	return o
}

func quantCases() []opCase {
	r := rnd(2)
	var cs []opCase
	add := func(name string, rtol, atol float64, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: rtol, atol: atol})
	}
	nb := func(k, n, bits, bs, level int) []onnx.Attr {
		return []onnx.Attr{at("K", k), at("N", n), at("bits", bits), at("block_size", bs), at("accuracy_level", level)}
	}
	// MatMulNBits: K = 40 (partial last block), N = 6, block 16 → 3 blocks.
	k, n := 40, 6
	bw := randBytes(r, n, 3, 8)
	sc := randF32(r, n, 3)
	zp := randBytes(r, n, 2)
	add("MatMulNBits/4bit", 1e-5, 1e-5, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 3, k)), cst("b", bw), cst("s", sc)}, f32Out, nb(k, n, 4, 16, 0)...))
	add("MatMulNBits/zero_points_bias", 1e-5, 1e-5, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 3, k)), cst("b", bw), cst("s", sc), cst("zp", zp), absent(), cst("bias", randF32(r, n))}, f32Out, nb(k, n, 4, 16, 0)...))
	add("MatMulNBits/level4", 1e-5, 1e-5, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, k)), cst("b", bw), cst("s", sc)}, f32Out, nb(k, n, 4, 16, 4)...))
	add("MatMulNBits/8bit", 1e-5, 1e-5, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 32)), cst("b", randBytes(r, 4, 1, 32)), cst("s", randF32(r, 4))}, f32Out, nb(32, 4, 8, 32, 0)...))
	add("MatMulNBits/weights_as_inputs", 1e-5, 1e-5, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, k)), inp("b", bw), inp("s", sc)}, f32Out, nb(k, n, 4, 16, 0)...))
	add("MatMulNBits/f16", f16tol, 2e-3, single("MatMulNBits", onnx.MicrosoftDomain, 21, []in{x(randF16(r, 2, k)), cst("b", bw), cst("s", randF16(r, n, 3))}, f16Out, nb(k, n, 4, 16, 0)...))

	// GatherBlockQuantized, uint8 packed (genai tied embedding form).
	gq := []onnx.Attr{at("bits", 4), at("block_size", 16), at("gather_axis", 0), at("quantize_axis", 1)}
	gdata := randBytes(r, 6, 16) // logical [6, 32]
	gsc := randF32(r, 6, 2)
	add("GatherBlockQuantized/uint8", 1e-6, 1e-6, single("GatherBlockQuantized", onnx.MicrosoftDomain, 21, []in{cst("d", gdata), x(i64s([]int{1, 3}, 0, 5, -1)), cst("s", gsc)}, f32Out, gq...))
	add("GatherBlockQuantized/uint8_zp", 1e-6, 1e-6, single("GatherBlockQuantized", onnx.MicrosoftDomain, 21, []in{cst("d", gdata), x(i64s([]int{2}, 2, 3)), cst("s", gsc), cst("zp", randBytes(r, 6, 1))}, f32Out, gq...))
	add("GatherBlockQuantized/int4", 1e-6, 1e-6, single("GatherBlockQuantized", onnx.MicrosoftDomain, 21,
		[]in{{name: "d", v: i8t([]int{6, 32}, randCodes(r, -8, 7, 6, 32)), init: true, typ: onnx.Int4}, x(i64s([]int{2}, 4, 1)), cst("s", gsc)}, f32Out, gq...))
	add("GatherBlockQuantized/uint4_zp", 1e-6, 1e-6, single("GatherBlockQuantized", onnx.MicrosoftDomain, 21,
		[]in{{name: "d", v: u8t([]int{6, 32}, randCodes(r, 0, 15, 6, 32)), init: true, typ: onnx.Uint4}, x(i64s([]int{2}, 4, 1)), cst("s", gsc),
			{name: "zp", v: u8t([]int{6, 2}, randCodes(r, 0, 15, 6, 2)), init: true, typ: onnx.Uint4}}, f32Out, gq...))

	// DequantizeLinear: per tensor, per axis, blocked.
	add("DequantizeLinear/per_tensor_u8", 1e-6, 1e-6, single("DequantizeLinear", "", 21, []in{x(randBytes(r, 2, 5)), cst("s", tensor.Scalar[float32](0.05)), cst("zp", tensor.Scalar[uint8](128))}, f32Out))
	add("DequantizeLinear/per_axis_i8", 1e-6, 1e-6, single("DequantizeLinear", "", 21, []in{x(i8t([]int{3, 4}, randCodes(r, -128, 127, 3, 4))), cst("s", randF32(r, 3)), cst("zp", i8t([]int{3}, []int{0, -3, 5}))}, f32Out, at("axis", 0)))
	add("DequantizeLinear/blocked_int4", 1e-6, 1e-6, single("DequantizeLinear", "", 21,
		[]in{{name: "q", v: i8t([]int{4, 6}, randCodes(r, -8, 7, 4, 6)), init: true, typ: onnx.Int4}, cst("s", randF32(r, 4, 2))}, f32Out, at("axis", 1), at("block_size", 3)))
	add("DequantizeLinear/blocked_u8_zp", 1e-6, 1e-6, single("DequantizeLinear", "", 21,
		[]in{x(randBytes(r, 5, 3)), cst("s", randF32(r, 2, 3)), cst("zp", randBytes(r, 2, 3))}, f32Out, at("axis", 0), at("block_size", 4)))
	// QuantizeLinear: per tensor, per axis, blocked.
	q := tensor.Must(tensor.New([]int{2, 4}, []float32{0.25, 0.75, -0.25, 3, 100, -100, 1.25, -1.25}))
	add("QuantizeLinear/per_tensor_u8", 0, 0, single("QuantizeLinear", "", 21, []in{x(q), cst("s", tensor.Scalar[float32](0.5)), cst("zp", tensor.Scalar[uint8](10))}, []out{{"z", onnx.Uint8}}))
	add("QuantizeLinear/per_axis_i8", 0, 0, single("QuantizeLinear", "", 21, []in{x(q), cst("s", tensor.Must(tensor.New([]int{4}, []float32{0.5, 0.25, 1, 0.1}))), cst("zp", i8t([]int{4}, []int{0, 1, -1, 3}))}, []out{{"z", onnx.Int8}}, at("axis", 1)))
	add("QuantizeLinear/default_u8", 0, 0, single("QuantizeLinear", "", 21, []in{x(q), cst("s", tensor.Scalar[float32](0.5))}, []out{{"z", onnx.Uint8}}))
	add("QuantizeLinear/blocked_i8", 0, 0, single("QuantizeLinear", "", 21, []in{x(randF32(r, 2, 6)), cst("s", tensor.Must(tensor.New([]int{2, 2}, []float32{0.01, 0.02, 0.03, 0.05}))), cst("zp", i8t([]int{2, 2}, []int{0, 0, 0, 0}))}, []out{{"z", onnx.Int8}}, at("axis", 1), at("block_size", 3)))
	return cs
}
