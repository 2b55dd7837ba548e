package exec

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// foldModel: w = ConstantOfShape(shape)·Cast; y = x + w; r = RandomUniform
// + x (never folded); c = Identity(shape) is a graph output (never folded).
func foldModel(t *testing.T) *onnx.Model {
	t.Helper()
	b := onnx.NewBuilder("fold", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 2, 3)
	b.Output("y", onnx.Float32, 2, 3)
	b.Output("r", onnx.Float32, 2, 3)
	b.Output("c", onnx.Int64, 2)
	onnx.Initializer(b, "shape", onnx.Int64, []int64{2}, []int64{2, 3})
	val, err := onnx.NewTensor("value", onnx.Int32, []int64{1}, []int32{7})
	if err != nil {
		t.Fatal(err)
	}
	b.AddNode(onnx.Node{Name: "cos", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"w7"}, Attrs: []onnx.Attr{{Name: "value", Value: val}}})
	b.AddNode(onnx.Node{Name: "cast", Op: "Cast", Inputs: []string{"w7"}, Outputs: []string{"w"}, Attrs: []onnx.Attr{{Name: "to", Value: int64(onnx.Float32)}}})
	b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"y"}})
	b.AddNode(onnx.Node{Name: "rand", Op: "RandomUniform", Outputs: []string{"u"}, Attrs: []onnx.Attr{{Name: "shape", Value: []int64{2, 3}}}})
	b.AddNode(onnx.Node{Name: "addr", Op: "Add", Inputs: []string{"x", "u"}, Outputs: []string{"r"}})
	b.AddNode(onnx.Node{Name: "id", Op: "Identity", Inputs: []string{"shape"}, Outputs: []string{"c"}})
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return onnx.New(p, onnx.ReadOptions{})
}

func TestConstantFolding(t *testing.T) {
	m := foldModel(t)
	folded, err := Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Compile(m, NoConstantFolding())
	if err != nil {
		t.Fatal(err)
	}
	ops := func(p *Program) map[string]bool {
		s := map[string]bool{}
		for _, st := range p.main.steps {
			s[st.name] = true
		}
		return s
	}
	fo, po := ops(folded), ops(plain)
	if len(po) != 6 {
		t.Errorf("unfolded program has steps %v, want all 6 nodes", po)
	}
	for name, want := range map[string]bool{"cos": false, "cast": false, "add": true, "rand": true, "addr": true, "id": true} {
		if fo[name] != want {
			t.Errorf("folded program: step %q present %v, want %v", name, fo[name], want)
		}
	}
	x := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	for _, p := range []*Program{folded, plain} {
		out, err := p.Run(context.Background(), map[string]tensor.Any{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		y := out["y"].(*tensor.Tensor[float32]).Data()
		for i, v := range y {
			if v != x.Data()[i]+7 {
				t.Fatalf("y = %v, want x+7", y)
			}
		}
		if c := out["c"].(*tensor.Tensor[int64]).Data(); c[0] != 2 || c[1] != 3 {
			t.Errorf("c = %v", c)
		}
	}
}

// Folding computes at most foldLimit of a node's constant inputs: a
// ConstantOfShape whose shape of 8 bytes asks for 40 MiB stays a step of
// the run (a hostile shape once made Compile fill 17 GB), while a Cast of
// an 8 MiB int8 initializer to 32 MiB of float32 is folded.
func TestConstantFoldingLimit(t *testing.T) {
	b := onnx.NewBuilder("limit", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 1)
	b.Output("y", onnx.Float32, nil)
	b.Output("z", onnx.Float32, nil)
	const big = 5 << 20 // int64 values: 40 MiB
	onnx.Initializer(b, "shape", onnx.Int64, []int64{1}, []int64{big})
	const n8 = 8 << 20
	onnx.Initializer(b, "w8", onnx.Int8, []int64{n8}, make([]int8, n8))
	b.AddNode(onnx.Node{Name: "cos", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"c"}})
	b.AddNode(onnx.Node{Name: "cast", Op: "Cast", Inputs: []string{"w8"}, Outputs: []string{"w"}, Attrs: []onnx.Attr{{Name: "to", Value: int64(onnx.Float32)}}})
	b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"x", "c"}, Outputs: []string{"y"}})
	b.AddNode(onnx.Node{Name: "addw", Op: "Add", Inputs: []string{"x", "w"}, Outputs: []string{"z"}})
	p, err := compileBuilder(t, b)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, st := range p.main.steps {
		steps[st.name] = true
	}
	if !steps["cos"] {
		t.Errorf("the 40 MiB ConstantOfShape was folded (steps %v)", steps)
	}
	if steps["cast"] {
		t.Errorf("the Cast of 8 MiB to 32 MiB was not folded (steps %v)", steps)
	}
	if got := foldLimit(1 << 62); got != math.MaxInt64 {
		t.Errorf("foldLimit(2^62) = %d, want MaxInt64 (no overflow)", got)
	}
}

