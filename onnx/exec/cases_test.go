package exec

import (
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// in is an input of a single-node case: a graph input, or an initializer
// when init is set. typ overrides the ONNX type (BOOL, INT4, UINT4).
type in struct {
	name string
	v    tensor.Any
	init bool
	typ  onnx.DataType
}

// out is a node output with its ONNX type.
type out struct {
	name string
	typ  onnx.DataType
}

func onnxType(v tensor.Any) onnx.DataType {
	switch v.DType() {
	case numeric.Float32:
		return onnx.Float32
	case numeric.Float16Type:
		return onnx.Float16
	case numeric.Float64:
		return onnx.Float64
	case numeric.Int64:
		return onnx.Int64
	case numeric.Int32:
		return onnx.Int32
	case numeric.Int8:
		return onnx.Int8
	case numeric.Uint8:
		return onnx.Uint8
	}
	panic(fmt.Sprint("onnxType ", v.DType()))
}

func tensorProto(name string, v tensor.Any, dt onnx.DataType) *onnxpb.TensorProto {
	dims := make([]int64, 0, v.Dims())
	for _, d := range v.Shape() {
		dims = append(dims, int64(d))
	}
	var p *onnxpb.TensorProto
	var err error
	switch x := v.(type) {
	case *tensor.Tensor[float32]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	case *tensor.Tensor[numeric.Float16]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	case *tensor.Tensor[int64]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	case *tensor.Tensor[int32]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	case *tensor.Tensor[int8]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	case *tensor.Tensor[uint8]:
		p, err = onnx.NewTensor(name, dt, dims, x.Data())
	default:
		panic(fmt.Sprintf("tensorProto %T", v))
	}
	if err != nil {
		panic(err)
	}
	return p
}

func dimsAny(v tensor.Any) []any {
	d := []any{}
	for _, x := range v.Shape() {
		d = append(d, x)
	}
	return d
}

// single builds a one-node model.
func single(op, domain string, opset int64, ins []in, outs []out, attrs ...onnx.Attr) func() (*onnx.Builder, map[string]tensor.Any) {
	return func() (*onnx.Builder, map[string]tensor.Any) {
		b := onnx.NewBuilder("case", onnx.Opset{Domain: "", Version: opset}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
		feeds := map[string]tensor.Any{}
		var names []string
		for _, i := range ins {
			names = append(names, i.name)
			if i.v == nil {
				continue
			}
			typ := i.typ
			if typ == onnx.Undefined {
				typ = onnxType(i.v)
			}
			if i.init {
				b.AddInitializer(tensorProto(i.name, i.v, typ))
				continue
			}
			b.Input(i.name, typ, dimsAny(i.v)...)
			feeds[i.name] = i.v
		}
		var onames []string
		for _, o := range outs {
			onames = append(onames, o.name)
			if o.name != "" {
				b.Output(o.name, o.typ)
			}
		}
		b.AddNode(onnx.Node{Name: "n", Op: op, Domain: domain, Inputs: names, Outputs: onames, Attrs: attrs})
		return b, feeds
	}
}

func at(name string, v any) onnx.Attr { return onnx.Attr{Name: name, Value: v} }

// x, y name graph inputs; c names an initializer.
func x(v tensor.Any) in             { return in{name: "x", v: v} }
func y(v tensor.Any) in             { return in{name: "y", v: v} }
func inp(n string, v tensor.Any) in { return in{name: n, v: v} }
func cst(n string, v tensor.Any) in { return in{name: n, v: v, init: true} }
func absent() in                    { return in{name: ""} }

var (
	f32Out  = []out{{"z", onnx.Float32}}
	f16Out  = []out{{"z", onnx.Float16}}
	i64Out  = []out{{"z", onnx.Int64}}
	boolOut = []out{{"z", onnx.Bool}}
)

func i32s(shape []int, v ...int32) *tensor.Tensor[int32] { return tensor.Must(tensor.New(shape, v)) }

const f32tol, f16tol = 1e-5, 2e-3

func opCases() []opCase {
	r := rnd(1)
	var cs []opCase
	add := func(name string, rtol, atol float64, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: rtol, atol: atol})
	}
	// Binary arithmetic with broadcasting.
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		add(op+"/same", f32tol, 1e-6, single(op, "", 21, []in{x(randF32(r, 2, 3)), y(randF32(r, 2, 3))}, f32Out))
		add(op+"/broadcast", f32tol, 1e-6, single(op, "", 21, []in{x(randF32(r, 2, 1, 4)), y(randF32(r, 3, 1))}, f32Out))
		add(op+"/scalar", f32tol, 1e-6, single(op, "", 21, []in{x(randF32(r, 2, 3)), cst("c", tensor.Scalar[float32](1.5))}, f32Out))
		add(op+"/f16", f16tol, 1e-3, single(op, "", 21, []in{x(randF16(r, 2, 3)), y(randF16(r, 3))}, f16Out))
		add(op+"/i64", 0, 0, single(op, "", 21, []in{x(i64s([]int{2, 2}, 7, -7, 9, 4)), y(i64s([]int{2}, 2, 3))}, i64Out))
	}
	pos := tensor.Must(tensor.New([]int{2, 3}, []float32{0.5, 1, 2, 3, 0.1, 4}))
	add("Pow/broadcast", f32tol, 1e-6, single("Pow", "", 21, []in{x(pos), y(tensor.Must(tensor.New([]int{3}, []float32{2, 0.5, -1.5})))}, f32Out))
	add("Pow/int_exponent", f32tol, 1e-6, single("Pow", "", 21, []in{x(randF32(r, 2, 3)), cst("e", tensor.Scalar[int64](3))}, f32Out))
	// Unary.
	for _, op := range []string{"Neg", "Abs", "Exp", "Tanh", "Sigmoid", "Relu", "Erf"} {
		add(op, f32tol, 1e-6, single(op, "", 21, []in{x(randF32(r, 3, 4))}, f32Out))
	}
	for _, op := range []string{"Sqrt", "Log", "Reciprocal"} {
		add(op, f32tol, 1e-6, single(op, "", 21, []in{x(pos)}, f32Out))
	}
	add("Neg/i64", 0, 0, single("Neg", "", 21, []in{x(i64s([]int{3}, 1, -2, 0))}, i64Out))
	add("Abs/f16", f16tol, 1e-3, single("Abs", "", 21, []in{x(randF16(r, 5))}, f16Out))
	add("Gelu/none", f32tol, 1e-6, single("Gelu", "", 20, []in{x(randF32(r, 2, 5))}, f32Out))
	add("Gelu/tanh", f32tol, 1e-6, single("Gelu", "", 20, []in{x(randF32(r, 2, 5))}, f32Out, at("approximate", "tanh")))
	add("FastGelu", f32tol, 1e-6, single("FastGelu", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 5))}, f32Out))
	add("FastGelu/bias", f32tol, 1e-6, single("FastGelu", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 5)), cst("b", randF32(r, 5))}, f32Out))
	// Softmax.
	add("Softmax/last", f32tol, 1e-6, single("Softmax", "", 21, []in{x(randF32(r, 2, 3, 4))}, f32Out))
	add("Softmax/axis1", f32tol, 1e-6, single("Softmax", "", 21, []in{x(randF32(r, 2, 3, 4))}, f32Out, at("axis", 1)))
	add("Softmax/opset11_coerce", f32tol, 1e-6, single("Softmax", "", 11, []in{x(randF32(r, 2, 3, 4))}, f32Out))
	add("Softmax/f16", f16tol, 1e-3, single("Softmax", "", 21, []in{x(randF16(r, 2, 6))}, f16Out))
	// Reductions.
	x34 := randF32(r, 2, 3, 4)
	add("ReduceMean/axes_input", f32tol, 1e-6, single("ReduceMean", "", 18, []in{x(x34), cst("a", i64s([]int{1}, -1))}, f32Out))
	add("ReduceMean/opset13_attr", f32tol, 1e-6, single("ReduceMean", "", 13, []in{x(x34)}, f32Out, at("axes", []int64{0, 2}), at("keepdims", 0)))
	add("ReduceMean/all", f32tol, 1e-6, single("ReduceMean", "", 18, []in{x(x34)}, f32Out))
	add("ReduceSum/opset13", f32tol, 1e-6, single("ReduceSum", "", 13, []in{x(x34), cst("a", i64s([]int{2}, 0, 1))}, f32Out, at("keepdims", 0)))
	add("ReduceSum/opset11_attr", f32tol, 1e-6, single("ReduceSum", "", 11, []in{x(x34)}, f32Out, at("axes", []int64{1})))
	add("ReduceSum/i64", 0, 0, single("ReduceSum", "", 21, []in{x(i64s([]int{2, 3}, 1, 1, 1, 1, 1, 0)), cst("a", i64s([]int{1}, 1))}, i64Out, at("keepdims", 0)))
	add("ReduceSum/noop", 0, 0, single("ReduceSum", "", 21, []in{x(x34)}, f32Out, at("noop_with_empty_axes", 1)))
	add("ReduceMax/axes_input", 0, 0, single("ReduceMax", "", 18, []in{x(x34), cst("a", i64s([]int{1}, 1))}, f32Out))
	add("ReduceMax/opset13_attr", 0, 0, single("ReduceMax", "", 13, []in{x(x34)}, f32Out, at("axes", []int64{-1}), at("keepdims", 0)))
	// Shape ops.
	add("Reshape/zero_and_infer", 0, 0, single("Reshape", "", 21, []in{x(x34), cst("s", i64s([]int{3}, 0, -1, 2))}, f32Out))
	add("Transpose/default", 0, 0, single("Transpose", "", 21, []in{x(x34)}, f32Out))
	add("Transpose/perm", 0, 0, single("Transpose", "", 21, []in{x(x34)}, f32Out, at("perm", []int64{1, 0, 2})))
	add("Transpose/i64", 0, 0, single("Transpose", "", 21, []in{x(i64s([]int{2, 3}, 1, 2, 3, 4, 5, 6))}, i64Out, at("perm", []int64{1, 0})))
	x1 := randF32(r, 2, 1, 3, 1)
	add("Squeeze/opset13", 0, 0, single("Squeeze", "", 13, []in{x(x1), cst("a", i64s([]int{1}, -1))}, f32Out))
	add("Squeeze/opset11_attr", 0, 0, single("Squeeze", "", 11, []in{x(x1)}, f32Out, at("axes", []int64{1})))
	add("Squeeze/all", 0, 0, single("Squeeze", "", 21, []in{x(x1)}, f32Out))
	add("Unsqueeze/opset13", 0, 0, single("Unsqueeze", "", 13, []in{x(randF32(r, 2, 3)), cst("a", i64s([]int{2}, 0, -1))}, f32Out))
	add("Unsqueeze/opset11_attr", 0, 0, single("Unsqueeze", "", 11, []in{x(randF32(r, 2, 3))}, f32Out, at("axes", []int64{1})))
	add("Concat/axis1", 0, 0, single("Concat", "", 21, []in{x(randF32(r, 2, 1, 3)), y(randF32(r, 2, 2, 3))}, f32Out, at("axis", 1)))
	add("Concat/neg_i64", 0, 0, single("Concat", "", 21, []in{x(i64s([]int{1}, 1)), y(i64s([]int{2}, 2, 3)), cst("c", i64s([]int{1}, -1))}, i64Out, at("axis", -1)))
	add("Split/input", 0, 0, single("Split", "", 18, []in{x(randF32(r, 2, 6)), cst("s", i64s([]int{3}, 1, 2, 3))}, []out{{"a", onnx.Float32}, {"b", onnx.Float32}, {"c", onnx.Float32}}, at("axis", -1)))
	add("Split/opset11_attr", 0, 0, single("Split", "", 11, []in{x(randF32(r, 4, 2))}, []out{{"a", onnx.Float32}, {"b", onnx.Float32}}, at("split", []int64{3, 1})))
	add("Split/equal", 0, 0, single("Split", "", 13, []in{x(randF32(r, 6, 2))}, []out{{"a", onnx.Float32}, {"b", onnx.Float32}, {"c", onnx.Float32}}))
	add("Split/num_outputs", 0, 0, single("Split", "", 18, []in{x(randF32(r, 2, 5))}, []out{{"a", onnx.Float32}, {"b", onnx.Float32}}, at("axis", 1), at("num_outputs", 2)))
	x56 := randF32(r, 5, 6)
	add("Slice/basic", 0, 0, single("Slice", "", 21, []in{x(x56), cst("st", i64s([]int{2}, 1, 0)), cst("en", i64s([]int{2}, 3, 4))}, f32Out))
	add("Slice/axes_steps", 0, 0, single("Slice", "", 21, []in{x(x56), cst("st", i64s([]int{1}, -1)), cst("en", i64s([]int{1}, -1000)), cst("ax", i64s([]int{1}, 1)), cst("sp", i64s([]int{1}, -2))}, f32Out))
	add("Slice/clamp", 0, 0, single("Slice", "", 21, []in{x(x56), cst("st", i64s([]int{2}, 2, -100)), cst("en", i64s([]int{2}, 1000, 1<<40)), cst("ax", i64s([]int{2}, 0, -1)), cst("sp", i64s([]int{2}, 2, 1))}, f32Out))
	add("Slice/opset9_attr", 0, 0, single("Slice", "", 9, []in{x(x56)}, f32Out, at("starts", []int64{1}), at("ends", []int64{3}), at("axes", []int64{1})))
	add("Gather/axis0", 0, 0, single("Gather", "", 21, []in{x(randF32(r, 5, 3)), y(i64s([]int{2, 2}, 0, 4, -1, 2))}, f32Out))
	add("Gather/axis1_i32", 0, 0, single("Gather", "", 21, []in{x(randF32(r, 2, 5, 3)), y(i32s([]int{2}, 1, -2))}, f32Out, at("axis", 1)))
	add("Gather/scalar_index", 0, 0, single("Gather", "", 21, []in{x(i64s([]int{3}, 5, 6, 7)), cst("i", tensor.Scalar[int64](1))}, i64Out))
	add("Shape", 0, 0, single("Shape", "", 21, []in{x(x34)}, i64Out))
	add("Shape/start_end", 0, 0, single("Shape", "", 21, []in{x(x34)}, i64Out, at("start", 1), at("end", -1)))
	add("Cast/f32_to_i64", 0, 0, single("Cast", "", 21, []in{x(tensor.Must(tensor.New([]int{4}, []float32{1.7, -1.7, 0, 3})))}, i64Out, at("to", int(onnx.Int64))))
	add("Cast/f32_to_f16", 0, 0, single("Cast", "", 21, []in{x(randF32(r, 6))}, f16Out, at("to", int(onnx.Float16))))
	add("Cast/f16_to_f32", 0, 0, single("Cast", "", 21, []in{x(randF16(r, 6))}, f32Out, at("to", int(onnx.Float32))))
	add("Cast/i64_to_i32", 0, 0, single("Cast", "", 21, []in{x(i64s([]int{3}, 1, -5, 1<<20))}, []out{{"z", onnx.Int32}}, at("to", int(onnx.Int32))))
	add("Cast/f32_to_bool", 0, 0, single("Cast", "", 21, []in{x(tensor.Must(tensor.New([]int{3}, []float32{0, 0.5, -2})))}, boolOut, at("to", int(onnx.Bool))))
	cond := in{name: "c", v: tensor.Must(tensor.New([]int{2, 1}, []uint8{1, 0})), typ: onnx.Bool}
	add("Where/broadcast", 0, 0, single("Where", "", 21, []in{cond, x(randF32(r, 2, 3)), y(randF32(r, 3))}, f32Out))
	add("Where/scalar_i64", 0, 0, single("Where", "", 21, []in{cond, x(i64s([]int{2, 2}, 1, 2, 3, 4)), cst("k", tensor.Scalar[int64](-9))}, i64Out))
	add("Expand", 0, 0, single("Expand", "", 21, []in{x(randF32(r, 3, 1)), cst("s", i64s([]int{3}, 2, 1, 4))}, f32Out))
	add("Expand/i64_ones", 0, 0, single("Expand", "", 21, []in{x(i64s([]int{2, 1}, 4, 5)), cst("s", i64s([]int{2}, 1, 3))}, i64Out))
	eqA := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	eqB := tensor.Must(tensor.New([]int{3}, []float32{1, 5, 3}))
	for _, op := range []string{"Equal", "Less", "Greater"} {
		add(op, 0, 0, single(op, "", 21, []in{x(eqA), y(eqB)}, boolOut))
		add(op+"/i64", 0, 0, single(op, "", 21, []in{x(i64s([]int{3}, 1, 2, 3)), cst("c", tensor.Scalar[int64](2))}, boolOut))
	}
	add("Range/i64", 0, 0, single("Range", "", 21, []in{cst("a", tensor.Scalar[int64](2)), cst("b", tensor.Scalar[int64](11)), cst("c", tensor.Scalar[int64](3))}, i64Out))
	add("Range/f32_neg", f32tol, 1e-6, single("Range", "", 21, []in{cst("a", tensor.Scalar[float32](1)), cst("b", tensor.Scalar[float32](-2)), cst("c", tensor.Scalar[float32](-0.75))}, f32Out))
	x45 := randF32(r, 2, 4, 5)
	add("Trilu/upper", 0, 0, single("Trilu", "", 21, []in{x(x45)}, f32Out))
	add("Trilu/lower_k", 0, 0, single("Trilu", "", 21, []in{x(x45), cst("k", tensor.Scalar[int64](-1))}, f32Out, at("upper", 0)))
	add("Trilu/upper_k2", 0, 0, single("Trilu", "", 21, []in{x(x45), cst("k", tensor.Scalar[int64](2))}, f32Out))
	add("ConstantOfShape/default", 0, 0, single("ConstantOfShape", "", 21, []in{x(i64s([]int{2}, 2, 3))}, f32Out))
	v7, _ := onnx.NewTensor("v", onnx.Int64, []int64{1}, []int64{7})
	add("ConstantOfShape/i64", 0, 0, single("ConstantOfShape", "", 21, []in{cst("s", i64s([]int{3}, 1, 2, 2))}, i64Out, at("value", v7)))
	cv, _ := onnx.NewTensor("v", onnx.Float32, []int64{2}, []float32{1.5, -2})
	add("Constant/tensor", 0, 0, single("Constant", "", 21, nil, f32Out, at("value", cv)))
	add("Constant/value_ints", 0, 0, single("Constant", "", 21, nil, i64Out, at("value_ints", []int64{3, 1, 4})))
	add("Identity", 0, 0, single("Identity", "", 21, []in{x(x34)}, f32Out))
	// MatMul and Gemm.
	add("MatMul/2d", f32tol, 1e-5, single("MatMul", "", 21, []in{x(randF32(r, 3, 4)), cst("w", randF32(r, 4, 5))}, f32Out))
	add("MatMul/batched_broadcast", f32tol, 1e-5, single("MatMul", "", 21, []in{x(randF32(r, 2, 1, 3, 4)), y(randF32(r, 3, 4, 2))}, f32Out))
	add("MatMul/1d", f32tol, 1e-5, single("MatMul", "", 21, []in{x(randF32(r, 4)), y(randF32(r, 2, 4, 3))}, f32Out))
	add("MatMul/f16", f16tol, 2e-3, single("MatMul", "", 21, []in{x(randF16(r, 2, 8)), y(randF16(r, 8, 3))}, f16Out))
	add("Gemm/default", f32tol, 1e-5, single("Gemm", "", 21, []in{x(randF32(r, 3, 4)), cst("w", randF32(r, 4, 2)), cst("c", randF32(r, 2))}, f32Out))
	add("Gemm/trans_alpha_beta", f32tol, 1e-5, single("Gemm", "", 21, []in{x(randF32(r, 4, 3)), cst("w", randF32(r, 2, 4)), cst("c", randF32(r, 3, 1))}, f32Out,
		at("transA", 1), at("transB", 1), at("alpha", 0.5), at("beta", 2.0)))
	add("Gemm/no_c", f32tol, 1e-5, single("Gemm", "", 21, []in{x(randF32(r, 3, 4)), cst("w", randF32(r, 4, 2))}, f32Out))
	// Normalizations.
	ln := randF32(r, 2, 3, 8)
	add("LayerNormalization/last", f32tol, 1e-5, single("LayerNormalization", "", 21, []in{x(ln), cst("g", randF32(r, 8)), cst("b", randF32(r, 8))}, f32Out))
	add("LayerNormalization/axis1_outputs", f32tol, 1e-5, single("LayerNormalization", "", 21, []in{x(ln), cst("g", randF32(r, 3, 8))},
		[]out{{"z", onnx.Float32}, {"mean", onnx.Float32}, {"inv", onnx.Float32}}, at("axis", 1), at("epsilon", 1e-3)))
	add("SimplifiedLayerNormalization", f32tol, 1e-5, single("SimplifiedLayerNormalization", "", 21, []in{x(ln), cst("g", randF32(r, 8))}, f32Out, at("epsilon", 1e-6)))
	add("SimplifiedLayerNormalization/f16", f16tol, 2e-3, single("SimplifiedLayerNormalization", "", 21, []in{x(randF16(r, 3, 8)), cst("g", randF16(r, 8))}, f16Out, at("epsilon", 1e-6)))
	add("SkipSimplifiedLayerNormalization", f32tol, 1e-5, single("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, 21,
		[]in{x(ln), y(randF32(r, 2, 3, 8)), cst("g", randF32(r, 8))}, []out{{"z", onnx.Float32}, {"", 0}, {"", 0}, {"sum", onnx.Float32}}, at("epsilon", 1e-6)))
	add("SkipSimplifiedLayerNormalization/bias", f32tol, 1e-5, single("SkipSimplifiedLayerNormalization", onnx.MicrosoftDomain, 21,
		[]in{x(ln), y(randF32(r, 2, 3, 8)), cst("g", randF32(r, 8)), cst("b", randF32(r, 8))}, f32Out))
	return cs
}

func allCases() []opCase {
	cs := opCases()
	cs = append(cs, quantCases()...)
	cs = append(cs, attentionCases()...)
	cs = append(cs, modelCases()...)
	return cs
}
