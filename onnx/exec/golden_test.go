package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

var update = flag.Bool("update", false, "rewrite testdata/onnx/ops/cases.json (then run tools/ort/run_cases.mjs)")

const (
	casesFile = "../../testdata/onnx/ops/cases.json"
	ortFile   = "../../testdata/onnx/ops/ort.json"
)

// jsonValue is a tensor in the JSON form check_model.mjs uses: float16 as
// uint16 bit patterns, bool as 0/1.
type jsonValue struct {
	Type string    `json:"type"`
	Dims []int     `json:"dims"`
	Data []float64 `json:"data"`
}

type jsonCase struct {
	Name   string               `json:"name"`
	Model  string               `json:"model"` // base64 ModelProto
	Inputs map[string]jsonValue `json:"inputs"`
	// Tolerance: |got − want| ≤ Atol + Rtol·|want| per element.
	Rtol float64 `json:"rtol"`
	Atol float64 `json:"atol"`
}

type ortResult struct {
	Name    string               `json:"name"`
	Outputs map[string]jsonValue `json:"outputs"`
	Error   string               `json:"error,omitempty"`
}

type ortFileT struct {
	ORTVersion string      `json:"ort_version"`
	Results    []ortResult `json:"results"`
}

// readORT reads a file of ONNX Runtime results written by
// tools/ort (ort_*.json).
func readORT(t *testing.T, path string) ortFileT {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ort ortFileT
	if err := json.Unmarshal(raw, &ort); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ort
}

