package exec

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestQDQFusion checks that Compile fuses the small BERT's QDQ MatMuls into
// QLinearMatMul and its dynamic chains into DynamicQuantizeMatMul, the
// DequantizeLinear after each QLinearMatMul and every BiasGelu into the
// product before it and each query/key/value Split into its
// MultiHeadAttention (fuseEpilogues), and that the fused programs compute
// what the unfused ones do (to a step of
// the output quantization: the unfused QDQ graph rounds the float product,
// the fused one the exact integer one scaled in float32).
func TestQDQFusion(t *testing.T) {
	w := newBERTWeights(bertSmall, 1)
	feeds := bertInputs(bertSmall, 2, 12, 2)
	models := bertModels(t, w, feeds)
	for _, c := range []struct {
		form       string
		want, gone string
	}{
		{"qdq", "QLinearMatMul", "MatMul"},
		{"dynamic", "com.microsoft.DynamicQuantizeMatMul", "MatMulInteger"},
		{"qoperator", "QLinearMatMul", "MatMul"},
	} {
		m := onnx.New(models[c.form], onnx.ReadOptions{})
		fused, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Compile(m, NoQDQFusion())
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, st := range fused.main.steps {
			count[st.op]++
		}
		if count[c.want] != 4*bertSmall.layers {
			t.Errorf("%s: %d %s steps after fusion (ops %v), want %d", c.form, count[c.want], c.want, count, 4*bertSmall.layers)
		}
		if count[c.gone] != 0 {
			t.Errorf("%s: %s left after fusion: %v", c.form, c.gone, count)
		}
		// the epilogue fusions: every BiasGelu, and the DequantizeLinear
		// of each QLinearMatMul's result
		plainCount := map[string]int{}
		for _, st := range plain.main.steps {
			plainCount[st.op]++
		}
		if count["com.microsoft.BiasGelu"] != 0 || plainCount["com.microsoft.BiasGelu"] != bertSmall.layers {
			t.Errorf("%s: %d BiasGelu steps after fusion, %d before, want 0 and %d", c.form, count["com.microsoft.BiasGelu"], plainCount["com.microsoft.BiasGelu"], bertSmall.layers)
		}
		if count["Split"] != 0 || plainCount["Split"] != bertSmall.layers {
			t.Errorf("%s: %d Split steps after fusion, %d before, want 0 and %d (read in place by MultiHeadAttention)", c.form, count["Split"], plainCount["Split"], bertSmall.layers)
		}
		// the attention's bias is added by the product that makes its
		// packed query, key and value
		for _, st := range fused.main.steps {
			if st.op == "com.microsoft.MultiHeadAttention" && len(st.inputs) > 3 && st.inputs[3] >= 0 {
				t.Errorf("%s: MultiHeadAttention still reads a bias after fusion", c.form)
			}
		}
		if c.form == "qoperator" && plainCount["DequantizeLinear"]-count["DequantizeLinear"] != 4*bertSmall.layers {
			t.Errorf("%s: %d DequantizeLinear steps after fusion, %d before, want %d fewer", c.form, count["DequantizeLinear"], plainCount["DequantizeLinear"], 4*bertSmall.layers)
		}
		a, err := fused.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		b, err := plain.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		compareRange(t, c.form+"/fused_vs_plain", a["last_hidden_state"], toJSON(b["last_hidden_state"], false), 1e-3)
	}
}