// A node that fails on its constant inputs is left to the run, which
// reports the error with the node's name, as without folding.
func TestConstantFoldingError(t *testing.T) {
	b := onnx.NewBuilder("bad", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 2)
	b.Output("y", onnx.Float32, nil)
	onnx.Initializer(b, "a", onnx.Float32, []int64{3}, []float32{1, 2, 3})
	onnx.Initializer(b, "s", onnx.Int64, []int64{1}, []int64{5})
	b.AddNode(onnx.Node{Name: "reshape", Op: "Reshape", Inputs: []string{"a", "s"}, Outputs: []string{"r"}})
	b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"x", "r"}, Outputs: []string{"y"}})
	p, err := compileBuilder(t, b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(context.Background(), map[string]tensor.Any{"x": tensor.Must(tensor.New([]int{2}, []float32{1, 2}))})
	var e *Error
	if !errors.As(err, &e) || e.Node != "reshape" {
		t.Fatalf("got %v, want an error from node reshape", err)
	}
}

// A Conv read only by the Relu after it applies the Relu itself; one whose
// output is read elsewhere too keeps both steps. Both give what the
// unfused program gives.
func TestConvReluFusion(t *testing.T) {
	for _, shared := range []bool{false, true} {
		b := onnx.NewBuilder("cr", onnx.Opset{Domain: "", Version: 21})
		b.Input("x", onnx.Float32, 1, 2, 5, 5)
		b.Output("y", onnx.Float32, nil)
		w := make([]float32, 3*2*3*3)
		for i := range w {
			w[i] = float32(i%7) - 3
		}
		onnx.Initializer(b, "w", onnx.Float32, []int64{3, 2, 3, 3}, w)
		onnx.Initializer(b, "bias", onnx.Float32, []int64{3}, []float32{0.5, -1, 0})
		b.AddNode(onnx.Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "bias"}, Outputs: []string{"c"},
			Attrs: []onnx.Attr{{Name: "pads", Value: []int64{1, 1, 1, 1}}}})
		b.AddNode(onnx.Node{Name: "relu", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}})
		if shared {
			b.AddNode(onnx.Node{Name: "add", Op: "Add", Inputs: []string{"r", "c"}, Outputs: []string{"y"}})
		} else {
			b.AddNode(onnx.Node{Name: "id", Op: "Identity", Inputs: []string{"r"}, Outputs: []string{"y"}})
		}
		p, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		m := onnx.New(p, onnx.ReadOptions{})
		fused, err := Compile(m)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Compile(m, NoConstantFolding())
		if err != nil {
			t.Fatal(err)
		}
		hasRelu := false
		for _, st := range fused.main.steps {
			hasRelu = hasRelu || st.name == "relu"
		}
		if hasRelu != shared {
			t.Errorf("shared %v: Relu step present %v", shared, hasRelu)
		}
		xd := make([]float32, 50)
		for i := range xd {
			xd[i] = float32(i%11) - 5
		}
		x := tensor.Must(tensor.New([]int{1, 2, 5, 5}, xd))
		got, err := fused.Run(context.Background(), map[string]tensor.Any{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.Run(context.Background(), map[string]tensor.Any{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		g, wv := got["y"].(*tensor.Tensor[float32]).Data(), want["y"].(*tensor.Tensor[float32]).Data()
		neg := 0
		for i := range wv {
			if g[i] != wv[i] {
				t.Fatalf("shared %v: y[%d] = %v, want %v", shared, i, g[i], wv[i])
			}
			if wv[i] < 0 {
				neg++
			}
		}
		if !shared && neg > 0 {
			t.Errorf("Relu output has %d negative values", neg)
		}
	}
}
