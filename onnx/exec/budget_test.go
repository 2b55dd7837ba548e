package exec

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

const testBudget = 64 << 20

// hostile is a small model that asks for far more memory than it holds.
type hostile struct {
	name     string
	build    func(b *onnx.Builder)
	feeds    func() map[string]tensor.Any
	node, op string // what the error must name
	compile  bool   // the error comes from Compile, not Run
	outputs  bool   // build adds the graph outputs (otherwise "y")
	limit    budget.Limit
}

func f32Zeros(shape ...int) tensor.Any { return tensor.Must(tensor.New[float32](shape, nil)) }

func shapeInit(b *onnx.Builder, name string, dims ...int64) {
	onnx.Initializer(b, name, onnx.Int64, []int64{int64(len(dims))}, dims)
}

const maxI32 = 1<<31 - 1

func hostileModels() []hostile {
	return []hostile{
		{name: "ConstantOfShape 2^31-1 squared", node: "c1", op: "ConstantOfShape", build: func(b *onnx.Builder) {
			shapeInit(b, "shape", maxI32, maxI32)
			b.AddNode(onnx.Node{Name: "c1", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"y"}})
		}},
		{name: "ConstantOfShape 64 GiB", node: "c1", op: "ConstantOfShape", build: func(b *onnx.Builder) {
			shapeInit(b, "shape", maxI32, 8)
			b.AddNode(onnx.Node{Name: "c1", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"y"}})
		}},
		{name: "ConstantOfShape no elements", node: "c1", op: "ConstantOfShape", build: func(b *onnx.Builder) {
			shapeInit(b, "shape", maxI32, maxI32, 0)
			b.AddNode(onnx.Node{Name: "c1", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"y"}})
		}},
		{name: "Expand 2^31-1 squared", node: "e1", op: "Expand", build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 1)
			shapeInit(b, "shape", maxI32, maxI32)
			b.AddNode(onnx.Node{Name: "e1", Op: "Expand", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}})
		}, feeds: func() map[string]tensor.Any { return map[string]tensor.Any{"x": f32Zeros(1)} }},
		{name: "Expand 64 GiB", node: "e1", op: "Expand", build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 1)
			shapeInit(b, "shape", maxI32, 8)
			b.AddNode(onnx.Node{Name: "e1", Op: "Expand", Inputs: []string{"x", "shape"}, Outputs: []string{"y"}})
		}, feeds: func() map[string]tensor.Any { return map[string]tensor.Any{"x": f32Zeros(1)} }},
		{name: "Reshape to no elements and huge dims", node: "r1", op: "Reshape", build: func(b *onnx.Builder) {
			shapeInit(b, "zero", 0)
			shapeInit(b, "shape", maxI32, maxI32, 0)
			b.AddNode(onnx.Node{Name: "c0", Op: "ConstantOfShape", Inputs: []string{"zero"}, Outputs: []string{"e"}})
			b.AddNode(onnx.Node{Name: "r1", Op: "Reshape", Inputs: []string{"e", "shape"}, Outputs: []string{"y"},
				Attrs: []onnx.Attr{{Name: "allowzero", Value: int64(1)}}})
		}},
		{name: "Range", node: "r1", op: "Range", build: func(b *onnx.Builder) {
			onnx.Initializer(b, "start", onnx.Int64, nil, []int64{0})
			onnx.Initializer(b, "limit", onnx.Int64, nil, []int64{1 << 27})
			onnx.Initializer(b, "delta", onnx.Int64, nil, []int64{1})
			b.AddNode(onnx.Node{Name: "r1", Op: "Range", Inputs: []string{"start", "limit", "delta"}, Outputs: []string{"y"}})
		}},
		{name: "Add broadcast", node: "a1", op: "Add", build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 8192, 1)
			b.Input("z", onnx.Float32, 1, 8192)
			b.AddNode(onnx.Node{Name: "a1", Op: "Add", Inputs: []string{"x", "z"}, Outputs: []string{"y"}})
		}, feeds: func() map[string]tensor.Any {
			return map[string]tensor.Any{"x": f32Zeros(8192, 1), "z": f32Zeros(1, 8192)}
		}},
		{name: "Where broadcast", node: "w1", op: "Where", build: func(b *onnx.Builder) {
			b.Input("c", onnx.Bool, 8192, 1)
			b.Input("x", onnx.Float32, 1, 8192)
			b.AddNode(onnx.Node{Name: "w1", Op: "Where", Inputs: []string{"c", "x", "x"}, Outputs: []string{"y"}})
		}, feeds: func() map[string]tensor.Any {
			return map[string]tensor.Any{"c": tensor.Must(tensor.New[uint8]([]int{8192, 1}, nil)), "x": f32Zeros(1, 8192)}
		}},
		{name: "MatMul outer product", node: "m1", op: "MatMul", build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 8192, 1)
			b.Input("z", onnx.Float32, 1, 8192)
			b.AddNode(onnx.Node{Name: "m1", Op: "MatMul", Inputs: []string{"x", "z"}, Outputs: []string{"y"}})
		}, feeds: func() map[string]tensor.Any {
			return map[string]tensor.Any{"x": f32Zeros(8192, 1), "z": f32Zeros(1, 8192)}
		}},
		{name: "Concat of one input many times", node: "cat", op: "Concat", build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 1<<21)
			ins := make([]string, 40)
			for i := range ins {
				ins[i] = "x"
			}
			b.AddNode(onnx.Node{Name: "cat", Op: "Concat", Inputs: ins, Outputs: []string{"y"}, Attrs: []onnx.Attr{{Name: "axis", Value: int64(0)}}})
		}, feeds: func() map[string]tensor.Any { return map[string]tensor.Any{"x": f32Zeros(1 << 21)} }},
		{name: "Gather of many indices", node: "g1", op: "Gather", build: func(b *onnx.Builder) {
			shapeInit(b, "shape", 10, 10000)
			shapeInit(b, "n", 20000)
			b.AddNode(onnx.Node{Name: "c0", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"data"}})
			b.AddNode(onnx.Node{Name: "c1", Op: "ConstantOfShape", Inputs: []string{"n"}, Outputs: []string{"idx"},
				Attrs: []onnx.Attr{{Name: "value", Value: mustTensor(onnx.NewTensor("v", onnx.Int64, []int64{1}, []int64{0}))}}})
			b.AddNode(onnx.Node{Name: "g1", Op: "Gather", Inputs: []string{"data", "idx"}, Outputs: []string{"y"}})
		}},
		{name: "Cast widening", node: "cast", op: "Cast", build: func(b *onnx.Builder) {
			shapeInit(b, "shape", 40<<20)
			b.AddNode(onnx.Node{Name: "c0", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"u8"},
				Attrs: []onnx.Attr{{Name: "value", Value: mustTensor(onnx.NewTensor("v", onnx.Uint8, []int64{1}, []uint8{1}))}}})
			b.AddNode(onnx.Node{Name: "cast", Op: "Cast", Inputs: []string{"u8"}, Outputs: []string{"y"}, Attrs: []onnx.Attr{{Name: "to", Value: int64(onnx.Int64)}}})
		}},
		{name: "values held", node: "c3", op: "ConstantOfShape", outputs: true, build: func(b *onnx.Builder) {
			shapeInit(b, "shape", 5<<20) // 20 MiB each; every one is kept as an output
			for i := range 4 {
				b.AddNode(onnx.Node{Name: fmt.Sprint("c", i), Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{fmt.Sprint("y", i)}})
			}
			for i := range 4 {
				b.Output(fmt.Sprint("y", i), onnx.Float32, 5<<20)
			}
		}},
		{name: "GroupQueryAttention total length", node: "gqa", op: "com.microsoft.GroupQueryAttention", build: func(b *onnx.Builder) {
			b.Input("q", onnx.Float32, 1, 1, 192) // packed: 64 each for Q, K and V
			onnx.Initializer(b, "seqlens", onnx.Int32, []int64{1}, []int32{0})
			onnx.Initializer(b, "total", onnx.Int32, nil, []int32{1 << 24})
			b.AddNode(onnx.Node{Name: "gqa", Op: "GroupQueryAttention", Domain: onnx.MicrosoftDomain,
				Inputs: []string{"q", "", "", "", "", "seqlens", "total"}, Outputs: []string{"y", "pk", "pv"},
				Attrs: []onnx.Attr{{Name: "num_heads", Value: int64(1)}, {Name: "kv_num_heads", Value: int64(1)}}})
		}, feeds: func() map[string]tensor.Any { return map[string]tensor.Any{"q": f32Zeros(1, 1, 192)} }},
		{name: "MatMulNBits attributes", node: "mm", op: "com.microsoft.MatMulNBits", compile: true, build: func(b *onnx.Builder) {
			b.Input("x", onnx.Float32, 1, maxI32)
			b.Input("w", onnx.Uint8, "n", "kb", 16)
			b.Input("s", onnx.Float32, "n", "kb")
			b.AddNode(onnx.Node{Name: "mm", Op: "MatMulNBits", Domain: onnx.MicrosoftDomain, Inputs: []string{"x", "w", "s"}, Outputs: []string{"y"},
				Attrs: []onnx.Attr{{Name: "K", Value: int64(maxI32)}, {Name: "N", Value: int64(maxI32)}, {Name: "block_size", Value: int64(32)}}})
		}},
		{name: "Constant attribute", node: "k", op: "Constant", compile: true, limit: 2 << 10, build: func(b *onnx.Builder) {
			b.AddNode(onnx.Node{Name: "k", Op: "Constant", Outputs: []string{"y"},
				Attrs: []onnx.Attr{{Name: "value", Value: mustTensor(onnx.NewTensor("v", onnx.Float32, []int64{1024}, make([]float32, 1024)))}}})
		}},
	}
}

