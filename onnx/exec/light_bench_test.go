package exec

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// BenchmarkLight runs the light model-zoo CNNs of TestLightModels, batch 1
// (threads: -cpu). For profiles of whole networks:
//
//	go test ./onnx/exec -run - -bench 'BenchmarkLight/resnet50' -cpu 1 -cpuprofile cpu.out
func BenchmarkLight(b *testing.B) {
	for _, name := range []string{"squeezenet", "shufflenet", "inception_v1", "resnet50", "densenet121"} {
		b.Run(name, func(b *testing.B) {
			m, err := onnx.Load(filepath.Join("testdata", "light", "light_"+name+".onnx"))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			p, err := Compile(m)
			if err != nil {
				b.Fatal(err)
			}
			feeds := map[string]tensor.Any{}
			for _, in := range p.Inputs() {
				feeds[in.Name] = lightBenchInput(b, in.Shape)
			}
			ctx := context.Background()
			for b.Loop() {
				if _, err := p.Run(ctx, feeds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func lightBenchInput(b *testing.B, dims []onnx.Dim) tensor.Any {
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
		data[i] = float32(i%97) / 97
	}
	x, err := tensor.New(shape, data)
	if err != nil {
		b.Fatal(err)
	}
	return x
}
