package exec

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// runSeqNode builds a one-node model (node "n"; ai.onnx at opset and the
// training domain at version 1 imported), compiles and runs it.
func runSeqNode(t *testing.T, op, domain string, opset int64, ins []in, outs []out, attrs ...onnx.Attr) (map[string]tensor.Any, error) {
	t.Helper()
	b := onnx.NewBuilder("case", onnx.Opset{Domain: "", Version: opset}, onnx.Opset{Domain: TrainingDomain, Version: 1})
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
	p, err := compileBuilder(t, b)
	if err != nil {
		return nil, err
	}
	return p.Run(context.Background(), feeds)
}

// seqF64 makes a float64 tensor.
func seqF64(shape []int, v ...float64) *tensor.Tensor[float64] {
	return tensor.Must(tensor.New(shape, v))
}

// seqF32 makes a float32 tensor.
func seqF32(shape []int, v ...float32) *tensor.Tensor[float32] {
	return tensor.Must(tensor.New(shape, v))
}

// seqClose compares got with want element-wise: |g−w| ≤ atol + rtol·|w|.
func seqClose(t *testing.T, what string, got tensor.Any, want []float64, shape []int, rtol, atol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no output", what)
		return
	}
	if !slices.Equal(got.Shape(), shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), shape)
		return
	}
	g, err := f64vals(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	bad := 0
	for i := range want {
		if d := math.Abs(g[i] - want[i]); !(d <= atol+rtol*math.Abs(want[i])) && !(math.IsNaN(g[i]) && math.IsNaN(want[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.9g, want %.9g", what, i, g[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(want))
	}
}

func seqAttrErr(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, ErrAttribute) || !strings.Contains(err.Error(), "node n ") {
		t.Errorf("%s: got %v, want an ErrAttribute naming node n", what, err)
	}
}

func seqRunErr(t *testing.T, err error, what string, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "node n ") {
		t.Errorf("%s: got %v, want %v naming node n", what, err, sentinel)
	}
}

// TestOptimizers checks Adagrad, Adam and Momentum against values of the
// ONNX reference formulas (onnx/backend/test/case/node/{adagrad,adam,
// momentum}.py, evaluated in float64).
func TestOptimizers(t *testing.T) {
	r, x, g, v := seqF64(nil, 0.1), seqF64([]int{2}, 1.2, 2.8), seqF64([]int{2}, -0.94, -2.5), seqF64([]int{2}, 1.7, 3.6)
	f64out := func(names ...string) []out {
		var o []out
		for _, n := range names {
			o = append(o, out{n, onnx.Float64})
		}
		return o
	}
	cases := []struct {
		name  string
		op    string
		ins   []in
		outs  []string
		attrs []onnx.Attr
		want  [][]float64
	}{
		{"adagrad", "Adagrad", []in{inp("r", r), inp("t", i64s(nil, 3)), inp("x", seqF64([]int{2}, 1, -2)), inp("g", seqF64([]int{2}, -1, 0.5)), inp("h", seqF64([]int{2}, 2, 0.25))},
			[]string{"x_new", "h_new"}, []onnx.Attr{at("norm_coefficient", 0.001), at("epsilon", 1e-5), at("decay_factor", 0.1)},
			[][]float64{{1.0443816803, -2.0542829474}, {2.998001, 0.498004}}},
		{"adam_t0", "Adam", []in{inp("r", r), inp("t", i64s(nil, 0)), inp("x", x), inp("g", g), inp("v", v), inp("h", seqF64([]int{2}, 0.1, 0.1))},
			[]string{"x_new", "v_new", "h_new"}, []onnx.Attr{at("norm_coefficient", 0.001), at("alpha", 0.95), at("beta", 0.1), at("epsilon", 1e-7)},
			[][]float64{{1.0250363491, 2.661032671}, {1.56806, 3.29514}, {0.803210896, 5.622407056}}},
		{"adam_t5_post", "Adam", []in{inp("r", r), inp("t", i64s(nil, 5)), inp("x", x), inp("g", g), inp("v", v), inp("h", seqF64([]int{2}, 0.1, 0.1))},
			[]string{"x_new", "v_new", "h_new"}, []onnx.Attr{at("norm_coefficient", 0.001), at("norm_coefficient_post", 0.01), at("alpha", 0.95), at("beta", 0.1), at("epsilon", 1e-7)},
			[][]float64{{0.4223123237, 2.1638418443}, {1.56806, 3.29514}, {0.803210896, 5.622407056}}},
		{"momentum_t0", "Momentum", []in{inp("r", r), inp("t", i64s(nil, 0)), inp("x", x), inp("g", g), inp("v", v)},
			[]string{"x_new", "v_new"}, []onnx.Attr{at("norm_coefficient", 0.001), at("alpha", 0.95), at("beta", 0.1), at("mode", "standard")},
			[][]float64{{1.13238, 2.70772}, {0.6762, 0.9228}}},
		{"momentum_t2", "Momentum", []in{inp("r", r), inp("t", i64s(nil, 2)), inp("x", x), inp("g", g), inp("v", v)},
			[]string{"x_new", "v_new"}, []onnx.Attr{at("norm_coefficient", 0.001), at("alpha", 0.95), at("beta", 0.1), at("mode", "standard")},
			[][]float64{{1.047888, 2.482972}, {1.52112, 3.17028}}},
		{"nesterov_t2", "Momentum", []in{inp("r", r), inp("t", i64s(nil, 2)), inp("x", x), inp("g", g), inp("v", v)},
			[]string{"x_new", "v_new"}, []onnx.Attr{at("norm_coefficient", 0.01), at("alpha", 0.95), at("beta", 0.9), at("mode", "nesterov")},
			[][]float64{{1.218719, 2.933656}, {0.7798, 1.1952}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := runSeqNode(t, c.op, TrainingDomain, 17, c.ins, f64out(c.outs...), c.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range c.outs {
				seqClose(t, name, res[name], c.want[i], []int{2}, 2e-6, 1e-9) // attributes are float32
			}
		})
	}
}

func TestOptimizerErrors(t *testing.T) {
	r, tt, x := inp("r", seqF32(nil, 0.1)), inp("t", i64s(nil, 1)), inp("x", seqF32([]int{2}, 1, 2))
	o := []out{{"a", onnx.Float32}, {"b", onnx.Float32}}
	_, err := runSeqNode(t, "Momentum", TrainingDomain, 17, []in{r, tt, x, inp("g", seqF32([]int{2}, 1, 2)), inp("v", seqF32([]int{2}, 1, 2))}, o,
		at("alpha", 0.9), at("beta", 0.1), at("norm_coefficient", 0.0))
	seqAttrErr(t, err, "Momentum without mode")
	_, err = runSeqNode(t, "Momentum", TrainingDomain, 17, []in{r, tt, x, inp("g", seqF32([]int{2}, 1, 2)), inp("v", seqF32([]int{2}, 1, 2))}, o,
		at("alpha", 0.9), at("beta", 0.1), at("norm_coefficient", 0.0), at("mode", "heavy"))
	seqAttrErr(t, err, "Momentum mode heavy")
	_, err = runSeqNode(t, "Adagrad", TrainingDomain, 17, []in{r, tt, x, inp("g", seqF32([]int{3}, 1, 2, 3)), inp("h", seqF32([]int{2}, 1, 2))}, o)
	seqRunErr(t, err, "Adagrad with G of another shape", tensor.ErrShape)
	_, err = runSeqNode(t, "Adagrad", TrainingDomain, 17, []in{r, tt, x, inp("g", seqF32([]int{2}, 1, 2))}, o[:1])
	seqRunErr(t, err, "Adagrad without H", tensor.ErrShape)
}
