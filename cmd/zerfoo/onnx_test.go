package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/npy"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/exec"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{"present.0.key": "present.0.key", "/model/x:0": "_model_x_0", "..": "__", "a b": "a_b"} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOnnxRun(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "onnx", "mlp_nbits.onnx")
	dir := t.TempDir()
	x := tensor.Must(tensor.New([]int{2, 32}, make([]float32, 64)))
	for i := range x.Data() {
		x.Data()[i] = float32(i%7) - 3
	}
	in := filepath.Join(dir, "x.npy")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(f, x, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out")
	cmd := &onnxRunCmd{Model: model, Input: []string{"x=" + in}, OutputDir: out}
	if err := cmd.Run(context.Background(), quiet()); err != nil {
		t.Fatal(err)
	}
	// The files hold what the library computes.
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := exec.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Run(context.Background(), map[string]tensor.Any{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"logits", "probs"} {
		f, err := os.Open(filepath.Join(out, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := npy.Read(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if a.Tensor.String() != want[name].String() {
			t.Errorf("%s: got %v, want %v", name, a.Tensor, want[name])
		}
	}
	// Errors.
	for _, tc := range []struct {
		inputs []string
		text   string
	}{
		{nil, "missing --input x"},
		{[]string{"x"}, "NAME=FILE.npy"},
		{[]string{"y=" + in}, `no input "y"`},
		{[]string{"x=" + filepath.Join(dir, "nope.npy")}, "nope.npy"},
		{[]string{"x=" + model}, "npy"},
	} {
		err := (&onnxRunCmd{Model: model, Input: tc.inputs, OutputDir: out}).Run(context.Background(), quiet())
		if err == nil || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("inputs %v: got %v, want an error containing %q", tc.inputs, err, tc.text)
		}
	}
}

func TestOnnxInspect(t *testing.T) {
	if err := (&onnxInspectCmd{Model: filepath.Join("..", "..", "testdata", "onnx", "gemma3_tiny.onnx")}).Run(context.Background(), quiet()); err != nil {
		t.Errorf("inspect gemma3_tiny.onnx: %v", err)
	}
	dir := t.TempDir()
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 2)
	b.Output("y", onnx.Float32, 2)
	b.AddNode(onnx.Node{Name: "n", Op: "Mish", Inputs: []string{"x"}, Outputs: []string{"y"}})
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(path, p, onnx.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := (&onnxInspectCmd{Model: path}).Run(context.Background(), quiet()); err == nil || !strings.Contains(err.Error(), "ai.onnx.Mish") {
		t.Errorf("inspect with Mish: got %v, want an error naming ai.onnx.Mish", err)
	}
}