func mustTensor[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// marshal returns the serialized model of h: what a hostile file holds.
func (h hostile) marshal(t testing.TB) []byte {
	b := onnx.NewBuilder("hostile", onnx.Opset{Domain: "", Version: 21}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})
	h.build(b)
	if !h.outputs {
		b.Output("y", onnx.Float32)
	}
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

// TestHostileModels runs each model that asks for too much and checks that
// it gets one line of error wrapping budget.ErrExceeded and naming the node
// and its op, without allocating anything near what it asked for.
func TestHostileModels(t *testing.T) {
	for _, h := range hostileModels() {
		t.Run(h.name, func(t *testing.T) {
			data := h.marshal(t)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			limit := h.limit
			if limit == 0 {
				limit = testBudget
			}
			err := compileRun(data, h.feeds, WithBudget(limit))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, budget.ErrExceeded) {
				t.Fatalf("got %v, want an error wrapping budget.ErrExceeded", err)
			}
			msg := err.Error()
			want := fmt.Sprintf("exec: node %s (%s): ", h.node, h.op)
			if !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with %q", msg, want)
			}
			if h.compile != strings.Contains(msg, "compile") {
				t.Errorf("error %q: want it from Compile: %v", msg, h.compile)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > testBudget {
				t.Errorf("allocated %d bytes, more than the budget of %d", got, testBudget)
			}
			t.Log(msg)
		})
	}
	// The default budget stops the reproducers too.
	for _, h := range hostileModels()[:5] {
		if err := compileRun(h.marshal(t), h.feeds); !errors.Is(err, budget.ErrExceeded) {
			t.Errorf("%s with the default budget: got %v, want an error wrapping budget.ErrExceeded", h.name, err)
		}
	}
}