// saveCases writes cases (compact) as the JSON file tools/ort runs
// through ONNX Runtime.
func saveCases(t *testing.T, path string, cs []jsonCase) {
	t.Helper()
	data, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func toJSON(t tensor.Any, isBool bool) jsonValue {
	v := jsonValue{Dims: t.Shape()}
	switch x := t.(type) {
	case *tensor.Tensor[float32]:
		v.Type = "float32"
		v.Data = convSlice[float32, float64](x.Data())
	case *tensor.Tensor[numeric.Float16]:
		v.Type = "float16"
		for _, h := range x.Data() {
			v.Data = append(v.Data, float64(h.Bits()))
		}
	case *tensor.Tensor[int64]:
		v.Type = "int64"
		v.Data = convSlice[int64, float64](x.Data())
	case *tensor.Tensor[int32]:
		v.Type = "int32"
		v.Data = convSlice[int32, float64](x.Data())
	case *tensor.Tensor[int8]:
		v.Type = "int8"
		v.Data = convSlice[int8, float64](x.Data())
	case *tensor.Tensor[uint8]:
		v.Type = "uint8"
		if isBool {
			v.Type = "bool"
		}
		v.Data = convSlice[uint8, float64](x.Data())
	default:
		panic(fmt.Sprintf("toJSON: %T", t))
	}
	if v.Data == nil {
		v.Data = []float64{}
	}
	return v
}

func fromJSON(v jsonValue) (tensor.Any, error) {
	switch v.Type {
	case "float32":
		return tensor.New(v.Dims, convSlice[float64, float32](v.Data))
	case "float16":
		d := make([]numeric.Float16, len(v.Data))
		for i, b := range v.Data {
			d[i] = numeric.Float16FromBits(uint16(b))
		}
		return tensor.New(v.Dims, d)
	case "int64":
		return tensor.New(v.Dims, convSlice[float64, int64](v.Data))
	case "int32":
		return tensor.New(v.Dims, convSlice[float64, int32](v.Data))
	case "int8":
		return tensor.New(v.Dims, convSlice[float64, int8](v.Data))
	case "uint8", "bool":
		return tensor.New(v.Dims, convSlice[float64, uint8](v.Data))
	}
	return nil, fmt.Errorf("type %q", v.Type)
}

// opCase is one golden case: a model built with onnx.Builder and its inputs.
type opCase struct {
	name       string
	model      func() (*onnx.Builder, map[string]tensor.Any)
	rtol, atol float64
}

func writeCases(t *testing.T, cases []opCase) {
	var out []jsonCase
	for _, c := range cases {
		b, inputs := c.model()
		p, err := b.Model()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, o := range p.GetGraph().GetOutput() {
			o.GetType().GetTensorType().Shape = nil // rank unknown: ORT infers it
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
	if err := os.MkdirAll(filepath.Dir(casesFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(casesFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d cases to %s; now run: cd tools/ort && node run_cases.mjs", len(out), casesFile)
}

// TestORTGoldens runs every case of testdata/onnx/ops/cases.json and
// compares the outputs with ONNX Runtime 1.30.0's (ort.json).
func TestORTGoldens(t *testing.T) {
	all := allCases()
	if *update {
		writeCases(t, all)
		for name, b := range map[string]*onnx.Builder{"mlp_nbits.onnx": buildMLP(), "gemma3_tiny.onnx": buildGemma()} {
			p, err := b.Model()
			if err != nil {
				t.Fatal(err)
			}
			if err := onnx.Save(filepath.Join(filepath.Dir(casesFile), "..", name), p, onnx.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	tol := map[string]opCase{}
	for _, c := range all {
		tol[c.name] = c
	}
	raw, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatal(err)
	}
	var cases []jsonCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	ort := readORT(t, ortFile)
	results := map[string]ortResult{}
	for _, r := range ort.Results {
		results[r.Name] = r
	}
	if len(cases) != len(all) {
		t.Errorf("cases.json has %d cases, the Go table %d: run go test ./onnx/exec -run TestORTGoldens -update and regenerate ort.json", len(cases), len(all))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if _, ok := tol[c.Name]; !ok {
				t.Fatalf("case %s is not in the Go table (stale cases.json)", c.Name)
			}
			r, ok := results[c.Name]
			if !ok {
				t.Fatalf("no ORT result for %s (stale ort.json)", c.Name)
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
			// With exact scales every case matches ORT to its tolerance;
			// by default level-4 MatMulNBits scales are rounded to 24 bits
			// (≤ 2⁻¹⁶ relative), which moves outputs by ≈1e-5 of their
			// magnitude.
			for _, exact := range []bool{true, false} {
				var opts []CompileOption
				rtol, atol := c.Rtol, c.Atol
				if exact {
					opts = append(opts, ExactScales())
				} else {
					rtol, atol = max(rtol, 1e-3), max(atol, 1e-4)
				}
				p, err := Compile(m, opts...)
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
					compareValue(t, name, got[name], r.Outputs[name], rtol, atol)
				}
			}
		})
	}
}

func compareValue(t *testing.T, name string, got tensor.Any, want jsonValue, rtol, atol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no output", name)
		return
	}
	if !tensor.SameShape(got.Shape(), want.Dims) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape(), want.Dims)
		return
	}
	g := toJSON(got, want.Type == "bool")
	if g.Type != want.Type {
		t.Errorf("%s: type %s, want %s", name, g.Type, want.Type)
		return
	}
	bad := 0
	maxErr, maxRel := 0.0, 0.0
	defer func() {
		t.Logf("%s: max |got−want| %.3g, max |got−want|/|want| %.3g over %d elements", name, maxErr, maxRel, len(g.Data))
	}()
	for i := range g.Data {
		x, y := g.Data[i], want.Data[i]
		if want.Type == "float16" {
			x = float64(numeric.Float16FromBits(uint16(x)).Float32())
			y = float64(numeric.Float16FromBits(uint16(y)).Float32())
		}
		if math.IsNaN(x) && math.IsNaN(y) || x == y {
			continue
		}
		maxErr = max(maxErr, math.Abs(x-y))
		if y != 0 {
			maxRel = max(maxRel, math.Abs(x-y)/math.Abs(y))
		}
		if math.Abs(x-y) > atol+rtol*math.Abs(y) || math.IsNaN(x) != math.IsNaN(y) {
			if bad < 5 {
				t.Errorf("%s[%d]: got %v, want %v (ORT)", name, i, x, y)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ beyond rtol %g atol %g", name, bad, len(g.Data), rtol, atol)
	}
}

// rnd returns deterministic test data.
func rnd(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

func randF32(r *rand.Rand, shape ...int) *tensor.Tensor[float32] {
	d := make([]float32, prod(shape))
	for i := range d {
		d[i] = float32(r.NormFloat64())
	}
	return tensor.Must(tensor.New(shape, d))
}

func randF16(r *rand.Rand, shape ...int) *tensor.Tensor[numeric.Float16] {
	d := make([]numeric.Float16, prod(shape))
	for i := range d {
		d[i] = numeric.Float16FromFloat64(r.NormFloat64())
	}
	return tensor.Must(tensor.New(shape, d))
}

func i64s(shape []int, v ...int64) *tensor.Tensor[int64] {
	return tensor.Must(tensor.New(shape, v))
}
