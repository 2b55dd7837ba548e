package quantize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

var update = flag.Bool("update", false, "rewrite testdata/quantize models")

const goldenDir = "../testdata/quantize"

// mlpModel is a float MLP written by the onnx Builder:
// y = Relu(x·W1 + b1)·W2 + b2 with x [-1, 64], W1 [64, 48], W2 [48, 10]
// (K = 48 is not a multiple of 32: the last block of layer 2 is partial),
// plus a MatMul whose B is a graph input, which must be skipped.
func mlpModel(t *testing.T) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 14))
	randn := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * s)
		}
		return v
	}
	b := onnx.NewBuilder("mlp", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, "batch", 64)
	b.Input("m", onnx.Float32, 10, 2)
	onnx.Initializer(b, "W1", onnx.Float32, []int64{64, 48}, randn(64*48, 0.15))
	onnx.Initializer(b, "b1", onnx.Float32, []int64{48}, randn(48, 0.1))
	onnx.Initializer(b, "W2", onnx.Float32, []int64{48, 10}, randn(48*10, 0.2))
	onnx.Initializer(b, "b2", onnx.Float32, []int64{10}, randn(10, 0.1))
	b.AddNode(onnx.Node{Name: "fc1", Op: "MatMul", Inputs: []string{"x", "W1"}, Outputs: []string{"h0"}})
	b.AddNode(onnx.Node{Name: "add1", Op: "Add", Inputs: []string{"h0", "b1"}, Outputs: []string{"h1"}})
	b.AddNode(onnx.Node{Name: "relu", Op: "Relu", Inputs: []string{"h1"}, Outputs: []string{"h"}})
	b.AddNode(onnx.Node{Name: "fc2", Op: "MatMul", Inputs: []string{"h", "W2"}, Outputs: []string{"y0"}})
	b.AddNode(onnx.Node{Name: "add2", Op: "Add", Inputs: []string{"y0", "b2"}, Outputs: []string{"y"}})
	b.AddNode(onnx.Node{Name: "proj", Op: "MatMul", Inputs: []string{"y", "m"}, Outputs: []string{"z"}})
	b.Output("y", onnx.Float32, "batch", 10)
	b.Output("z", onnx.Float32, "batch", 2)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	data, err := onnx.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// goldenCases are the quantized models committed under testdata/quantize
// and run by ONNX Runtime (tools/ort/quantize_goldens.mjs).
var goldenCases = []struct {
	file string
	opts Options
}{
	{"mlp_mnb4.onnx", Options{Type: MNB4}},
	{"mlp_mnb4_asym_b16.onnx", Options{Type: MNB4, BlockSize: 16, Asymmetric: true}},
	{"mlp_mnb8.onnx", Options{Type: MNB8}},
}

