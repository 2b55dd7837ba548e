package ops

import (
	"context"
	"errors"
	"math/rand/v2"
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
