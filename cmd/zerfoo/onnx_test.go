package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestOnnxBench(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "onnx", "mlp_nbits.onnx")
	dir := filepath.Join(t.TempDir(), "in")
	code, out, errs := zerfoo(t, context.Background(), "", "onnx", "bench", model, "--dim", "batch=3",
		"--runs", "4", "--warmup", "1", "--json", "--save-inputs", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r onnxBenchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if r.Runs != 4 || r.Threads < 1 || !(r.MinMs > 0 && r.MinMs <= r.P50Ms && r.P50Ms <= r.P90Ms && r.P90Ms <= r.P99Ms && r.P99Ms <= r.MaxMs) || r.RunsPerS <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.CPUMs < 0 {
		t.Errorf("result %s: want a CPU time per run", out)
	}
	// The saved input has the --dim size and the generated values.
	f, err := os.Open(filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := npy.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	x, ok := a.Tensor.(*tensor.Tensor[float32])
	if !ok || !tensor.SameShape(x.Shape(), []int{3, 32}) {
		t.Fatalf("saved input %T %v, want float32 [3 32]", a.Tensor, a.Tensor.Shape())
	}
	nonzero := 0
	for _, v := range x.Data() {
		if v < -1 || v >= 1 {
			t.Fatalf("generated value %v outside [-1, 1)", v)
		}
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < 90 {
		t.Errorf("%d of 96 generated values are non-zero", nonzero)
	}
	// Given inputs are used as they are; bad ones are errors naming them.
	code, out, _ = zerfoo(t, context.Background(), "", "onnx", "bench", model, "--input", "x="+filepath.Join(dir, "x.npy"), "--runs", "1", "--warmup", "0")
	if code != 0 || !strings.Contains(out, "1 runs: p50") {
		t.Errorf("with --input: exit %d, %q", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--input", "y=" + filepath.Join(dir, "x.npy")}, `no input "y"`},
		{[]string{"--dim", "batch"}, `--dim "batch"`},
		{[]string{"--runs", "0"}, "--runs 0"},
	} {
		code, _, errs := zerfoo(t, context.Background(), "", append([]string{"onnx", "bench", model}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error with %q", c.args, code, errs, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var times []time.Duration
	for i := 100; i >= 1; i-- {
		times = append(times, time.Duration(i)*time.Millisecond)
	}
	r := summarize(times)
	if r.Runs != 100 || r.MinMs != 1 || r.MaxMs != 100 || r.P50Ms != 50 || r.P90Ms != 90 || r.P99Ms != 99 || r.MeanMs != 50.5 {
		t.Errorf("%+v", r)
	}
}
