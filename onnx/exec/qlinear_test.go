package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// The quantized-op goldens live apart from testdata/onnx/ops so that the
// two tables can be regenerated independently:
//
//	go test ./onnx/exec -run TestQuantOpsORT -update
//	cd tools/ort && node run_cases.mjs --cases ../../testdata/onnx/quant/cases.json --out ../../testdata/onnx/quant/ort.json
const (
	qCasesFile = "../../testdata/onnx/quant/cases.json"
	qORTFile   = "../../testdata/onnx/quant/ort.json"
)

// qtol is the tolerance for uint8/int8 outputs: ONNX Runtime's vector code
// may round a value that lies within float32 rounding of a tie the other
// way, so codes may differ by one.
const qtol = 1

func randU8(r *rand.Rand, shape ...int) *tensor.Tensor[uint8] { return randBytes(r, shape...) }

func randI8(r *rand.Rand, shape ...int) *tensor.Tensor[int8] {
	return i8t(shape, randCodes(r, -128, 127, shape...))
}

func f32s(shape []int, v ...float32) *tensor.Tensor[float32] {
	return tensor.Must(tensor.New(shape, v))
}

func qlinearCases() []opCase {
	r := rnd(18)
	var cs []opCase
	add := func(name string, rtol, atol float64, m func() (*onnx.Builder, map[string]tensor.Any)) {
		cs = append(cs, opCase{name: name, model: m, rtol: rtol, atol: atol})
	}
	sc := func(v float32) *tensor.Tensor[float32] { return tensor.Scalar(v) }
	u8 := func(v uint8) *tensor.Tensor[uint8] { return tensor.Scalar(v) }
	i8 := func(v int8) *tensor.Tensor[int8] { return tensor.Scalar(v) }
	three := []out{{"y", onnx.Uint8}, {"s", onnx.Float32}, {"z", onnx.Uint8}}
	add("DynamicQuantizeLinear/mixed", 0, qtol, single("DynamicQuantizeLinear", "", 21, []in{x(randF32(r, 3, 4))}, three))
	add("DynamicQuantizeLinear/positive", 0, qtol, single("DynamicQuantizeLinear", "", 21, []in{x(f32s([]int{5}, 1, 2.5, 3, 0.25, 7))}, three))
	add("DynamicQuantizeLinear/zeros", 0, 0, single("DynamicQuantizeLinear", "", 21, []in{x(f32s([]int{3}, 0, 0, 0))}, three))
	i32Out := []out{{"z", onnx.Int32}}
	add("MatMulInteger/u8u8_zp", 0, 0, single("MatMulInteger", "", 21, []in{x(randU8(r, 3, 5)), y(randU8(r, 5, 4)), cst("za", u8(12)), cst("zb", u8(130))}, i32Out))
	add("MatMulInteger/u8i8_per_column", 0, 0, single("MatMulInteger", "", 21, []in{x(randU8(r, 2, 3, 37)), cst("b", randI8(r, 37, 20)), cst("za", u8(128)), cst("zb", randI8(r, 20))}, i32Out))
	add("MatMulInteger/i8i8_no_zp", 0, 0, single("MatMulInteger", "", 21, []in{x(randI8(r, 4, 8)), y(randI8(r, 8, 3))}, i32Out))
	add("MatMulInteger/batched_b", 0, 0, single("MatMulInteger", "", 21, []in{x(randU8(r, 3, 6)), y(randU8(r, 2, 6, 5)), cst("za", u8(3)), cst("zb", u8(7))}, i32Out))
	add("MatMulInteger/1d", 0, 0, single("MatMulInteger", "", 21, []in{x(randU8(r, 6)), y(randI8(r, 6, 5))}, i32Out))
	qy := []out{{"z", onnx.Uint8}}
	add("QLinearMatMul/u8", 0, qtol, single("QLinearMatMul", "", 21, []in{x(randU8(r, 2, 4, 33)), cst("sa", sc(0.02)), cst("za", u8(120)), cst("b", randU8(r, 33, 18)), cst("sb", sc(0.01)), cst("zb", u8(125)), cst("sy", sc(0.05)), cst("zy", u8(128))}, qy))
	add("QLinearMatMul/s8_per_column", 0, qtol, single("QLinearMatMul", "", 21, []in{x(randI8(r, 7, 16)), cst("sa", sc(0.03)), cst("za", i8(-3)), cst("b", randI8(r, 16, 6)),
		cst("sb", f32s([]int{6}, 0.01, 0.02, 0.005, 0.011, 0.03, 0.001)), cst("zb", i8t([]int{6}, []int{0, 0, 0, 0, 0, 0})), cst("sy", sc(0.2)), cst("zy", i8(5))}, []out{{"z", onnx.Int8}}))
	add("QLinearMatMul/b_input", 0, qtol, single("QLinearMatMul", "", 21, []in{x(randU8(r, 3, 9)), cst("sa", sc(0.1)), cst("za", u8(100)), y(randI8(r, 9, 4)), cst("sb", sc(0.05)), cst("zb", i8(0)), cst("sy", sc(0.7)), cst("zy", u8(90))}, qy))
	add("MatMulIntegerToFloat/bias_per_column", 1e-5, 1e-5, single("MatMulIntegerToFloat", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2, 5, 24)), cst("b", randI8(r, 24, 10)), cst("sa", sc(0.02)), cst("sb", randF32Pos(r, 10)), cst("za", u8(131)), cst("zb", randI8(r, 10)), cst("bias", randF32(r, 10))}, f32Out))
	add("MatMulIntegerToFloat/u8u8", 1e-5, 1e-5, single("MatMulIntegerToFloat", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 3, 12)), cst("b", randU8(r, 12, 7)), cst("sa", sc(0.03)), cst("sb", sc(0.04)), cst("za", u8(100)), cst("zb", u8(140))}, f32Out))
	add("DynamicQuantizeMatMul/s8_bias", 1e-5, 1e-5, single("DynamicQuantizeMatMul", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 3, 40)), cst("b", randI8(r, 40, 17)), cst("sb", randF32Pos(r, 17)), absent(), cst("bias", randF32(r, 17))}, f32Out))
	add("DynamicQuantizeMatMul/u8_zp", 1e-5, 1e-5, single("DynamicQuantizeMatMul", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 4, 20)), cst("b", randU8(r, 20, 9)), cst("sb", sc(0.01)), cst("zb", u8(128))}, f32Out))
	add("QGemm/float_transB_C", 1e-5, 1e-5, single("QGemm", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 3, 10)), cst("sa", sc(0.05)), cst("za", u8(110)), cst("b", randI8(r, 6, 10)), cst("sb", sc(0.02)), cst("zb", i8(0)), cst("c", i32s([]int{6}, 100, -50, 7, 0, 1000, -3))}, f32Out, at("transB", 1), at("alpha", 0.5)))
	add("QGemm/quant", 0, qtol, single("QGemm", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 4, 12)), cst("sa", sc(0.05)), cst("za", u8(110)), cst("b", randU8(r, 12, 5)), cst("sb", sc(0.02)), cst("zb", u8(127)), absent(), cst("sy", sc(0.3)), cst("zy", u8(128))}, qy))
	for _, op := range []string{"QLinearAdd", "QLinearMul"} {
		add(op+"/u8_broadcast", 0, qtol, single(op, onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2, 3, 4)), cst("sa", sc(0.03)), cst("za", u8(120)), y(randU8(r, 4)), cst("sb", sc(0.05)), cst("zb", u8(130)), cst("sc", sc(0.08)), cst("zc", u8(128))}, qy))
		add(op+"/s8", 0, qtol, single(op, onnx.MicrosoftDomain, 21, []in{x(randI8(r, 3, 5)), cst("sa", sc(0.02)), cst("za", i8(-5)), y(randI8(r, 3, 5)), cst("sb", sc(0.04)), cst("zb", i8(3)), cst("sc", sc(0.05)), cst("zc", i8(0))}, []out{{"z", onnx.Int8}}))
	}
	add("QLinearSigmoid/u8", 0, qtol, single("QLinearSigmoid", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 4, 8)), cst("sx", sc(0.05)), cst("zx", u8(128)), cst("sy", sc(1.0/256)), cst("zy", u8(0))}, qy))
	add("QLinearLeakyRelu/s8", 0, qtol, single("QLinearLeakyRelu", onnx.MicrosoftDomain, 21, []in{x(randI8(r, 4, 8)), cst("sx", sc(0.05)), cst("zx", i8(10)), cst("sy", sc(0.03)), cst("zy", i8(-20))}, []out{{"z", onnx.Int8}}, at("alpha", 0.1)))
	add("QLinearGlobalAveragePool/nchw", 0, qtol, single("QLinearGlobalAveragePool", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2, 3, 4, 5)), cst("sx", sc(0.05)), cst("zx", u8(128)), cst("sy", sc(0.01)), cst("zy", u8(100))}, qy))
	add("QLinearGlobalAveragePool/nhwc", 0, qtol, single("QLinearGlobalAveragePool", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2, 4, 5, 3)), cst("sx", sc(0.05)), cst("zx", u8(128)), cst("sy", sc(0.01)), cst("zy", u8(100))}, qy, at("channels_last", 1)))
	add("QLinearConcat/requant", 0, qtol, single("QLinearConcat", onnx.MicrosoftDomain, 21, []in{cst("sy", sc(0.05)), cst("zy", u8(128)),
		x(randU8(r, 2, 3, 2)), cst("s1", sc(0.05)), cst("z1", u8(128)), y(randU8(r, 2, 1, 2)), cst("s2", sc(0.11)), cst("z2", u8(60))}, qy, at("axis", 1)))
	return cs
}