// TestQuantErrors checks that the new ops reject bad attributes and
// inputs with errors naming the node, and check their outputs against the
// memory budget.
func TestQuantErrors(t *testing.T) {
	r := rnd(3)
	u8 := func(v uint8) *tensor.Tensor[uint8] { return tensor.Scalar(v) }
	sc := func(v float32) *tensor.Tensor[float32] { return tensor.Scalar(v) }
	cases := []struct {
		name  string
		model func() (*onnx.Builder, map[string]tensor.Any)
		want  error
	}{
		{"MatMulInteger/inner", single("MatMulInteger", "", 21, []in{x(randU8(r, 2, 3)), y(randU8(r, 4, 2))}, []out{{"z", onnx.Int32}}), tensor.ErrShape},
		{"MatMulInteger/float_b", single("MatMulInteger", "", 21, []in{x(randU8(r, 2, 3)), y(randF32(r, 3, 2))}, []out{{"z", onnx.Int32}}), ErrInput},
		{"MatMulInteger/zp_type", single("MatMulInteger", "", 21, []in{x(randU8(r, 2, 3)), y(randU8(r, 3, 2)), cst("za", tensor.Scalar[int8](1))}, []out{{"z", onnx.Int32}}), ErrInput},
		{"QLinearMatMul/zp_count", single("QLinearMatMul", "", 21, []in{x(randU8(r, 2, 3)), cst("sa", sc(1)), cst("za", u8(0)), y(randU8(r, 3, 2)), cst("sb", sc(1)), cst("zb", randU8(r, 3)), cst("sy", sc(1)), cst("zy", u8(0))}, []out{{"z", onnx.Uint8}}), tensor.ErrShape},
		{"QGemm/trans", single("QGemm", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2, 3)), cst("sa", sc(1)), cst("za", u8(0)), y(randU8(r, 3, 2)), cst("sb", sc(1)), cst("zb", u8(0))}, f32Out, at("transA", 2)), ErrAttribute},
		{"QLinearConcat/inputs", single("QLinearConcat", onnx.MicrosoftDomain, 21, []in{cst("sy", sc(1)), cst("zy", u8(0)), x(randU8(r, 2)), cst("s1", sc(1))}, []out{{"z", onnx.Uint8}}, at("axis", 0)), ErrAttribute},
		{"QLinearAdd/types", single("QLinearAdd", onnx.MicrosoftDomain, 21, []in{x(randU8(r, 2)), cst("sa", sc(1)), cst("za", u8(0)), y(randI8(r, 2)), cst("sb", sc(1)), cst("zb", tensor.Scalar[int8](0)), cst("sc", sc(1)), cst("zc", u8(0))}, []out{{"z", onnx.Uint8}}), ErrInput},
		{"Attention/heads", single("Attention", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 1, 2, 8)), cst("w", randF32(r, 8, 24))}, f32Out, at("num_heads", 0)), ErrAttribute},
		{"Attention/weights", single("Attention", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 1, 2, 8)), cst("w", randF32(r, 4, 24))}, f32Out, at("num_heads", 2)), tensor.ErrShape},
		{"MultiHeadAttention/mask", single("MultiHeadAttention", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 1, 2, 8)), inp("k", randF32(r, 1, 2, 8)), inp("v", randF32(r, 1, 2, 8)), absent(), inp("m", i32t([]int{3}, 1, 1, 1))}, f32Out, at("num_heads", 2)), tensor.ErrShape},
		{"BiasGelu/bias", single("BiasGelu", onnx.MicrosoftDomain, 21, []in{x(randF32(r, 2, 4)), cst("b", randF32(r, 3))}, f32Out), tensor.ErrShape},
		{"EmbedLayerNormalization/id", single("EmbedLayerNormalization", onnx.MicrosoftDomain, 21, []in{x(i32t([]int{1, 2}, 0, 9)), absent(), cst("w", randF32(r, 3, 4)), cst("p", randF32(r, 4, 4)), absent(), cst("g", randF32(r, 4)), cst("b", randF32(r, 4))}, f32Out), tensor.ErrIndex},
	}
	for _, c := range cases {
		b, feeds := c.model()
		p, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		prog, err := Compile(onnx.New(p, onnx.ReadOptions{}))
		if err == nil {
			_, err = prog.Run(context.Background(), feeds)
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "node n (") {
			t.Errorf("%s: got %v, want an error wrapping %v naming node n", c.name, err, c.want)
		}
	}
	// Budget: a 1 KiB limit refuses a 16×64 int32 product.
	b, feeds := single("MatMulInteger", "", 21, []in{x(randU8(r, 16, 8)), y(randU8(r, 8, 64))}, []out{{"z", onnx.Int32}})()
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(onnx.New(p, onnx.ReadOptions{}), WithBudget(budget.Limit(1024)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prog.Run(context.Background(), feeds); !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), "node n") {
		t.Errorf("MatMulInteger over budget: got %v, want budget.ErrExceeded naming node n", err)
	}
}
