package exec

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// subGraph builds a GraphProto for a graph attribute.
func subGraph(t *testing.T, name string, inputs, outputs []*onnxpb.ValueInfoProto, nodes ...onnx.Node) *onnxpb.GraphProto {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String(name), Input: inputs, Output: outputs}
	for _, n := range nodes {
		p, err := onnx.NodeProto(n)
		if err != nil {
			t.Fatal(err)
		}
		g.Node = append(g.Node, p)
	}
	return g
}

func vi(t *testing.T, name string, dt onnx.DataType, dims ...any) *onnxpb.ValueInfoProto {
	t.Helper()
	v, err := onnx.ValueInfoProto(name, dt, dims...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loopModel is a Loop summing x (captured from the main graph) into acc n
// times; each iteration's body runs an If on flag (also captured, two
// graphs up) that adds x again or subtracts it. The scan output is acc
// after each iteration. extra adds nodes to the body before its outputs.
func loopModel(t *testing.T, extra ...onnx.Node) *Program {
	t.Helper()
	then := subGraph(t, "then", nil, []*onnxpb.ValueInfoProto{vi(t, "t", onnx.Float32, 2)},
		onnx.Node{Name: "then_id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"t"}})
	els := subGraph(t, "else", nil, []*onnxpb.ValueInfoProto{vi(t, "e", onnx.Float32, 2)},
		onnx.Node{Name: "else_neg", Op: "Neg", Inputs: []string{"x"}, Outputs: []string{"e"}})
	nodes := append([]onnx.Node{
		{Name: "body_add", Op: "Add", Inputs: []string{"acc_in", "x"}, Outputs: []string{"y"}},
		{Name: "body_if", Op: "If", Inputs: []string{"flag"}, Outputs: []string{"z"}, Attrs: []onnx.Attr{{Name: "then_branch", Value: then}, {Name: "else_branch", Value: els}}},
		{Name: "body_sum", Op: "Add", Inputs: []string{"y", "z"}, Outputs: []string{"acc_out"}},
		{Name: "body_cond", Op: "Identity", Inputs: []string{"c_in"}, Outputs: []string{"c_out"}},
		{Name: "body_scan", Op: "Identity", Inputs: []string{"acc_out"}, Outputs: []string{"scan"}},
	}, extra...)
	body := subGraph(t, "loop_body",
		[]*onnxpb.ValueInfoProto{vi(t, "i", onnx.Int64), vi(t, "c_in", onnx.Bool), vi(t, "acc_in", onnx.Float32, 2)},
		[]*onnxpb.ValueInfoProto{vi(t, "c_out", onnx.Bool), vi(t, "acc_out", onnx.Float32, 2), vi(t, "scan", onnx.Float32, 2)},
		nodes...)
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 16})
	b.Input("x", onnx.Float32, 2)
	b.Input("n", onnx.Int64)
	b.Input("flag", onnx.Bool)
	b.Output("acc", onnx.Float32, 2)
	b.Output("scans", onnx.Float32, nil, 2)
	onnx.Initializer(b, "zero", onnx.Float32, []int64{2}, []float32{0, 0})
	b.AddNode(onnx.Node{Name: "loop", Op: "Loop", Inputs: []string{"n", "", "zero"}, Outputs: []string{"acc", "scans"}, Attrs: []onnx.Attr{{Name: "body", Value: body}}})
	p, err := compileBuilder(t, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoopCapturesOuterValues(t *testing.T) {
	p := loopModel(t)
	x := tensor.Must(tensor.New([]int{2}, []float32{1, 10}))
	for _, tt := range []struct {
		flag, n   int
		acc, scan []float32
	}{
		{1, 3, []float32{6, 60}, []float32{2, 20, 4, 40, 6, 60}},
		{0, 2, []float32{0, 0}, []float32{0, 0, 0, 0}},
		{1, 0, []float32{0, 0}, []float32{}},
	} {
		got, err := p.Run(context.Background(), map[string]tensor.Any{
			"x": x, "n": scalarTensor(int64(tt.n)), "flag": scalarTensor(uint8(tt.flag)),
		})
		if err != nil {
			t.Fatalf("flag %d n %d: %v", tt.flag, tt.n, err)
		}
		acc := got["acc"].(*tensor.Tensor[float32]).Data()
		scan := got["scans"].(*tensor.Tensor[float32])
		if !reflect.DeepEqual(acc, tt.acc) || !reflect.DeepEqual(scan.Data(), tt.scan) || scan.Shape()[0] != tt.n {
			t.Errorf("flag %d n %d: acc %v scans %v %v, want %v %v", tt.flag, tt.n, acc, scan.Shape(), scan.Data(), tt.acc, tt.scan)
		}
	}
}

func TestSubgraphErrors(t *testing.T) {
	// Compile: an unknown op two graphs down names every level.
	then := subGraph(t, "then", nil, []*onnxpb.ValueInfoProto{vi(t, "t", onnx.Float32, 2)},
		onnx.Node{Name: "weird", Op: "FooBar", Inputs: []string{"x"}, Outputs: []string{"t"}})
	els := subGraph(t, "else", nil, []*onnxpb.ValueInfoProto{vi(t, "e", onnx.Float32, 2)},
		onnx.Node{Name: "else_id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"e"}})
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 16})
	b.Input("x", onnx.Float32, 2)
	b.Input("c", onnx.Bool)
	b.Output("y", onnx.Float32, 2)
	b.AddNode(onnx.Node{Name: "branch", Op: "If", Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: []onnx.Attr{{Name: "then_branch", Value: then}, {Name: "else_branch", Value: els}}})
	_, err := compileBuilder(t, b)
	if !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("got %v, want ErrUnsupportedOp", err)
	}
	for _, want := range []string{"node branch (If)", `subgraph then_branch ("then")`, "node weird (FooBar)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("compile error %q does not name %q", err, want)
		}
	}

	// Run: a shape error inside the loop body.
	p := loopModel(t, onnx.Node{Name: "body_bad", Op: "Reshape", Inputs: []string{"acc_out", "i"}, Outputs: []string{"unused"}})
	_, err = p.Run(context.Background(), map[string]tensor.Any{
		"x": tensor.Must(tensor.New([]int{2}, []float32{1, 2})), "n": scalarTensor(int64(2)), "flag": scalarTensor(uint8(1)),
	})
	if err == nil {
		t.Fatal("Reshape to a scalar shape: no error")
	}
	for _, want := range []string{"node loop (Loop)", `subgraph body ("loop_body")`, "node body_bad (Reshape)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run error %q does not name %q", err, want)
		}
	}

	// Bad If condition: not a bool scalar.
	b = onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 16})
	b.Input("x", onnx.Float32, 2)
	b.Input("c", onnx.Bool, 2)
	b.Output("y", onnx.Float32, 2)
	then = subGraph(t, "then", nil, []*onnxpb.ValueInfoProto{vi(t, "t", onnx.Float32, 2)},
		onnx.Node{Name: "then_id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"t"}})
	b.AddNode(onnx.Node{Name: "branch", Op: "If", Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: []onnx.Attr{{Name: "then_branch", Value: then}, {Name: "else_branch", Value: els}}})
	p, err = compileBuilder(t, b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(context.Background(), map[string]tensor.Any{"x": tensor.Must(tensor.New([]int{2}, []float32{1, 2})), "c": tensor.Must(tensor.New([]int{2}, []uint8{1, 0}))})
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "node branch (If)") {
		t.Errorf("If on a 2-element condition: got %v, want ErrInput naming the node", err)
	}
}

// TestLoopForever checks that a Loop without a trip count or condition
// (an infinite loop, as the spec allows) stops when its context ends.
func TestLoopForever(t *testing.T) {
	body := subGraph(t, "forever",
		[]*onnxpb.ValueInfoProto{vi(t, "i", onnx.Int64), vi(t, "c_in", onnx.Bool)},
		[]*onnxpb.ValueInfoProto{vi(t, "c_out", onnx.Bool)},
		onnx.Node{Name: "id", Op: "Identity", Inputs: []string{"c_in"}, Outputs: []string{"c_out"}})
	b := onnx.NewBuilder("g", onnx.Opset{Domain: "", Version: 16})
	b.Input("x", onnx.Float32, 1)
	b.Output("y", onnx.Float32, 1)
	b.AddNode(onnx.Node{Name: "spin", Op: "Loop", Inputs: []string{"", ""}, Outputs: nil, Attrs: []onnx.Attr{{Name: "body", Value: body}}})
	b.AddNode(onnx.Node{Name: "out", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}})
	p, err := compileBuilder(t, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Run(ctx, map[string]tensor.Any{"x": tensor.Must(tensor.New([]int{1}, []float32{1}))})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

func TestSequenceOps(t *testing.T) {
	ctx := context.Background()
	a := tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}))
	split, err := buildSplitToSequence(&Node{Proto: &onnxpb.NodeProto{}})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := split(ctx, []tensor.Any{a, scalarTensor(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	s := outs[0].(*Sequence)
	if len(s.Values) != 2 || !reflect.DeepEqual(s.Values[1].Shape(), []int{1, 3}) {
		t.Fatalf("SplitToSequence by 1: got %v", s)
	}
	l, _ := sequenceLength(ctx, []tensor.Any{s})
	if l.(*tensor.Tensor[int64]).Data()[0] != 2 {
		t.Errorf("SequenceLength = %v, want 2", l)
	}
	e, err := sequenceErase(ctx, []tensor.Any{s, scalarTensor(int64(-2))})
	if err != nil || len(e.(*Sequence).Values) != 1 || len(s.Values) != 2 {
		t.Errorf("SequenceErase(-2) = %v, %v; the input must stay %v", e, err, s)
	}
	if _, err := sequenceAt(ctx, []tensor.Any{s, scalarTensor(int64(2))}); !errors.Is(err, tensor.ErrIndex) {
		t.Errorf("SequenceAt(2) of 2: got %v, want ErrIndex", err)
	}
	if _, err := sequenceInsert(ctx, []tensor.Any{s, scalarTensor(int64(7))}); !errors.Is(err, ErrInput) {
		t.Errorf("SequenceInsert of int64 into float32: got %v, want ErrInput", err)
	}
	concat, err := concatValues(ctx, s.Values, 0, true)
	if err != nil || !reflect.DeepEqual(concat.Shape(), []int{2, 1, 3}) {
		t.Errorf("stack: got %v, %v, want shape [2 1 3]", concat, err)
	}
	if _, err := optionalGetElement(ctx, []tensor.Any{&Optional{}}); !errors.Is(err, ErrInput) {
		t.Errorf("OptionalGetElement of an empty optional: got %v, want ErrInput", err)
	}
}
