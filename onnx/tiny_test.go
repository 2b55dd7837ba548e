package onnx

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

var update = flag.Bool("update", false, "rewrite testdata/onnx/tiny.onnx from buildTiny")

const tinyPath = "../testdata/onnx/tiny.onnx"

// The tiny model's parameters, shared by buildTiny and the float64
// reference in TestTinyModelORT.
var (
	tinyShift  = []float32{0.25, 0, -0.25, 0.5}
	tinyWq     = []int8{1, -2, 3, -8, 7, 0, 2, 2, -1, -3, 4, 5} // INT4 [4,3]
	tinyScale  = []float32{0.5, 0.25, 0.125}
	tinyZP     = []int8{0, 1, -1} // INT4 [3]
	tinyGamma  = []float32{1, 0.5, 2}
	tinyBeta   = []float32{0.1, -0.1, 0}
	tinyCodes  = [][]uint8{{9, 3, 15}, {0, 8, 12}} // MatMulNBits codes [N=2][K=3]
	tinyScales = []float32{0.5, -0.25}
)

// buildTiny builds testdata/onnx/tiny.onnx: a small graph that uses every
// attribute type except GRAPH (Constant with TENSOR, FLOATS and STRINGS;
// LayerNormalization INT and FLOAT; Gelu STRING; Transpose INTS), INT4
// initializers (DequantizeLinear, opset 21), com.microsoft.MatMulNBits, an
// initializer in int64_data, a symbolic batch dimension and float32,
// float16 and string outputs.
func buildTiny(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder("tiny", Opset{"", 21}, Opset{MicrosoftDomain, 1})
	b.Input("x", Float32, "batch", 4)
	shift, err := NewTensor("shift", Float32, []int64{4}, tinyShift)
	if err != nil {
		t.Fatal(err)
	}
	Initializer(b, "wq", Int4, []int64{4, 3}, tinyWq)
	Initializer(b, "wscale", Float32, []int64{3}, tinyScale)
	Initializer(b, "wzp", Int4, []int64{3}, tinyZP)
	Initializer(b, "gamma", Float32, []int64{3}, tinyGamma)
	blob := make([]uint8, 2*8) // B [N=2, blocks=1, blob=8]: K=3 padded to block_size 16 with code 8
	for n, codes := range tinyCodes {
		for k := 0; k < 16; k++ {
			c := uint8(8)
			if k < len(codes) {
				c = codes[k]
			}
			blob[n*8+k/2] |= c << (4 * uint(k%2))
		}
	}
	Initializer(b, "B", Uint8, []int64{2, 1, 8}, blob)
	Initializer(b, "B_scales", Float32, []int64{2}, tinyScales)
	b.AddInitializer(typed("shape", Int64, []int64{2}, func(p *onnxpb.TensorProto) { p.Int64Data = []int64{-1, 2} }))

	b.AddNode(Node{Name: "shift_const", Op: "Constant", Outputs: []string{"shift"}, Attrs: []Attr{{"value", shift}}})
	b.AddNode(Node{Name: "beta_const", Op: "Constant", Outputs: []string{"beta"}, Attrs: []Attr{{"value_floats", tinyBeta}}})
	b.AddNode(Node{Name: "sub", Op: "Sub", Inputs: []string{"x", "shift"}, Outputs: []string{"x0"}})
	b.AddNode(Node{Name: "dq", Op: "DequantizeLinear", Inputs: []string{"wq", "wscale", "wzp"}, Outputs: []string{"w"}, Attrs: []Attr{{"axis", 1}}})
	b.AddNode(Node{Name: "mm", Op: "MatMul", Inputs: []string{"x0", "w"}, Outputs: []string{"h"}})
	b.AddNode(Node{Name: "ln", Op: "LayerNormalization", Inputs: []string{"h", "gamma", "beta"}, Outputs: []string{"ln"},
		Attrs: []Attr{{"axis", -1}, {"epsilon", float32(1e-5)}}})
	b.AddNode(Node{Name: "gelu", Op: "Gelu", Inputs: []string{"ln"}, Outputs: []string{"g"}, Attrs: []Attr{{"approximate", "tanh"}}})
	b.AddNode(Node{Name: "mmnb", Op: "MatMulNBits", Domain: MicrosoftDomain, Inputs: []string{"g", "B", "B_scales"}, Outputs: []string{"q"},
		Attrs: []Attr{{"K", 3}, {"N", 2}, {"bits", 4}, {"block_size", 16}}})
	b.AddNode(Node{Name: "reshape", Op: "Reshape", Inputs: []string{"q", "shape"}, Outputs: []string{"r"}})
	b.AddNode(Node{Name: "transpose", Op: "Transpose", Inputs: []string{"r"}, Outputs: []string{"tr"}, Attrs: []Attr{{"perm", []int{0, 1}}}})
	b.AddNode(Node{Name: "softmax", Op: "Softmax", Inputs: []string{"tr"}, Outputs: []string{"y"}, Attrs: []Attr{{"axis", -1}}})
	b.AddNode(Node{Name: "cast", Op: "Cast", Inputs: []string{"y"}, Outputs: []string{"y16"}, Attrs: []Attr{{"to", int(Float16)}}})
	b.AddNode(Node{Name: "labels_const", Op: "Constant", Outputs: []string{"labels"}, Attrs: []Attr{{"value_strings", []string{"lo", "hi"}}}})
	b.Output("y", Float32, "batch", 2)
	b.Output("y16", Float16, "batch", 2)
	b.Output("labels", String, 2)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyRef computes the tiny model in float64 for one row of x.
func tinyRef(x []float64) []float64 {
	w := func(k, n int) float64 {
		return float64(tinyWq[k*3+n]-tinyZP[n]) * float64(tinyScale[n])
	}
	h := make([]float64, 3)
	for n := range h {
		for k := 0; k < 4; k++ {
			h[n] += (x[k] - float64(tinyShift[k])) * w(k, n)
		}
	}
	mean := (h[0] + h[1] + h[2]) / 3
	var vr float64
	for _, v := range h {
		vr += (v - mean) * (v - mean)
	}
	vr /= 3
	g := make([]float64, 3)
	for i, v := range h {
		ln := (v-mean)/math.Sqrt(vr+float64(float32(1e-5)))*float64(tinyGamma[i]) + float64(tinyBeta[i])
		g[i] = 0.5 * ln * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(ln+0.044715*ln*ln*ln)))
	}
	q := make([]float64, 2)
	for n := range q {
		for k := 0; k < 3; k++ {
			q[n] += g[k] * (float64(tinyCodes[n][k]) - 8) * float64(tinyScales[n])
		}
	}
	mx := math.Max(q[0], q[1])
	e0, e1 := math.Exp(q[0]-mx), math.Exp(q[1]-mx)
	return []float64{e0 / (e0 + e1), e1 / (e0 + e1)}
}

