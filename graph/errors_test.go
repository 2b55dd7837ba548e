package graph_test

import (
	"context"
	"errors"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name     string
		wire     func(b *graph.Builder[float32])
		sentinel error
		mentions []string
	}{
		{
			name: "cycle through late binding",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{2})
				a := b.Add("a", newAdd(), x, b.Ref("c"))
				bb := b.Add("b", newScale(2), a)
				c := b.Add("c", newScale(3), bb)
				b.Output(c)
			},
			sentinel: graph.ErrCycle,
			mentions: []string{`"a" (Add)`, `"b" (Scale)`, `"c" (Scale)`, `graph "g"`},
		},
		{
			name: "self loop",
			wire: func(b *graph.Builder[float32]) {
				b.Output(b.Add("loop", newScale(2), b.Ref("loop")))
			},
			sentinel: graph.ErrCycle,
			mentions: []string{`"loop" (Scale) -> "loop" (Scale)`},
		},
		{
			name: "name never defined",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{2})
				b.Output(b.Add("sum", newAdd(), x, b.Ref("ghost")))
			},
			sentinel: graph.ErrDangling,
			mentions: []string{`node "sum" (Add)`, `"ghost"`, "input 1"},
		},
		{
			name: "ref from another builder",
			wire: func(b *graph.Builder[float32]) {
				other := graph.NewBuilder[float32]("other", nil)
				y := other.Input("y", []int{2})
				b.Output(b.Add("s", newScale(1), y))
			},
			sentinel: graph.ErrDangling,
			mentions: []string{`node "s" (Scale)`, "another builder", `"y"`},
		},
		{
			name: "empty ref",
			wire: func(b *graph.Builder[float32]) {
				b.Output(b.Add("s", newScale(1), graph.Ref{}))
			},
			sentinel: graph.ErrDangling,
			mentions: []string{`node "s" (Scale)`, "empty Ref"},
		},
		{
			name: "dangling output",
			wire: func(b *graph.Builder[float32]) {
				b.Input("x", nil)
				b.Output(b.Ref("nothing"))
			},
			sentinel: graph.ErrDangling,
			mentions: []string{"output 0", `"nothing"`},
		},
		{
			name: "duplicate name",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{2})
				b.Add("x", newScale(2), x)
				b.Output(x)
			},
			sentinel: graph.ErrDuplicate,
			mentions: []string{`node "x" (Scale)`, "Input"},
		},
		{
			name: "no outputs",
			wire: func(b *graph.Builder[float32]) {
				b.Input("x", nil)
			},
			sentinel: graph.ErrInput,
			mentions: []string{"no outputs"},
		},
		{
			name: "shape mismatch between nodes",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{-1, 3})
				h := b.Add("fc1", newDense("fc1", 3, 4, make([]float32, 12)...), x)
				b.Output(b.Add("fc2", newDense("fc2", 5, 1, make([]float32, 5)...), h))
			},
			sentinel: tensor.ErrShape,
			mentions: []string{`node "fc2" (MatMul)`, `"fc1" (MatMul) [-1 4]`, "[5 1]"},
		},
		{
			name: "shape mismatch from OutputShape",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{4})
				c := b.Add("s", newSum(), x) // OutputShape [] (a scalar)
				b.Output(b.Add("add", newAdd(), x, c))
			},
			sentinel: tensor.ErrShape,
			mentions: []string{`node "add" (Add)`, `"x" (Input) [4]`, `"s" (ReduceSum) []`},
		},
		{
			name: "uint8 producer into float32 node",
			wire: func(b *graph.Builder[float32]) {
				c := graph.AddNode[float32, uint8](b, "codes", &u8const{tensor.Must(tensor.New([]int{2}, []uint8{1, 2}))})
				b.Output(b.Add("scale", newScale(2), c))
			},
			sentinel: graph.ErrDType,
			mentions: []string{`node "scale" (Scale)`, `"codes" (Constant)`, "uint8", "float32"},
		},
		{
			name: "mixed node input of the wrong type",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{4})
				b.Output(b.AddMixed("dq", newDequantMul(1), x, x))
			},
			sentinel: graph.ErrDType,
			mentions: []string{`node "dq" (DequantMul)`, `input 1 from "x" (Input)`, "want uint8"},
		},
		{
			name: "mixed node arity",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", []int{4})
				b.Output(b.AddMixed("dq", newDequantMul(1), x))
			},
			sentinel: graph.ErrArity,
			mentions: []string{`node "dq" (DequantMul)`, "takes 2 inputs, wired to 1"},
		},
		{
			name: "nil node",
			wire: func(b *graph.Builder[float32]) {
				x := b.Input("x", nil)
				b.Output(b.Add("nothing", nil, x))
			},
			sentinel: graph.ErrInput,
			mentions: []string{`"nothing"`, "nil Node"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := graph.NewBuilder[float32]("g", nil)
			tc.wire(b)
			g, err := b.Build()
			if g != nil {
				t.Errorf("Build returned a graph along with error %v", err)
			}
			checkErr(t, err, tc.sentinel, tc.mentions...)
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	boom := errors.New("boom")
	b := graph.NewBuilder[float32]("rt", nil)
	x := b.Input("x", []int{-1, 2})
	h := b.Add("fc", newDense("fc", 2, 2, 1, 0, 0, 1), x)
	f := b.Add("flaky", &failing{base: base{"Flaky"}, bwd: boom}, h)
	b.Output(b.Add("loss", newSum(), f))
	g := build(t, b)
	xv := mat(1, 2, 1, 2)

	t.Run("backward before forward", func(t *testing.T) {
		_, err := g.Backward(ctx, nil)
		checkErr(t, err, graph.ErrNoTape, `graph "rt"`, "call Forward first")
	})
	t.Run("tape from another graph", func(t *testing.T) {
		b2 := graph.NewBuilder[float32]("other", nil)
		b2.Output(b2.Add("s", newSum(), b2.Input("x", nil)))
		tape, err := build(t, b2).Forward(ctx, vec(1))
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Backward(ctx, tape)
		checkErr(t, err, graph.ErrNoTape, `graph "rt"`, `"other"`)
	})
	t.Run("node backward error", func(t *testing.T) {
		tape, err := g.Forward(ctx, xv)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Backward(ctx, tape)
		checkErr(t, err, boom, `graph "rt"`, `backward: node "flaky" (Flaky)`)
		var ne *graph.NodeError
		if !errors.As(err, &ne) || ne.Node != "flaky" || ne.OpType != "Flaky" {
			t.Errorf("got %#v, want a *NodeError for flaky", err)
		}
	})
	t.Run("wrong number of inputs", func(t *testing.T) {
		_, err := g.Forward(ctx)
		checkErr(t, err, graph.ErrInput, "got 0 inputs, want 1", "[x]")
	})
	t.Run("wrong input dtype", func(t *testing.T) {
		_, err := g.Forward(ctx, tensor.Must(tensor.New([]int{1, 2}, []int64{1, 2})))
		checkErr(t, err, graph.ErrDType, `node "x" (Input)`, "int64")
	})
	t.Run("nil input", func(t *testing.T) {
		_, err := g.Forward(ctx, (*tensor.Tensor[float32])(nil))
		checkErr(t, err, graph.ErrInput, `node "x" (Input)`, "nil")
	})
	t.Run("wrong input shape", func(t *testing.T) {
		_, err := g.Forward(ctx, vec(1, 2))
		checkErr(t, err, tensor.ErrShape, `node "x" (Input)`, "[2]", "[-1 2]")
	})
	t.Run("wrong output gradient count", func(t *testing.T) {
		tape, _ := g.Forward(ctx, xv)
		_, err := g.Backward(ctx, tape, tensor.Scalar[float32](1), tensor.Scalar[float32](1))
		checkErr(t, err, graph.ErrInput, "got 2 output gradients, want 1")
	})
	t.Run("output gradient shape", func(t *testing.T) {
		tape, _ := g.Forward(ctx, xv)
		_, err := g.Backward(ctx, tape, vec(1, 2))
		checkErr(t, err, tensor.ErrShape, `"loss"`)
	})
	t.Run("cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := g.Forward(c, xv)
		checkErr(t, err, context.Canceled, `forward: node "fc"`)
		tape, _ := g.Forward(ctx, xv)
		_, err = g.Backward(c, tape)
		checkErr(t, err, context.Canceled, `backward: node "loss"`)
	})
}

