package training

import (
	"errors"
	"math"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestCosineSchedule checks hand values: Peak 1, Min 0.1, 4 warm-up steps,
// 12 total, so the decay spans 8 steps: step 8 is halfway (0.55), step 6 a
// quarter ((1+cos(π/4))/2 = 0.853553…·0.9 + 0.1).
func TestCosineSchedule(t *testing.T) {
	s := CosineSchedule{Peak: 1, Min: 0.1, Warmup: 4, Total: 12}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		t    int
		want float64
	}{
		{0, 0}, {1, 0.25}, {2, 0.5}, {4, 1},
		{6, 0.1 + 0.9*(1+math.Sqrt2/2)/2},
		{8, 0.55},
		{10, 0.1 + 0.9*(1-math.Sqrt2/2)/2},
		{12, 0.1}, {100, 0.1},
	}
	for _, c := range cases {
		if got := s.LR(c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LR(%d): got %v, want %v", c.t, got, c.want)
		}
	}
	noWarm := CosineSchedule{Peak: 2, Min: 0, Warmup: 0, Total: 4}
	for _, c := range []struct {
		t    int
		want float64
	}{{0, 2}, {1, 1 + math.Sqrt2/2}, {2, 1}, {4, 0}} {
		if got := noWarm.LR(c.t); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("no warm-up LR(%d): got %v, want %v", c.t, got, c.want)
		}
	}
	for _, bad := range []CosineSchedule{
		{Peak: 0, Total: 10}, {Peak: 1, Min: 2, Total: 10}, {Peak: 1, Min: -1, Total: 10},
		{Peak: 1, Warmup: 10, Total: 10}, {Peak: 1, Warmup: -1, Total: 10}, {Peak: math.Inf(1), Total: 10},
	} {
		if err := bad.Validate(); !errors.Is(err, graph.ErrInput) {
			t.Errorf("Validate(%+v): got %v, want graph.ErrInput", bad, err)
		}
	}
}

// TestScheduleDrivesOptimizer checks that SetLR changes the step: SGD on
// w with gradient 1 moves w by exactly the scheduled rate each step.
func TestScheduleDrivesOptimizer(t *testing.T) {
	p, _ := graph.NewParameter("w", tensor.Must(tensor.New([]int{1}, []float64{0})))
	opt, err := NewSGD([]*graph.Parameter[float64]{p}, numeric.Float64Ops{}, SGDConfig{LR: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := CosineSchedule{Peak: 1, Min: 0, Warmup: 2, Total: 4}
	want := 0.0
	for step := 1; step <= 5; step++ {
		if err := s.Apply(opt, step); err != nil {
			t.Fatal(err)
		}
		if opt.LR() != s.LR(step) {
			t.Errorf("step %d: LR() %v, want %v", step, opt.LR(), s.LR(step))
		}
		p.Gradient.Data()[0] = 1
		if err := opt.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		want -= s.LR(step)
		if got := p.Value.Data()[0]; math.Abs(got-want) > 1e-15 {
			t.Errorf("step %d: w = %v, want %v", step, got, want)
		}
	}
	// Rates 0.5, 1, 0.5, 0, 0: w = −2.
	if got := p.Value.Data()[0]; math.Abs(got+2) > 1e-15 {
		t.Errorf("after 5 steps: w = %v, want −2", got)
	}
	adam, _ := NewAdamW([]*graph.Parameter[float64]{p}, numeric.Float64Ops{}, DefaultAdamW(0.1))
	if err := adam.SetLR(-1); !errors.Is(err, graph.ErrInput) {
		t.Errorf("AdamW.SetLR(-1): got %v, want graph.ErrInput", err)
	}
	if err := adam.SetLR(0.25); err != nil || adam.LR() != 0.25 {
		t.Errorf("AdamW.SetLR(0.25): err %v, LR %v", err, adam.LR())
	}
}
