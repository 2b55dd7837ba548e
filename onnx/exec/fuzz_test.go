package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// fuzzBudget bounds what one fuzzed model may allocate.
const fuzzBudget = 64 << 20

// fuzzFeeds makes small inputs for p from the declared types and shapes:
// fixed dims as declared, symbolic and unknown dims 2, an unknown rank 1-D
// of 2. Values are small (-2…2 for floats, 0…2 for integers, 0/1 for BOOL)
// so that they often work as shapes, axes and indices. It returns false
// when an input is of a type it cannot make or declares more than 64 Ki
// elements.
func fuzzFeeds(p *Program) (map[string]tensor.Any, bool) {
	feeds := map[string]tensor.Any{}
	for _, in := range p.Inputs() {
		shape := []int{2}
		if in.Shape != nil {
			shape = make([]int, len(in.Shape))
			for i, d := range in.Shape {
				switch {
				case d.Param != "" || d.Value < 0:
					shape[i] = 2
				case d.Value > 1<<16:
					return nil, false
				default:
					shape[i] = int(d.Value)
				}
			}
		}
		n, err := tensor.SizeOf(shape)
		if err != nil || n > 1<<16 {
			return nil, false
		}
		dt, err := dtypeOf(in.Type)
		if err != nil {
			return nil, false
		}
		var v tensor.Any
		if isFloat(dt) {
			f := make([]float32, n)
			for i := range f {
				f[i] = float32(i%5-2) * 0.5
			}
			v, err = fromFloats(dt, shape, f)
		} else {
			d := make([]int64, n)
			for i := range d {
				d[i] = int64(i % 3)
				if in.Type == onnx.Bool {
					d[i] = int64(i % 2)
				}
			}
			v, err = intsAs(dt, shape, d)
		}
		if err != nil {
			return nil, false
		}
		feeds[in.Name] = v
	}
	return feeds, true
}

// fuzzRunSeeds returns the op cases of testdata/onnx/ops, the test models
// and the hostile models of TestHostileModels.
func fuzzRunSeeds(f testing.TB) [][]byte {
	var seeds [][]byte
	if raw, err := os.ReadFile(casesFile); err == nil {
		var cases []jsonCase
		if json.Unmarshal(raw, &cases) == nil {
			for _, c := range cases {
				if m, err := base64.StdEncoding.DecodeString(c.Model); err == nil {
					seeds = append(seeds, m)
				}
			}
		}
	}
	for _, name := range []string{"tiny.onnx", "mlp_nbits.onnx", "gemma3_tiny.onnx"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "onnx", name)); err == nil {
			seeds = append(seeds, b)
		}
	}
	for _, h := range hostileModels() {
		seeds = append(seeds, h.marshal(f))
	}
	return seeds
}

// FuzzCompileRun feeds arbitrary bytes through Parse, Compile and Run, in
// a budget of 64 MiB, on small inputs made from the declared inputs. Only
// success or an error are acceptable: no panic, no fatal error, no hang.
func FuzzCompileRun(f *testing.F) {
	for _, s := range fuzzRunSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Parse(data, onnx.ReadOptions{NoValidate: len(data)%2 == 0, Budget: fuzzBudget})
		if err != nil {
			return
		}
		defer m.Close()
		p, err := Compile(m, WithBudget(fuzzBudget))
		if err != nil {
			return
		}
		feeds, ok := fuzzFeeds(p)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = p.Run(ctx, feeds)
	})
}

// TestFuzzFeeds checks that most seeds run to the end on their fuzz
// feeds: the fuzz target would otherwise stop at the input checks.
func TestFuzzFeeds(t *testing.T) {
	seeds := fuzzRunSeeds(t)
	ran := 0
	for _, s := range seeds {
		m, err := onnx.Parse(s, onnx.ReadOptions{Budget: fuzzBudget})
		if err != nil {
			continue
		}
		p, err := Compile(m, WithBudget(fuzzBudget))
		if err != nil {
			continue
		}
		if feeds, ok := fuzzFeeds(p); ok {
			if _, err := p.Run(context.Background(), feeds); err == nil {
				ran++
			}
		}
	}
	if ran < len(seeds)/2 {
		t.Errorf("%d of %d seeds run on their fuzz feeds, want at least half", ran, len(seeds))
	}
	t.Logf("%d of %d seeds run on their fuzz feeds", ran, len(seeds))
}
