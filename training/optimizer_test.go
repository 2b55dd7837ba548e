package training_test

import (
	"errors"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
	"github.com/zerfoo/zerfoo/training"
)

func param(t *testing.T, name string, v ...float64) *graph.Parameter[float64] {
	t.Helper()
	p, err := graph.NewParameter(name, t64([]int{len(v)}, v...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// step sets the gradient, steps and zeroes.
func step(t *testing.T, o training.Optimizer, p *graph.Parameter[float64], g ...float64) {
	t.Helper()
	if err := p.AccumulateGradient(nil, t64([]int{len(g)}, g...)); err != nil {
		t.Fatal(err)
	}
	if err := o.Step(ctx); err != nil {
		t.Fatal(err)
	}
	o.ZeroGrad()
}

func TestSGD(t *testing.T) {
	// lr 0.5, momentum 0.9, weight decay 0.1, w = 1, gradients 2 then −1.
	// Step 1: g = 2 + 0.1·1 = 2.1, v = 2.1, w = 1 − 1.05 = −0.05.
	// Step 2: g = −1 + 0.1·(−0.05) = −1.005, v = 0.9·2.1 − 1.005 = 0.885,
	//         w = −0.05 − 0.4425 = −0.4925.
	// Nesterov uses g + 0.9·v: step 1 w = 1 − 0.5·(2.1+1.89) = −0.995;
	// step 2 g = −1.0995, v = 0.7905, w = −0.995 − 0.5·(−1.0995+0.71145)
	//         = −0.800975.
	tests := []struct {
		nesterov bool
		want     [2]float64
	}{
		{false, [2]float64{-0.05, -0.4925}},
		{true, [2]float64{-0.995, -0.800975}},
	}
	for _, tc := range tests {
		p := param(t, "w", 1)
		o, err := training.NewSGD([]*graph.Parameter[float64]{p}, numeric.Float64Ops{},
			training.SGDConfig{LR: 0.5, Momentum: 0.9, WeightDecay: 0.1, Nesterov: tc.nesterov})
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range []float64{2, -1} {
			step(t, o, p, g)
			if got := p.Value.Data()[0]; math.Abs(got-tc.want[i]) > 1e-12 {
				t.Errorf("nesterov=%v step %d: got w = %v, want %v", tc.nesterov, i+1, got, tc.want[i])
			}
		}
		if got := p.Gradient.Data()[0]; got != 0 {
			t.Errorf("gradient after ZeroGrad: got %v, want 0", got)
		}
	}
}

func TestAdamW(t *testing.T) {
	// lr 0.1, betas 0.9/0.999, eps 1e-8, weight decay 0.01; w = [1, −2].
	// Step 1, g = [0.5, 0]: decay w → [0.999, −1.998]; m = [0.05, 0],
	// v = [0.00025, 0]; the bias-corrected ratio is 0.5/(0.5+1e-8), so
	// w0 = 0.999 − 0.1·0.99999998 = 0.899000002 and w1 (m = 0) = −1.998.
	// Step 2, g = [−1, 3], worked in float64 (bias corrections 0.19 and
	// 0.001999): w0 = 0.9347113542385653, w1 = −2.0704156820059967.
	p := param(t, "w", 1, -2)
	o, err := training.NewAdamW([]*graph.Parameter[float64]{p}, numeric.Float64Ops{}, training.DefaultAdamW(0.1))
	if err != nil {
		t.Fatal(err)
	}
	step(t, o, p, 0.5, 0)
	if want := []float64{0.899000002, -1.998}; !closeAll(p.Value.Data(), want, 1e-12) {
		t.Errorf("step 1: got %v, want %v", p.Value.Data(), want)
	}
	step(t, o, p, -1, 3)
	if want := []float64{0.9347113542385653, -2.0704156820059967}; !closeAll(p.Value.Data(), want, 1e-12) {
		t.Errorf("step 2: got %v, want %v", p.Value.Data(), want)
	}
	if o.Steps() != 2 {
		t.Errorf("Steps: got %d, want 2", o.Steps())
	}

	// float32 parameters take the same path and round once per step.
	p32, _ := graph.NewParameter("w", tensor.Must(tensor.New([]int{2}, []float32{1, -2})))
	o32, err := training.NewAdamW([]*graph.Parameter[float32]{p32}, numeric.Float32Ops{}, training.DefaultAdamW(0.1))
	if err != nil {
		t.Fatal(err)
	}
	_ = p32.AccumulateGradient(nil, tensor.Must(tensor.New([]int{2}, []float32{0.5, 0})))
	if err := o32.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p32.Value.Data(); got[0] != float32(0.899000002) || got[1] != float32(-1.998) {
		t.Errorf("float32 step 1: got %v, want [0.899 -1.998]", got)
	}
}

func TestOptimizerErrors(t *testing.T) {
	p := param(t, "w", 1)
	ps := []*graph.Parameter[float64]{p}
	ops := numeric.Float64Ops{}
	tests := []struct {
		name string
		err  error
	}{
		{"sgd lr 0", func() error { _, err := training.NewSGD(ps, ops, training.SGDConfig{}); return err }()},
		{"sgd momentum 1", func() error {
			_, err := training.NewSGD(ps, ops, training.SGDConfig{LR: 1, Momentum: 1})
			return err
		}()},
		{"sgd nesterov without momentum", func() error {
			_, err := training.NewSGD(ps, ops, training.SGDConfig{LR: 1, Nesterov: true})
			return err
		}()},
		{"sgd repeated parameter", func() error {
			_, err := training.NewSGD([]*graph.Parameter[float64]{p, p}, ops, training.SGDConfig{LR: 1})
			return err
		}()},
		{"adamw beta 1", func() error {
			c := training.DefaultAdamW(1)
			c.Beta2 = 1
			_, err := training.NewAdamW(ps, ops, c)
			return err
		}()},
		{"adamw eps 0", func() error {
			c := training.DefaultAdamW(1)
			c.Eps = 0
			_, err := training.NewAdamW(ps, ops, c)
			return err
		}()},
		{"adamw nil parameter", func() error {
			_, err := training.NewAdamW([]*graph.Parameter[float64]{nil}, ops, training.DefaultAdamW(1))
			return err
		}()},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, graph.ErrInput) {
			t.Errorf("%s: got %v, want ErrInput", tc.name, tc.err)
		}
	}
}
