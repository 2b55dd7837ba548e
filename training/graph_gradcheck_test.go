package training_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

// TestGraphGradcheck checks whole-graph reverse mode against finite
// differences: x → fc1 → Tanh → fc2 → (+ skip from fc1 through a second
// Linear, so fc1's output fans out) → cross-entropy with int64 labels, in
// float64, for the input and every parameter.
func TestGraphGradcheck(t *testing.T) {
	num := numeric.Float64Ops{}
	eng := compute.NewCPUEngine[float64](num)
	rng := rand.New(rand.NewPCG(11, 12))
	lin := func(name string, in, out int) *core.Linear[float64] {
		l, err := core.NewLinear(name, eng, num, in, out, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range l.Bias().Value.Data() {
			l.Bias().Value.Data()[i] = 0.1 * rng.NormFloat64()
		}
		return l
	}
	b := graph.NewBuilder[float64]("mlp", num)
	x := b.Input("x", []int{-1, 3})
	labels := graph.InputOf[float64, int64](b, "labels", []int{-1})
	h := b.Add("fc1", lin("fc1", 3, 5), x)
	y := b.Add("fc2", lin("fc2", 5, 4), b.Add("tanh", ops.NewTanh(eng), h))
	skip := b.Add("skip", lin("skip", 5, 4), h)
	logits := b.Add("sum", ops.NewAdd(eng), y, skip)
	b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss(num), logits, labels))
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lab := tensor.Must(tensor.New([]int{6}, []int64{0, 3, 1, 2, 3, 0}))
	f := gradcheck.Func[float64]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float64]) (*tensor.Tensor[float64], error) {
			tape, err := g.Forward(ctx, in[0], lab)
			if err != nil {
				return nil, err
			}
			return tape.Output(0)
		},
		Backward: func(ctx context.Context, og *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			tape, err := g.Forward(ctx, in[0], lab)
			if err != nil {
				return nil, err
			}
			grads, err := g.Backward(ctx, tape, og)
			if err != nil {
				return nil, err
			}
			if grads[1] != nil {
				t.Error("int64 labels got a gradient")
			}
			return grads[:1], nil
		},
		Parameters: g.Parameters(),
	}
	if n := len(f.Parameters); n != 6 {
		t.Fatalf("Parameters: got %d, want 6 (3 Linear layers)", n)
	}
	xv := tensor.Must(tensor.New[float64]([]int{6, 3}, nil))
	for i := range xv.Data() {
		xv.Data()[i] = rng.NormFloat64()
	}
	if err := gradcheck.CheckFunc(context.Background(), f, []*tensor.Tensor[float64]{xv}, nil, gradcheck.Options{}); err != nil {
		t.Error(err)
	}
}