// compileRun parses, compiles and runs a model; a Compile error is
// prefixed "compile: ".
func compileRun(data []byte, feeds func() map[string]tensor.Any, opts ...CompileOption) error {
	m, err := onnx.Parse(data, onnx.ReadOptions{Budget: testBudget})
	if err != nil {
		return err
	}
	defer m.Close()
	p, err := Compile(m, opts...)
	if err != nil {
		return fmt.Errorf("%w (compile)", err)
	}
	var in map[string]tensor.Any
	if feeds != nil {
		in = feeds()
	}
	_, err = p.Run(context.Background(), in)
	return err
}

// TestBudgetViews checks that views (Reshape, Identity) of a value are not
// counted twice, nor views of feeds at all, and that a model runs in a
// budget just above what it holds.
func TestBudgetViews(t *testing.T) {
	b := onnx.NewBuilder("views", onnx.Opset{Domain: "", Version: 21})
	b.Input("x", onnx.Float32, 10<<20)
	shapeInit(b, "shape", 10, 1<<20)
	b.AddNode(onnx.Node{Name: "r0", Op: "Reshape", Inputs: []string{"x", "shape"}, Outputs: []string{"xv"}})
	b.AddNode(onnx.Node{Name: "relu", Op: "Relu", Inputs: []string{"xv"}, Outputs: []string{"h"}})
	b.AddNode(onnx.Node{Name: "r1", Op: "Reshape", Inputs: []string{"h", "shape"}, Outputs: []string{"h1"}})
	b.AddNode(onnx.Node{Name: "id", Op: "Identity", Inputs: []string{"h1"}, Outputs: []string{"y"}})
	b.AddNode(onnx.Node{Name: "id2", Op: "Identity", Inputs: []string{"h1"}, Outputs: []string{"y2"}})
	b.Output("y", onnx.Float32, 10, 1<<20)
	b.Output("y2", onnx.Float32, 10, 1<<20)
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	feed := map[string]tensor.Any{"x": f32Zeros(10 << 20)} // 40 MiB
	prog, err := Compile(onnx.New(p, onnx.ReadOptions{}), WithBudget(41<<20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prog.Run(context.Background(), feed); err != nil {
		t.Fatalf("40 MiB held in a budget of 41 MiB: %v", err)
	}
	prog, err = Compile(onnx.New(p, onnx.ReadOptions{}), WithBudget(39<<20))
	if err != nil {
		t.Fatal(err)
	}
	_, err = prog.Run(context.Background(), feed)
	if !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), "node relu (Relu)") {
		t.Fatalf("40 MiB in a budget of 39 MiB: got %v, want budget.ErrExceeded naming node relu", err)
	}
}