// ortOutputs is the JSON that tools/ort/check_model.mjs prints.
type ortOutputs struct {
	ORTVersion string `json:"ort_version"`
	Inputs     map[string]ortValue
	Outputs    map[string]ortValue
}

type ortValue struct {
	Type string          `json:"type"`
	Dims []int64         `json:"dims"`
	Data json.RawMessage `json:"data"`
}

func TestTinyModelORT(t *testing.T) {
	want := buildTiny(t)
	if *update {
		if err := Save(tinyPath, want, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(tinyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(m.Proto, want) {
		t.Fatalf("%s differs from buildTiny; run go test ./onnx -run TestTinyModelORT -update and regenerate the ORT outputs", tinyPath)
	}
	if st, _ := os.Stat(tinyPath); st.Size() > 10<<10 {
		t.Errorf("%s is %d bytes, want < 10 KiB", tinyPath, st.Size())
	}
	wq, err := TensorData[int8](m, m.Initializer("wq"))
	if err != nil || len(wq) != 12 || wq[3] != -8 || wq[11] != 5 {
		t.Errorf("wq: got %v, %v, want %v", wq, err, tinyWq)
	}

	// ORT's outputs for the model, recorded by tools/ort/check_model.mjs.
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(tinyPath), "tiny_ort.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got ortOutputs
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var x, y []float64
	var y16 []uint16
	var labels []string
	for _, f := range []struct {
		v   ortValue
		dst any
	}{{got.Inputs["x"], &x}, {got.Outputs["y"], &y}, {got.Outputs["y16"], &y16}, {got.Outputs["labels"], &labels}} {
		if err := json.Unmarshal(f.v.Data, f.dst); err != nil {
			t.Fatalf("tiny_ort.json: %v", err)
		}
	}
	rows := len(x) / 4
	if rows < 2 || len(y) != 2*rows || len(y16) != 2*rows {
		t.Fatalf("tiny_ort.json: %d inputs, %d y, %d y16; want 4, 2 and 2 per row", len(x), len(y), len(y16))
	}
	for r := 0; r < rows; r++ {
		ref := tinyRef(x[4*r : 4*r+4])
		for j, want := range ref {
			i := 2*r + j
			if math.Abs(y[i]-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("y[%d]: ORT %v, float64 reference %v", i, y[i], want)
			}
			h := numeric.Float16FromBits(y16[i]).Float64()
			if math.Abs(h-want) > 1e-3 {
				t.Errorf("y16[%d]: ORT %v, float64 reference %v", i, h, want)
			}
		}
	}
	if len(labels) != 2 || labels[0] != "lo" || labels[1] != "hi" {
		t.Errorf("labels: ORT %q, want [lo hi]", labels)
	}
}