func TestForwardErrors(t *testing.T) {
	boom := errors.New("boom")
	b := graph.NewBuilder[float32]("fw", nil)
	b.Output(b.Add("flaky", &failing{base: base{"Flaky"}, fwd: boom}, b.Input("x", nil)))
	_, err := build(t, b).Forward(ctx, vec(1))
	checkErr(t, err, boom, `graph "fw": forward: node "flaky" (Flaky): boom`)

	// A node whose output contradicts its declared shape is caught.
	b = graph.NewBuilder[float32]("liar", nil)
	b.Output(b.Add("s", &liar{base{"Liar"}}, b.Input("x", nil)))
	_, err = build(t, b).Forward(ctx, vec(1, 2))
	checkErr(t, err, tensor.ErrShape, `node "s" (Liar)`, "[2]", "[5]")
}

// liar declares shape [5] and returns its input.
type liar struct{ base }

func (liar) OutputShape() []int { return []int{5} }
func (liar) Forward(_ context.Context, in ...f32) (f32, error) {
	return in[0], nil
}
func (liar) Backward(_ context.Context, g f32, _ ...f32) ([]f32, error) { return []f32{g}, nil }

func TestParameter(t *testing.T) {
	if _, err := graph.NewParameter[float32]("nil", nil); err == nil {
		t.Error("NewParameter(nil): got no error")
	}
	p := &graph.Parameter[float32]{Name: "w", Value: vec(1, 2, 3)}
	if err := p.AccumulateGradient(nil, vec(1, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.AccumulateGradient(nil, vec(0.5, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if want := []float32{1.5, 2, 3}; !near(p.Gradient.Data(), want, 0) {
		t.Errorf("gradient: got %v, want %v", p.Gradient.Data(), want)
	}
	err := p.AccumulateGradient(nil, vec(1, 2))
	checkErr(t, err, tensor.ErrShape, `"w"`, "[3]", "[2]")

	// Concurrent accumulation is exact for integers and race-free.
	q, _ := graph.NewParameter("n", tensor.Must(tensor.New[int64]([]int{2}, nil)))
	done := make(chan struct{})
	for range 8 {
		go func() {
			for range 100 {
				_ = q.AccumulateGradient(nil, tensor.Must(tensor.New([]int{2}, []int64{1, 2})))
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	if got := q.Gradient.Data(); got[0] != 800 || got[1] != 1600 {
		t.Errorf("concurrent accumulation: got %v, want [800 1600]", got)
	}
	err = q.Update(func(v, g *tensor.Tensor[int64]) error {
		v.Data()[0] -= g.Data()[0]
		return nil
	})
	if err != nil || q.Value.Data()[0] != -800 {
		t.Errorf("Update: got %v, %v; want -800, nil", q.Value.Data()[0], err)
	}
}