func randF32Pos(r *rand.Rand, shape ...int) *tensor.Tensor[float32] {
	d := make([]float32, prod(shape))
	for i := range d {
		d[i] = 0.001 + 0.05*r.Float32()
	}
	return tensor.Must(tensor.New(shape, d))
}

// writeCasesTo is writeCases for another file.
func writeCasesTo(t *testing.T, path string, cases []opCase) {
	t.Helper()
	var out []jsonCase
	for _, c := range cases {
		b, inputs := c.model()
		p, err := b.Model()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, o := range p.GetGraph().GetOutput() {
			o.GetType().GetTensorType().Shape = nil
		}
		raw, err := onnx.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		jc := jsonCase{Name: c.name, Model: base64.StdEncoding.EncodeToString(raw), Inputs: map[string]jsonValue{}, Rtol: c.rtol, Atol: c.atol}
		m := onnx.New(p, onnx.ReadOptions{})
		for _, in := range m.Inputs() {
			dt, _, _, _ := onnx.TensorType(in)
			jc.Inputs[in.GetName()] = toJSON(inputs[in.GetName()], dt == onnx.Bool)
		}
		out = append(out, jc)
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d cases to %s", len(out), path)
}

// checkGoldens runs the cases of casesPath and compares them with ORT's
// outputs in ortPath.
func checkGoldens(t *testing.T, casesPath, ortPath string, table []opCase) {
	t.Helper()
	raw, err := os.ReadFile(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	var cases []jsonCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	ort := readORT(t, ortPath)
	results := map[string]ortResult{}
	for _, r := range ort.Results {
		results[r.Name] = r
	}
	if len(cases) != len(table) {
		t.Errorf("%s has %d cases, the Go table %d: regenerate with -update", casesPath, len(cases), len(table))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			r, ok := results[c.Name]
			if !ok {
				t.Fatalf("no ORT result for %s (stale %s)", c.Name, ortPath)
			}
			if r.Error != "" {
				t.Fatalf("ORT rejected the model: %s", r.Error)
			}
			model, err := base64.StdEncoding.DecodeString(c.Model)
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Parse(model, onnx.ReadOptions{Name: c.Name})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(m)
			if err != nil {
				t.Fatal(err)
			}
			feeds := map[string]tensor.Any{}
			for name, v := range c.Inputs {
				if feeds[name], err = fromJSON(v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := p.Run(context.Background(), feeds)
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(r.Outputs))
			for n := range r.Outputs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				compareValue(t, name, got[name], r.Outputs[name], c.Rtol, c.Atol)
			}
		})
	}
}

// TestQuantOpsORT compares the quantized ops (qlinear.go, qlinear_ew.go,
// bert.go) with ONNX Runtime 1.30.0.
func TestQuantOpsORT(t *testing.T) {
	table := append(qlinearCases(), bertCases()...)
	if *update {
		writeCasesTo(t, qCasesFile, table)
		return
	}
	checkGoldens(t, qCasesFile, qORTFile, table)
}
