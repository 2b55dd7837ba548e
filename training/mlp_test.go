package training_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

// mlp builds Linear(in→hidden) → Tanh → Linear(hidden→out) → loss. The
// graph has inputs "x" [-1, in] and "target", and one output, the loss; the
// predictions are the tape value "fc2".
func mlp(eng compute.Engine[float32], seed uint64, in, hidden, out int, classify bool) (*graph.Graph[float32], error) {
	num := numeric.Float32Ops{}
	rng := rand.New(rand.NewPCG(seed, seed))
	fc1, err := core.NewLinear("fc1", eng, num, in, hidden, rng)
	if err != nil {
		return nil, err
	}
	fc2, err := core.NewLinear("fc2", eng, num, hidden, out, rng)
	if err != nil {
		return nil, err
	}
	b := graph.NewBuilder[float32]("mlp", num)
	x := b.Input("x", []int{-1, in})
	h := b.Add("tanh", ops.NewTanh(eng), b.Add("fc1", fc1, x))
	y := b.Add("fc2", fc2, h)
	if classify {
		labels := graph.InputOf[float32, int64](b, "target", []int{-1})
		b.Output(b.AddMixed("loss", training.NewCrossEntropyLoss(num), y, labels))
	} else {
		target := b.Input("target", []int{-1, out})
		b.Output(b.Add("loss", training.NewMSELoss(num), y, target))
	}
	return b.Build()
}

// fit runs full-batch training steps and returns the loss of each step.
func fit(ctx context.Context, g *graph.Graph[float32], opt training.Optimizer, steps int, x, target tensor.Any) ([]float64, error) {
	losses := make([]float64, 0, steps)
	for range steps {
		tape, err := g.Forward(ctx, x, target)
		if err != nil {
			return nil, err
		}
		loss, err := tape.Output(0)
		if err != nil {
			return nil, err
		}
		losses = append(losses, float64(loss.Data()[0]))
		if _, err := g.Backward(ctx, tape); err != nil {
			return nil, err
		}
		if err := opt.Step(ctx); err != nil {
			return nil, err
		}
		opt.ZeroGrad()
	}
	return losses, nil
}

// sineData samples y = sin(x) at n points evenly spaced on [−π, π].
func sineData(n int) (x, y *tensor.Tensor[float32]) {
	xs, ys := make([]float32, n), make([]float32, n)
	for i := range n {
		v := -math.Pi + 2*math.Pi*float64(i)/float64(n-1)
		xs[i], ys[i] = float32(v), float32(math.Sin(v))
	}
	return tensor.Must(tensor.New([]int{n, 1}, xs)), tensor.Must(tensor.New([]int{n, 1}, ys))
}

// sineSteps is the number of full-batch AdamW steps of the sine fit.
const sineSteps = 1000

// trainSine builds the 1-16-1 tanh MLP (seed 1) and fits sin on 64 points
// of [−π, π] with AdamW (lr 0.02, no weight decay), returning the graph,
// the data and the loss of each step.
func trainSine(ctx context.Context) (*graph.Graph[float32], *tensor.Tensor[float32], *tensor.Tensor[float32], []float64, error) {
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	g, err := mlp(eng, 1, 1, 16, 1, false)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cfg := training.DefaultAdamW(0.02)
	cfg.WeightDecay = 0
	opt, err := training.NewAdamW(g.Parameters(), numeric.Float32Ops{}, cfg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	x, y := sineData(64)
	losses, err := fit(ctx, g, opt, sineSteps, x, y)
	return g, x, y, losses, err
}

// TestMLPSine fits sin on [−π, π] with a 1-16-1 tanh MLP and AdamW. The
// mean squared error starts far above the variance of sin (≈ 0.5) and must
// end below 0.005 after 1000 full-batch steps with this seed. (Measured:
// 1.84 at step 1, 0.0285 at 100, 0.0047 at 600, 0.0021 at 1000; the curve
// is smooth at this learning rate, while at 0.05 it spikes.)
func TestMLPSine(t *testing.T) {
	ctx := context.Background()
	g, x, y, losses, err := trainSine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, last := losses[0], losses[len(losses)-1]
	t.Logf("MSE: step 1 %.4f, step 100 %.4f, step 300 %.5f, last %.5f", first, losses[99], losses[299], last)
	if first < 0.5 {
		t.Errorf("initial loss %v: want a real starting error (> 0.5)", first)
	}
	if last > 0.005 {
		t.Errorf("final loss: got %v, want < 0.005", last)
	}
	// The loss reported by the graph matches an independent float64 MSE of
	// the predictions on the tape.
	tape, err := g.Forward(ctx, x, y)
	if err != nil {
		t.Fatal(err)
	}
	pred, _ := tape.Value("fc2")
	var want float64
	for i, p := range pred.(*tensor.Tensor[float32]).Data() {
		d := float64(p) - float64(y.Data()[i])
		want += d * d / 64
	}
	got, _ := tape.Output(0)
	if math.Abs(float64(got.Data()[0])-want) > 1e-6 {
		t.Errorf("graph loss %v, float64 MSE of predictions %v", got.Data()[0], want)
	}
}

// TestMLPXOR classifies XOR with a 2-8-2 tanh MLP, cross-entropy and SGD
// with momentum: the mean cross-entropy must fall below 0.05 within 300
// steps and every point must be classified correctly.
func TestMLPXOR(t *testing.T) {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	g, err := mlp(eng, 2, 2, 8, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := training.NewSGD(g.Parameters(), numeric.Float32Ops{}, training.SGDConfig{LR: 0.2, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Must(tensor.New([]int{4, 2}, []float32{0, 0, 0, 1, 1, 0, 1, 1}))
	labels := tensor.Must(tensor.New([]int{4}, []int64{0, 1, 1, 0}))
	losses, err := fit(ctx, g, opt, 300, x, labels)
	if err != nil {
		t.Fatal(err)
	}
	last := losses[len(losses)-1]
	t.Logf("cross-entropy: step 1 %.4f, step 300 %.5f", losses[0], last)
	if losses[0] < 0.5 || last > 0.05 {
		t.Errorf("cross-entropy from %v to %v: want a start above 0.5 (≈ ln 2) and an end below 0.05", losses[0], last)
	}
	tape, err := g.Forward(ctx, x, labels)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tape.Value("fc2")
	logits := v.(*tensor.Tensor[float32]).Data()
	for i, c := range labels.Data() {
		pred := int64(0)
		if logits[2*i+1] > logits[2*i] {
			pred = 1
		}
		if pred != c {
			t.Errorf("point %d: logits %v give class %d, want %d", i, logits[2*i:2*i+2], pred, c)
		}
	}
}

// Example_mlp fits y = sin(x) on [−π, π] with a two-layer MLP
// (Linear 1→16, Tanh, Linear 16→1) trained by AdamW on the MSE loss; see
// mlp and fit above for the graph and the training loop.
func Example_mlp() {
	_, _, _, losses, err := trainSine(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Printf("initial loss above 0.5: %v\n", losses[0] > 0.5)
	fmt.Printf("loss fell below 0.005: %v\n", losses[len(losses)-1] < 0.005)
	// Output:
	// initial loss above 0.5: true
	// loss fell below 0.005: true
}
