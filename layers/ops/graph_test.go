package ops

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestGraphGradient wires ops nodes into a graph (with a mixed-type Gather
// fed by an int64 input and a value used by two consumers) and checks the
// graph's input gradients against finite differences.
func TestGraphGradient(t *testing.T) {
	e := eng()
	b := graph.NewBuilder[float64]("mlp", nil)
	table := b.Input("table", []int{5, 3})
	w := b.Input("w", []int{3, 4})
	bias := b.Input("bias", []int{4})
	ids := graph.InputOf[float64, int64](b, "ids", []int{2})
	emb := b.AddMixed("emb", NewGather[float64](e, nil, 0), table, ids)
	mm := b.Add("mm", NewMatMul(e), emb, w)
	logits := b.Add("logits", NewAdd(e), mm, bias)
	lsm := b.Add("lsm", NewLogSoftmax(e, -1), logits)
	th := b.Add("th", NewTanh(e), logits)
	prod := b.Add("prod", NewMul(e), lsm, th)
	out := b.Add("out", NewReduceMean[float64](e, nil, false), prod)
	b.Output(out)
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	idv := tensor.Must(tensor.New([]int{2}, []int64{3, 3})) // repeated row
	ctx := context.Background()
	run := func(ctx context.Context, in ...*tensor.Tensor[float64]) (*graph.Tape[float64], error) {
		return g.Forward(ctx, in[0], in[1], in[2], idv)
	}
	f := gradcheck.Func[float64]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float64]) (*tensor.Tensor[float64], error) {
			tape, err := run(ctx, in...)
			if err != nil {
				return nil, err
			}
			return tape.Output(0)
		},
		Backward: func(ctx context.Context, gy *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			tape, err := run(ctx, in...)
			if err != nil {
				return nil, err
			}
			gs, err := g.Backward(ctx, tape, gy)
			if err != nil {
				return nil, err
			}
			if gs[3] != nil {
				return nil, errors.New("int64 ids got a gradient")
			}
			return gs[:3], nil
		},
	}
	rng := rand.New(rand.NewPCG(9, 9))
	ins := []*tensor.Tensor[float64]{fill[float64](rng, in(anyVal, 5, 3)), fill[float64](rng, in(anyVal, 3, 4)), fill[float64](rng, in(anyVal, 4))}
	if err := gradcheck.CheckFunc(ctx, f, ins, nil, gradcheck.Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestGraphShapeError checks that the builder uses InferShape to reject
// mismatched shapes at build time, naming the node.
func TestGraphShapeError(t *testing.T) {
	e := eng()
	b := graph.NewBuilder[float64]("bad", nil)
	x := b.Input("x", []int{-1, 3})
	w := b.Input("w", []int{4, 5})
	b.Output(b.Add("proj", NewMatMul(e), x, w))
	_, err := b.Build()
	if !errors.Is(err, tensor.ErrShape) || !strings.Contains(err.Error(), `"proj"`) {
		t.Fatalf("got %v, want a shape error naming node \"proj\"", err)
	}
}

// TestConcurrent runs Forward and Backward of shared nodes from 8
// goroutines and checks that every goroutine gets the same results.
func TestConcurrent(t *testing.T) {
	e := eng()
	idx := tensor.Must(tensor.New([]int{3}, []int64{0, 2, 0}))
	nodes := []graph.Node[float64]{NewMatMul(e), NewSoftmax(e, -1), NewGather(e, idx, 1), NewReduceMax(e, []int{0}, false)}
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := fill[float64](rng, in(distinct, 3, 3)), fill[float64](rng, in(anyVal, 3, 3))
	inputs := [][]*tensor.Tensor[float64]{{a, b}, {a}, {a}, {a}}
	run := func() [][]float64 {
		var out [][]float64
		for i, n := range nodes {
			y, err := n.Forward(context.Background(), inputs[i]...)
			if err != nil {
				t.Error(err)
				return nil
			}
			gs, err := n.Backward(context.Background(), y, inputs[i]...)
			if err != nil {
				t.Error(err)
				return nil
			}
			out = append(out, y.Data())
			for _, g := range gs {
				out = append(out, g.Data())
			}
		}
		return out
	}
	want := run()
	results := make([][][]float64, 8)
	done := make(chan int)
	for w := range results {
		go func() {
			results[w] = run()
			done <- w
		}()
	}
	for range results {
		<-done
	}
	for w, got := range results {
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("goroutine %d got different results", w)
		}
	}
}