// TestBudgetModels runs the test models in small budgets.
func TestBudgetModels(t *testing.T) {
	m, err := onnx.Load("../../testdata/onnx/gemma3_tiny.onnx")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := Compile(m, WithBudget(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), gemmaInputs(1, 1, 3, 2)); err != nil {
		t.Errorf("gemma3_tiny in 4 MiB: %v", err)
	}
	if _, err := Compile(m, WithBudget(1<<10)); !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), "initializer") {
		t.Errorf("gemma3_tiny's initializers in 1 KiB: got %v, want budget.ErrExceeded naming an initializer", err)
	}
}

// TestBudgetTypedConstants checks that constants decoded from typed fields
// (copies, unlike raw and external data) count together against the budget.
func TestBudgetTypedConstants(t *testing.T) {
	b := onnx.NewBuilder("typed", onnx.Opset{Domain: "", Version: 21})
	for i := range 3 {
		b.AddInitializer(&onnxpb.TensorProto{Name: proto.String(fmt.Sprint("c", i)), DataType: proto.Int32(int32(onnx.Int64)),
			Dims: []int64{1000}, Int64Data: make([]int64, 1000)}) // 8000 bytes each
		b.Output(fmt.Sprint("c", i), onnx.Int64, 1000)
	}
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(onnx.New(p, onnx.ReadOptions{}), WithBudget(24000)); err != nil {
		t.Errorf("24000 bytes of constants in a budget of 24000: %v", err)
	}
	_, err = Compile(onnx.New(p, onnx.ReadOptions{}), WithBudget(20000))
	if !errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), `value "c2"`) {
		t.Errorf("24000 bytes of constants in a budget of 20000: got %v, want budget.ErrExceeded naming c2", err)
	}
}