// TestONNXGoldenModels quantizes the float MLP and compares the bytes with
// the committed models (go test ./quantize -update rewrites them).
func TestONNXGoldenModels(t *testing.T) {
	float := mlpModel(t)
	if *update {
		if err := os.WriteFile(filepath.Join(goldenDir, "mlp.onnx"), float, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range goldenCases {
		m, err := onnx.Parse(float, onnx.ReadOptions{Name: "mlp.onnx"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := ONNX(context.Background(), m, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Tensors) != 3 || !r.Tensors[0].Quantized || !r.Tensors[1].Quantized || r.Tensors[2].Quantized {
			t.Fatalf("%s: report %+v: want W1, W2 quantized and m skipped", c.file, r.Tensors)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: quantized model does not validate: %v", c.file, err)
		}
		got, err := onnx.Marshal(m.Proto)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(goldenDir, c.file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: quantized model differs from the committed one (%d vs %d bytes); rerun with -update if intended", c.file, len(got), len(want))
		}
	}
}

// ortGolden is testdata/quantize/ort.json.
type ortGolden struct {
	ORTVersion string `json:"ort_version"`
	Cases      []struct {
		Model  string    `json:"model"`
		Input  ortTensor `json:"x"`
		Output ortTensor `json:"y"`
	} `json:"cases"`
}

type ortTensor struct {
	Dims []int     `json:"dims"`
	Data []float64 `json:"data"`
}

// TestONNXRuntimeGolden runs each committed quantized model through
// Zerfoo's MatMulNBits layers, built from the model's own initializers and
// attributes, and compares y with ONNX Runtime's output.
func TestONNXRuntimeGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(goldenDir, "ort.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g ortGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != len(goldenCases) {
		t.Fatalf("ort.json has %d cases, want %d", len(g.Cases), len(goldenCases))
	}
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	for _, c := range g.Cases {
		m, err := onnx.Load(filepath.Join(goldenDir, c.Model))
		if err != nil {
			t.Fatal(err)
		}
		layer := func(node string) *core.MatMulNBits[float32] {
			for _, n := range m.Graph().GetNode() {
				if n.GetName() != node {
					continue
				}
				if n.GetOpType() != "MatMulNBits" || n.GetDomain() != onnx.MicrosoftDomain {
					t.Fatalf("%s: node %s is %s.%s", c.Model, node, n.GetDomain(), n.GetOpType())
				}
				attr := func(name string) int {
					v, err := onnx.AttrOr[int64](n, name, 0)
					if err != nil {
						t.Fatal(err)
					}
					return int(v)
				}
				a := core.MatMulNBitsAttrs{K: attr("K"), N: attr("N"), Bits: attr("bits"), BlockSize: attr("block_size"), AccuracyLevel: attr("accuracy_level")}
				in := n.GetInput()
				bt := m.Initializer(in[1])
				bData, err := onnx.TensorData[uint8](m, bt)
				if err != nil {
					t.Fatal(err)
				}
				sData, err := onnx.TensorData[float32](m, m.Initializer(in[2]))
				if err != nil {
					t.Fatal(err)
				}
				dims := make([]int, len(bt.GetDims()))
				for i, d := range bt.GetDims() {
					dims[i] = int(d)
				}
				var zp tensor.Any
				if len(in) > 3 {
					zData, err := onnx.TensorData[uint8](m, m.Initializer(in[3]))
					if err != nil {
						t.Fatal(err)
					}
					zp = tensor.Must(tensor.New([]int{len(zData)}, zData))
				}
				l, err := core.NewMatMulNBitsONNX(node, eng, numeric.Float32Ops{}, a,
					tensor.Must(tensor.New(dims, bData)), tensor.Must(tensor.New([]int{len(sData)}, sData)), zp, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			t.Fatalf("%s: no node %s", c.Model, node)
			return nil
		}
		bias := func(name string) *tensor.Tensor[float32] {
			v, err := onnx.TensorData[float32](m, m.Initializer(name))
			if err != nil {
				t.Fatal(err)
			}
			return tensor.Must(tensor.New([]int{len(v)}, v))
		}
		xd := make([]float32, len(c.Input.Data))
		for i, v := range c.Input.Data {
			xd[i] = float32(v)
		}
		x := tensor.Must(tensor.New(c.Input.Dims, xd))
		h, err := layer(nodeName(c.Model, "fc1")).Forward(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		if h, err = eng.Add(ctx, h, bias("b1")); err != nil {
			t.Fatal(err)
		}
		for i, v := range h.Data() {
			h.Data()[i] = max(v, 0)
		}
		y, err := layer(nodeName(c.Model, "fc2")).Forward(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if y, err = eng.Add(ctx, y, bias("b2")); err != nil {
			t.Fatal(err)
		}
		if len(y.Data()) != len(c.Output.Data) {
			t.Fatalf("%s: got %d outputs, ORT %d", c.Model, len(y.Data()), len(c.Output.Data))
		}
		var worst float64
		for i, want := range c.Output.Data {
			got := float64(y.Data()[i])
			rel := math.Abs(got-want) / math.Max(math.Abs(want), 1e-3)
			worst = max(worst, rel)
			if rel > 1e-5 {
				t.Errorf("%s: y[%d]: got %v, ONNX Runtime %v (relative %.2g)", c.Model, i, got, want, rel)
			}
		}
		t.Logf("%s: %d outputs, max relative difference from ONNX Runtime %s: %.3g", c.Model, len(c.Output.Data), g.ORTVersion, worst)
		m.Close()
	}
}

func nodeName(model, node string) string {
	if filepath.Base(model) == "mlp_mnb8.onnx" {
		return node + "_Q8"
	}
	return node + "_Q4"
}

func TestONNXErrors(t *testing.T) {
	ctx := context.Background()
	float := mlpModel(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "mlp.onnx")
	if err := os.WriteFile(in, float, 0o644); err != nil {
		t.Fatal(err)
	}
	exists := filepath.Join(dir, "exists.onnx")
	if err := os.WriteFile(exists, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		in, out string
		opts    Options
	}{
		{"GGUF type for ONNX", in, filepath.Join(dir, "a.onnx"), Options{Type: Q4_0}},
		{"unknown type", in, filepath.Join(dir, "a.onnx"), Options{Type: "q3"}},
		{"block size 24", in, filepath.Join(dir, "a.onnx"), Options{Type: MNB4, BlockSize: 24}},
		{"output exists", in, exists, Options{Type: MNB4}},
		{"output is input", in, in, Options{Type: MNB4}},
		{"accuracy level 5", in, filepath.Join(dir, "a.onnx"), Options{Type: MNB4, AccuracyLevel: 5}},
		{"unknown extension", filepath.Join(dir, "m.bin"), filepath.Join(dir, "a.bin"), Options{Type: MNB4}},
	}
	for _, c := range cases {
		if _, err := File(ctx, c.in, c.out, false, c.opts); !errors.Is(err, ErrInput) {
			t.Errorf("%s: got %v, want an error wrapping ErrInput", c.name, err)
		}
	}
	// With force an existing output is overwritten, and the result loads.
	r, err := File(ctx, in, exists, true, Options{Type: MNB4})
	if err != nil {
		t.Fatal(err)
	}
	if r.FileAfter >= r.FileBefore {
		t.Errorf("file size: before %d, after %d: want smaller", r.FileBefore, r.FileAfter)
	}
	if _, err := onnx.Load(exists); err != nil {
		t.Errorf("quantized file does not load: %v", err)
	}
}
