package exec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
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
		switch {
		case dt == numeric.String:
			d := make([]string, n)
			for i := range d {
				d[i] = []string{"a", "Bc", "1.5"}[i%3]
			}
			v, err = tensor.NewStrings(shape, d)
		case isFloat(dt):
			f := make([]float32, n)
			for i := range f {
				f[i] = float32(i%5-2) * 0.5
			}
			v, err = fromFloats(dt, shape, f)
		default:
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
		switch in.Kind {
		case SequenceValue:
			v = &Sequence{Elem: dt, Values: []tensor.Any{v, v}}
		case OptionalValue:
			if in.Elem == SequenceValue {
				v = &Sequence{Elem: dt, Values: []tensor.Any{v}}
			}
			v = &Optional{Value: v}
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
	// The committed ONNX node tests: every op that passes its node tests,
	// control flow, sequences and strings included.
	models, _ := filepath.Glob(filepath.Join("testdata", "node", "*", "model.onnx"))
	for _, path := range models {
		if b, err := os.ReadFile(path); err == nil {
			seeds = append(seeds, b)
		}
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

// opModel builds a random one-node model for a registered op: up to eight
// inputs (mostly of one element type, some absent, some initializers) of
// rank 0-4 with small dims, the attributes the kernels read with small or
// extreme values, one to four outputs. It returns the model, the feeds and
// a description for failures.
func opModel(r *rand.Rand) (*onnxpb.ModelProto, map[string]tensor.Any, string) {
	ops := make([][2]string, 0, len(registry))
	for k := range registry {
		ops = append(ops, k)
	}
	slices.SortFunc(ops, func(a, b [2]string) int { return strings.Compare(a[0]+"."+a[1], b[0]+"."+b[1]) })
	op := ops[r.IntN(len(ops))]
	dts := []onnx.DataType{onnx.Float32, onnx.Float16, onnx.BFloat16, onnx.Float64, onnx.Int64, onnx.Int32, onnx.Int16, onnx.Int8, onnx.Uint8, onnx.Bool,
		onnx.Uint16, onnx.Uint32, onnx.Uint64}
	extreme := []int64{1 << 20, -1 << 20, 1 << 31, -1 << 31, 1<<31 - 1, 1<<63 - 1, -1 << 63}
	someInt := func() int64 {
		if r.IntN(5) == 0 {
			return extreme[r.IntN(len(extreme))]
		}
		return int64(r.IntN(9) - 4)
	}
	opset := int64(1 + r.IntN(MaxOpset))
	b := onnx.NewBuilder("op", onnx.Opset{Domain: "", Version: opset}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
	desc := fmt.Sprintf("%s at opset %d:", domainName(op[0])+"."+op[1], opset)
	feeds := map[string]tensor.Any{}
	main := dts[r.IntN(len(dts))]
	var ins []string
	for i := range r.IntN(9) {
		if r.IntN(8) == 0 {
			ins = append(ins, "")
			continue
		}
		dt := main
		if r.IntN(4) == 0 {
			dt = dts[r.IntN(len(dts))]
		}
		shape := make([]int, r.IntN(5))
		for d := range shape {
			shape[d] = r.IntN(4)
			if r.IntN(6) == 0 {
				shape[d] = r.IntN(40)
			}
		}
		ndt, _ := dtypeOf(dt)
		var v tensor.Any
		if isFloat(ndt) {
			f := make([]float32, prod(shape))
			for j := range f {
				f[j] = float32(r.NormFloat64())
			}
			v, _ = fromFloats(ndt, shape, f)
		} else {
			d := make([]int64, prod(shape))
			for j := range d {
				if d[j] = someInt(); dt == onnx.Bool {
					d[j] = int64(r.IntN(2))
				}
			}
			v, _ = intsAs(ndt, shape, d)
		}
		name := fmt.Sprint("in", i)
		desc += fmt.Sprintf(" %s %s%v", name, dt, shape)
		ins = append(ins, name)
		switch dt {
		case onnx.Int16, onnx.Float64, onnx.BFloat16, onnx.Uint16, onnx.Uint32, onnx.Uint64: // tensorProto does not write them
		default:
			if r.IntN(3) == 0 {
				b.AddInitializer(tensorProto(name, v, dt))
				desc += " (initializer)"
				continue
			}
		}
		dims := make([]any, len(shape))
		for d, n := range shape {
			dims[d] = n
		}
		b.Input(name, dt, dims...)
		feeds[name] = v
	}
	var attrs []onnx.Attr
	for _, a := range []string{"allowzero", "axis", "bits", "block_size", "end", "gather_axis", "interleaved", "keepdims",
		"kv_num_heads", "local_window_size", "noop_with_empty_axes", "num_heads", "output_dtype", "quantize_axis",
		"rotary_embedding_dim", "start", "to", "transA", "transB", "upper", "K", "N", "accuracy_level", "do_rotary",
		"seed", "is_test", "num_scan_inputs", "new_axis", "dtype", "min_gram_length", "max_gram_length", "max_skip_count",
		"is_case_sensitive"} {
		if r.IntN(6) == 0 {
			attrs = append(attrs, onnx.Attr{Name: a, Value: someInt()})
		}
	}
	for _, a := range []string{"axes", "ends", "perm", "starts", "split", "scan_input_axes", "scan_input_directions",
		"scan_output_axes", "scan_output_directions", "directions", "ngram_counts", "ngram_indexes", "pool_int64s"} {
		if r.IntN(6) == 0 {
			v := make([]int64, r.IntN(5))
			for j := range v {
				v[j] = someInt()
			}
			attrs = append(attrs, onnx.Attr{Name: a, Value: v})
		}
	}
	for _, a := range []string{"alpha", "beta", "epsilon", "scale", "softcap"} {
		if r.IntN(8) == 0 {
			attrs = append(attrs, onnx.Attr{Name: a, Value: float32(r.NormFloat64() * 3)})
		}
	}
	for _, a := range []string{"body", "then_branch", "else_branch"} { // If, Loop, Scan, SequenceMap
		if r.IntN(3) == 0 {
			attrs = append(attrs, onnx.Attr{Name: a, Value: fuzzBody(r)})
		}
	}
	for _, a := range []string{"mode", "case_change_action"} {
		if r.IntN(4) == 0 {
			attrs = append(attrs, onnx.Attr{Name: a, Value: []string{"TF", "IDF", "TFIDF", "LOWER", "UPPER", "NONE", ""}[r.IntN(7)]})
		}
	}
	desc += fmt.Sprintf(" attributes %v", attrs)
	outs := make([]string, 1+r.IntN(4))
	for i := range outs {
		outs[i] = fmt.Sprint("out", i)
		b.Output(outs[i], onnx.Float32)
	}
	b.AddNode(onnx.Node{Name: "n", Op: op[1], Domain: op[0], Inputs: ins, Outputs: outs, Attrs: attrs})
	p, err := b.Model()
	if err != nil {
		return nil, nil, desc
	}
	return p, feeds, desc
}

// fuzzBody is a small subgraph for a graph attribute: k inputs (untyped
// or float32), each passed through Identity or Add to an output, and
// sometimes one more output that uses a main-graph value.
func fuzzBody(r *rand.Rand) *onnxpb.GraphProto {
	g := &onnxpb.GraphProto{Name: proto.String("body")}
	k := r.IntN(4)
	for i := range k {
		in, out := fmt.Sprint("b_in", i), fmt.Sprint("b_out", i)
		if r.IntN(2) == 0 {
			g.Input = append(g.Input, &onnxpb.ValueInfoProto{Name: proto.String(in)})
		} else {
			vi, _ := onnx.ValueInfoProto(in, onnx.Float32)
			g.Input = append(g.Input, vi)
		}
		n, _ := onnx.NodeProto(onnx.Node{Op: []string{"Identity", "Add"}[r.IntN(2)], Inputs: []string{in, in}[:1+r.IntN(2)], Outputs: []string{out}})
		g.Node = append(g.Node, n)
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String(out)})
	}
	if r.IntN(2) == 0 {
		n, _ := onnx.NodeProto(onnx.Node{Op: "Identity", Inputs: []string{"in0"}, Outputs: []string{"b_outer"}})
		g.Node = append(g.Node, n)
		g.Output = append(g.Output, &onnxpb.ValueInfoProto{Name: proto.String("b_outer")})
	}
	return g
}

// FuzzOpModels compiles and runs random one-node models (see opModel),
// seeded by the fuzz input, in the fuzz budget: every registered op meets
// odd ranks, empty dims, mixed element types, absent inputs and extreme
// attributes. Only success or an error are acceptable.
func FuzzOpModels(f *testing.F) {
	for i := range uint64(64) {
		f.Add(i, uint64(0))
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64) {
		p, feeds, desc := opModel(rand.New(rand.NewPCG(s1, s2)))
		if p == nil {
			return
		}
		defer func() {
			if e := recover(); e != nil {
				panic(fmt.Sprintf("%v\n%s", e, desc))
			}
		}()
		prog, err := Compile(onnx.New(p, onnx.ReadOptions{Budget: fuzzBudget}), WithBudget(fuzzBudget))
		if err != nil {
			return
		}
		_, _ = prog.Run(context.Background(), feeds)
	})
}
