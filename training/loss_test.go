package training_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

var ctx = context.Background()

func t64(shape []int, v ...float64) *tensor.Tensor[float64] { return tensor.Must(tensor.New(shape, v)) }

func closeAll(got []float64, want []float64, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			return false
		}
	}
	return true
}

func TestMSE(t *testing.T) {
	// d = pred − target = [1, 0, −2]: loss (1+0+4)/3, gradient 2d/3.
	v, g, err := training.MSE(numeric.Float64Ops{}, t64([]int{3}, 1, 2, 3), t64([]int{3}, 0, 2, 5))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(v-5.0/3) > 1e-15 {
		t.Errorf("loss: got %v, want 5/3", v)
	}
	if want := []float64{2.0 / 3, 0, -4.0 / 3}; !closeAll(g.Data(), want, 1e-15) {
		t.Errorf("gradient: got %v, want %v", g.Data(), want)
	}
	if _, _, err := training.MSE(numeric.Float64Ops{}, t64([]int{3}, 1, 2, 3), t64([]int{1, 3}, 1, 2, 3)); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("shapes [3] vs [1 3]: got %v, want ErrShape", err)
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	tests := []struct {
		name     string
		logits   *tensor.Tensor[float64]
		targets  []int64
		loss     float64
		gradient []float64
	}{
		{
			name:   "uniform",
			logits: t64([]int{1, 2}, 0, 0), targets: []int64{0},
			loss: math.Ln2, gradient: []float64{-0.5, 0.5},
		},
		{
			// loss = log(e¹+e²+e³) − 3; gradient = softmax − onehot(2).
			name:   "three classes",
			logits: t64([]int{1, 3}, 1, 2, 3), targets: []int64{2},
			loss: 0.40760596444438013,
			gradient: []float64{
				math.E / (math.E + math.Exp(2) + math.Exp(3)),
				math.Exp(2) / (math.E + math.Exp(2) + math.Exp(3)),
				math.Exp(3)/(math.E+math.Exp(2)+math.Exp(3)) - 1,
			},
		},
		{
			// Without the max shift exp(1000) overflows. Row 0: loss 1000,
			// gradient [1, −1]/2; row 1: loss ≈ e^−1000 ≈ 0.
			name:   "large logits, two rows",
			logits: t64([]int{2, 2}, 1000, 0, 1000, 0), targets: []int64{1, 0},
			loss: 500, gradient: []float64{0.5, -0.5, 0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := tensor.Must(tensor.New([]int{len(tc.targets)}, tc.targets))
			v, g, err := training.SoftmaxCrossEntropy(numeric.Float64Ops{}, tc.logits, tg)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(v-tc.loss) > 1e-12 {
				t.Errorf("loss: got %v, want %v", v, tc.loss)
			}
			if !closeAll(g.Data(), tc.gradient, 1e-12) {
				t.Errorf("gradient: got %v, want %v", g.Data(), tc.gradient)
			}
		})
	}
	logits := t64([]int{2, 3}, 0, 0, 0, 0, 0, 0)
	if _, _, err := training.SoftmaxCrossEntropy(numeric.Float64Ops{}, logits, tensor.Must(tensor.New([]int{2}, []int64{0, 3}))); !errors.Is(err, tensor.ErrIndex) {
		t.Errorf("class 3 of 3: got %v, want ErrIndex", err)
	}
	if _, _, err := training.SoftmaxCrossEntropy(numeric.Float64Ops{}, logits, tensor.Must(tensor.New([]int{3}, []int64{0, 1, 2}))); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("targets [3] for logits [2 3]: got %v, want ErrShape", err)
	}
}

func randT(rng *rand.Rand, shape ...int) *tensor.Tensor[float64] {
	t := tensor.Must(tensor.New[float64](shape, nil))
	for i := range t.Data() {
		t.Data()[i] = rng.NormFloat64()
	}
	return t
}

func TestLossNodesGradcheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mse := training.NewMSELoss[float64](numeric.Float64Ops{})
	if err := gradcheck.Check(ctx, graph.Node[float64](mse), []*tensor.Tensor[float64]{randT(rng, 3, 4), randT(rng, 3, 4)}, gradcheck.Options{}); err != nil {
		t.Errorf("MSELoss: %v", err)
	}
	ce := training.NewCrossEntropyLoss[float64](numeric.Float64Ops{})
	targets := tensor.Must(tensor.New([]int{2, 3}, []int64{0, 4, 2, 1, 1, 3}))
	f := gradcheck.Func[float64]{
		Forward: func(ctx context.Context, in ...*tensor.Tensor[float64]) (*tensor.Tensor[float64], error) {
			return ce.ForwardAny(ctx, in[0], targets)
		},
		Backward: func(ctx context.Context, g *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			gs, err := ce.BackwardAny(ctx, g, in[0], targets)
			if err != nil {
				return nil, err
			}
			if gs[1] != nil {
				t.Error("targets got a gradient, want nil")
			}
			return gs[:1], nil
		},
	}
	if err := gradcheck.CheckFunc(ctx, f, []*tensor.Tensor[float64]{randT(rng, 2, 3, 5)}, nil, gradcheck.Options{}); err != nil {
		t.Errorf("CrossEntropyLoss: %v", err)
	}
}

// TestLossNodesInGraph wires the cross-entropy node into a float32 graph
// with int64 targets and checks its static shape validation.
func TestLossNodesInGraph(t *testing.T) {
	b := graph.NewBuilder[float32]("ce", numeric.Float32Ops{})
	x := b.Input("logits", []int{-1, 3})
	y := graph.InputOf[float32, int64](b, "labels", []int{-1})
	b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss[float32](numeric.Float32Ops{}), x, y))
	g, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	tape, err := g.Forward(ctx, tensor.Must(tensor.New([]int{1, 3}, []float32{1, 2, 3})), tensor.Must(tensor.New([]int{1}, []int64{2})))
	if err != nil {
		t.Fatal(err)
	}
	loss, _ := tape.Output(0)
	if got := float64(loss.Data()[0]); math.Abs(got-0.40760596444438013) > 1e-6 {
		t.Errorf("loss: got %v, want 0.407606", got)
	}
	grads, err := g.Backward(ctx, tape)
	if err != nil {
		t.Fatal(err)
	}
	if grads[1] != nil || grads[0] == nil || grads[0].Size() != 3 {
		t.Errorf("input gradients: got %v, want logits gradient only", grads)
	}

	b = graph.NewBuilder[float32]("bad", numeric.Float32Ops{})
	x = b.Input("logits", []int{4, 3})
	y = graph.InputOf[float32, int64](b, "labels", []int{5})
	b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss[float32](numeric.Float32Ops{}), x, y))
	if _, err := b.Build(); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("logits [4 3] with labels [5]: got %v, want ErrShape", err)
	}
	b = graph.NewBuilder[float32]("bad2", numeric.Float32Ops{})
	x = b.Input("logits", []int{4, 3})
	b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss[float32](numeric.Float32Ops{}), x, x))
	if _, err := b.Build(); !errors.Is(err, graph.ErrDType) {
		t.Errorf("float labels: got %v, want ErrDType", err)
	}
}
