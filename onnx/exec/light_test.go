package exec

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// The ONNX repository's "light" model-zoo models (onnx/backend/test/data/light,
// copied unchanged into testdata/light: see its README): the classic CNNs
// with every float initializer replaced by a ConstantOfShape node, and the
// output the ONNX reference evaluator computes for the input the ONNX
// backend test runner feeds them (arange(n)/n in float32, unknown dims 1).
// The tolerances are the runner's (onnx/backend/test/case/model).
// Heavy ones (several GFLOP, or FC layers of hundreds of MB) are left out
// of -short runs; -race runs only the two smallest.
var lightModels = []struct {
	name       string
	rtol, atol float64
	heavy      bool
}{
	{"bvlc_alexnet", 1e-3, 1e-7, true},
	{"densenet121", 2e-3, 1e-7, true},
	{"inception_v1", 1e-3, 1e-7, false},
	{"inception_v2", 1e-3, 1e-7, false},
	{"resnet50", 1e-3, 1e-7, true},
	{"shufflenet", 1e-3, 1e-7, false},
	{"squeezenet", 1e-3, 1e-7, false},
	{"vgg19", 1e-3, 1e-7, true},
	{"zfnet512", 1e-3, 1e-7, true},
}

func TestLightModels(t *testing.T) {
	for _, lm := range lightModels {
		t.Run(lm.name, func(t *testing.T) {
			if lm.heavy && testing.Short() || raceEnabled && lm.name != "squeezenet" && lm.name != "shufflenet" {
				t.Skip("heavy model: not in -short runs, and -race runs only squeezenet and shufflenet")
			}
			path := filepath.Join("testdata", "light", "light_"+lm.name+".onnx")
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			p, err := Compile(m)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			feeds := map[string]tensor.Any{}
			for _, in := range p.Inputs() {
				if in.Kind != TensorValue || in.Type != onnx.Float32 {
					t.Fatalf("input %q: %v %s, want a float tensor", in.Name, in.Kind, in.Type)
				}
				feeds[in.Name] = lightInput(t, in.Shape)
			}
			got, err := p.Run(context.Background(), feeds)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			outs := p.Outputs()
			if len(outs) != 1 {
				t.Fatalf("%d outputs, want 1", len(outs))
			}
			b, err := os.ReadFile(filepath.Join("testdata", "light", "light_"+lm.name+"_output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want := new(onnxpb.TensorProto)
			if err := proto.Unmarshal(b, want); err != nil {
				t.Fatal(err)
			}
			if msg, _ := compareTensor(got[outs[0].Name], want, lm.rtol, lm.atol); msg != "" {
				t.Errorf("%s: output %q: %s", lm.name, outs[0].Name, msg)
			}
		})
	}
}

// lightInput is the ONNX backend runner's dummy input for a light model:
// arange(n)/n in float32, with unknown dims taken as 1.
func lightInput(t testing.TB, dims []onnx.Dim) tensor.Any {
	shape := make([]int, len(dims))
	n := 1
	for i, d := range dims {
		shape[i] = 1
		if d.Param == "" && d.Value > 0 {
			shape[i] = int(d.Value)
		}
		n *= shape[i]
	}
	data := make([]float32, n)
	for i := range data {
		// numpy computes arange(n)/n in float64, then casts.
		data[i] = float32(float64(i) / float64(n))
	}
	x, err := tensor.New(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
