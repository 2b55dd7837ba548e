package exec

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// BenchmarkLight runs the light model-zoo CNNs of TestLightModels, batch 1
// (threads: -cpu), reporting the process's CPU time per run beside the
// wall time. For profiles of whole networks:
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
				feeds[in.Name] = lightInput(b, in.Shape)
			}
			ctx := context.Background()
			if _, err := p.Run(ctx, feeds); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := p.Run(ctx, feeds); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per run: at -cpu 1, the work done, whatever the load.
			b.ReportMetric(float64(cpuTime()-cpu)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkLightFusion alternates runs of one light CNN compiled with and
// without fusion (constants folded in both), reporting each one's CPU time
// per run: a comparison that a busy machine disturbs less than two
// benchmarks one after the other.
func BenchmarkLightFusion(b *testing.B) {
	for _, name := range []string{"resnet50", "densenet121", "shufflenet"} {
		b.Run(name, func(b *testing.B) {
			m, err := onnx.Load(filepath.Join("testdata", "light", "light_"+name+".onnx"))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			fused, err := Compile(m)
			if err != nil {
				b.Fatal(err)
			}
			plain, err := Compile(m, func(c *compileConfig) { c.noFuse = true })
			if err != nil {
				b.Fatal(err)
			}
			feeds := map[string]tensor.Any{}
			for _, in := range fused.Inputs() {
				feeds[in.Name] = lightInput(b, in.Shape)
			}
			ctx := context.Background()
			var cpu [2]time.Duration
			for b.Loop() {
				for i, p := range []*Program{fused, plain} {
					t := cpuTime()
					if _, err := p.Run(ctx, feeds); err != nil {
						b.Fatal(err)
					}
					cpu[i] += cpuTime() - t
				}
			}
			b.ReportMetric(float64(cpu[0])/1e6/float64(b.N), "fused-cpu-ms/op")
			b.ReportMetric(float64(cpu[1])/1e6/float64(b.N), "plain-cpu-ms/op")
		})
	}
}