// TestOpsets checks that every released ai.onnx opset compiles and newer
// ones, or a com.microsoft version other than 1, are refused by name.
func TestOpsets(t *testing.T) {
	model := func(opsets ...onnx.Opset) *onnx.Model {
		b := onnx.NewBuilder("g", opsets...)
		b.Input("x", onnx.Float32, 2)
		b.AddNode(onnx.Node{Name: "id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}})
		b.Output("y", onnx.Float32, 2)
		p, err := b.Model()
		if err != nil {
			t.Fatal(err)
		}
		return onnx.New(p, onnx.ReadOptions{})
	}
	for v := int64(1); v <= MaxOpset; v++ {
		if _, err := Compile(model(onnx.Opset{Domain: "", Version: v}, onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 1})); err != nil {
			t.Errorf("opset %d: %v", v, err)
		}
	}
	for _, tc := range []struct {
		opset onnx.Opset
		want  string
	}{
		{onnx.Opset{Domain: "", Version: 99999}, "opset ai.onnx version 99999"},
		{onnx.Opset{Domain: "", Version: MaxOpset + 1}, fmt.Sprintf("opset ai.onnx version %d", MaxOpset+1)},
		{onnx.Opset{Domain: onnx.MicrosoftDomain, Version: 2}, "opset com.microsoft version 2"},
	} {
		opsets := []onnx.Opset{tc.opset}
		if tc.opset.Domain != "" {
			opsets = append(opsets, onnx.Opset{Domain: "", Version: 21})
		}
		_, err := Compile(model(opsets...))
		if !errors.Is(err, onnx.ErrUnsupported) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "exec: ") {
			t.Errorf("%+v: got %v, want an error wrapping onnx.ErrUnsupported containing %q", tc.opset, err, tc.want)
		}
	}
}

// TestCheckWork covers the check's arithmetic: overflow, zero dims, the
// values held.
func TestCheckWork(t *testing.T) {
	ctx := withMeter(context.Background(), &meter{limit: 1000, live: 600})
	for _, tc := range []struct {
		shape []int
		ok    bool
		text  string
	}{
		{[]int{100}, true, ""},
		{[]int{101}, false, "output float32[101] (404 B) with the 600 B of values held needs 1004 B"},
		{[]int{1 << 30, 1 << 30, 1 << 30}, false, "more than 2^64 bytes"},
		{[]int{0, 250}, true, ""},
		{[]int{0, 251}, false, "no elements"},
		{[]int{}, true, ""},
	} {
		err := checkOut(ctx, numeric.Float32, tc.shape)
		if (err == nil) != tc.ok || (err != nil && (!errors.Is(err, budget.ErrExceeded) || !strings.Contains(err.Error(), tc.text))) {
			t.Errorf("checkOut(%v) with 600 of 1000 bytes held: got %v, want ok %v, %q", tc.shape, err, tc.ok, tc.text)
		}
	}
}

// TestSliceEdges covers what random op models found: a negative step over
// an empty axis selected one element that is not there, and steps near
// ±2^63 overflowed the element count.
func TestSliceEdges(t *testing.T) {
	x := tensor.Must(tensor.New([]int{5}, []int32{0, 1, 2, 3, 4}))
	empty := tensor.Must(tensor.New([]int{0, 1}, []int32{}))
	for _, tc := range []struct {
		x                tensor.Any
		start, end, step int64
		want             []int32
	}{
		{empty, 0, -1, -1, nil},
		{empty, 3, 0, 1, nil},
		{x, 0, 5, 1<<63 - 1, []int32{0}},
		{x, 4, -6, -1 << 63, []int32{4}},
		{x, -1, -1 << 63, -2, []int32{4, 2, 0}},
	} {
		got, err := slice(context.Background(), tc.x, []int64{tc.start}, []int64{tc.end}, []int64{0}, []int64{tc.step})
		if err != nil {
			t.Errorf("slice %v [%d:%d:%d]: %v", tc.x.Shape(), tc.start, tc.end, tc.step, err)
			continue
		}
		d := got.(*tensor.Tensor[int32]).Data()
		if fmt.Sprint(d) != fmt.Sprint(append([]int32{}, tc.want...)) {
			t.Errorf("slice %v [%d:%d:%d]: got %v, want %v", tc.x.Shape(), tc.start, tc.end, tc.step, d, tc.want)
		}
	}
}
