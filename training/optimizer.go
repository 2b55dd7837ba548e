package training

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Optimizer updates parameters from their accumulated gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient. It
	// checks ctx between parameters.
	Step(ctx context.Context) error
	// ZeroGrad sets every parameter's gradient to zero.
	ZeroGrad()
}

// state is what both optimizers keep per parameter: the parameter and
// float64 moment buffers of its size.
type state[T tensor.Numeric] struct {
	p    *graph.Parameter[T]
	a, b []float64
}

func newStates[T tensor.Numeric](who string, params []*graph.Parameter[T], moments int) ([]state[T], error) {
	seen := map[*graph.Parameter[T]]bool{}
	st := make([]state[T], len(params))
	for i, p := range params {
		if p == nil || p.Value == nil {
			return nil, fmt.Errorf("training: %s: %w: parameter %d is nil or has no value", who, graph.ErrInput, i)
		}
		if seen[p] {
			return nil, fmt.Errorf("training: %s: %w: parameter %q is listed twice", who, graph.ErrInput, p.Name)
		}
		seen[p] = true
		st[i].p = p
		if moments > 0 {
			st[i].a = make([]float64, p.Value.Size())
		}
		if moments > 1 {
			st[i].b = make([]float64, p.Value.Size())
		}
	}
	return st, nil
}

// SGDConfig configures SGD. The update follows PyTorch's torch.optim.SGD
// without dampening: g ← grad + WeightDecay·w; v ← Momentum·v + g;
// w ← w − LR·(Nesterov ? g + Momentum·v : v).
type SGDConfig struct {
	LR          float64
	Momentum    float64 // 0 for plain SGD
	WeightDecay float64 // L2 penalty added to the gradient
	Nesterov    bool
}

// SGD is stochastic gradient descent with momentum. The velocity is kept in
// float64. It is not safe for concurrent use (run Step between Backward
// calls).
type SGD[T tensor.Numeric] struct {
	cfg SGDConfig
	ops numeric.Arithmetic[T]
	st  []state[T]
}

var (
	_ Optimizer = (*SGD[float32])(nil)
	_ Optimizer = (*AdamW[float32])(nil)
)

// NewSGD returns an SGD optimizer over params. It returns an error wrapping
// graph.ErrInput for a non-positive or non-finite learning rate, a momentum
// outside [0, 1), a negative weight decay, Nesterov without momentum, or a
// nil or repeated parameter. ops converts elements of T to and from
// float64.
func NewSGD[T tensor.Numeric](params []*graph.Parameter[T], ops numeric.Arithmetic[T], cfg SGDConfig) (*SGD[T], error) {
	switch {
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return nil, fmt.Errorf("training: SGD: %w: learning rate %v", graph.ErrInput, cfg.LR)
	case cfg.Momentum < 0 || cfg.Momentum >= 1:
		return nil, fmt.Errorf("training: SGD: %w: momentum %v outside [0, 1)", graph.ErrInput, cfg.Momentum)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("training: SGD: %w: weight decay %v", graph.ErrInput, cfg.WeightDecay)
	case cfg.Nesterov && cfg.Momentum == 0:
		return nil, fmt.Errorf("training: SGD: %w: Nesterov needs momentum", graph.ErrInput)
	case ops == nil:
		return nil, fmt.Errorf("training: SGD: %w: nil ops", graph.ErrInput)
	}
	st, err := newStates("SGD", params, 1)
	if err != nil {
		return nil, err
	}
	return &SGD[T]{cfg: cfg, ops: ops, st: st}, nil
}

// Step applies one SGD update.
func (o *SGD[T]) Step(ctx context.Context) error {
	c := o.cfg
	for _, s := range o.st {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.p.Update(func(value, grad *tensor.Tensor[T]) error {
			if grad == nil {
				return nil
			}
			if grad.Size() != value.Size() {
				return fmt.Errorf("training: SGD: %w: parameter %q has %d elements, its gradient %d", tensor.ErrShape, s.p.Name, value.Size(), grad.Size())
			}
			forEach(o.ops, value.Data(), grad.Data(), func(i int, w, g float64) float64 {
				g += c.WeightDecay * w
				v := c.Momentum*s.a[i] + g
				s.a[i] = v
				if c.Nesterov {
					v = g + c.Momentum*v
				}
				return w - c.LR*v
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ZeroGrad zeroes every parameter's gradient.
func (o *SGD[T]) ZeroGrad() { zeroGrad(o.st) }

// AdamWConfig configures AdamW (Loshchilov & Hutter, "Decoupled Weight
// Decay Regularization"), following torch.optim.AdamW: at step t,
//
//	w ← w − LR·WeightDecay·w
//	m ← Beta1·m + (1−Beta1)·g,   v ← Beta2·v + (1−Beta2)·g²
//	w ← w − LR·(m/(1−Beta1^t)) / (√(v/(1−Beta2^t)) + Eps)
type AdamWConfig struct {
	LR           float64
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
}

// DefaultAdamW returns the usual AdamW settings with learning rate lr:
// betas 0.9 and 0.999, eps 1e-8, weight decay 0.01.
func DefaultAdamW(lr float64) AdamWConfig {
	return AdamWConfig{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// AdamW is Adam with decoupled weight decay and bias correction. Its
// moments are kept in float64. It is not safe for concurrent use.
type AdamW[T tensor.Numeric] struct {
	cfg AdamWConfig
	ops numeric.Arithmetic[T]
	st  []state[T]
	t   int
}

// NewAdamW returns an AdamW optimizer over params. It returns an error
// wrapping graph.ErrInput for a non-positive learning rate or eps, betas
// outside [0, 1), a negative weight decay, or a nil or repeated parameter.
func NewAdamW[T tensor.Numeric](params []*graph.Parameter[T], ops numeric.Arithmetic[T], cfg AdamWConfig) (*AdamW[T], error) {
	switch {
	case !(cfg.LR > 0) || math.IsInf(cfg.LR, 0):
		return nil, fmt.Errorf("training: AdamW: %w: learning rate %v", graph.ErrInput, cfg.LR)
	case cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1:
		return nil, fmt.Errorf("training: AdamW: %w: betas %v, %v outside [0, 1)", graph.ErrInput, cfg.Beta1, cfg.Beta2)
	case !(cfg.Eps > 0):
		return nil, fmt.Errorf("training: AdamW: %w: eps %v", graph.ErrInput, cfg.Eps)
	case cfg.WeightDecay < 0:
		return nil, fmt.Errorf("training: AdamW: %w: weight decay %v", graph.ErrInput, cfg.WeightDecay)
	case ops == nil:
		return nil, fmt.Errorf("training: AdamW: %w: nil ops", graph.ErrInput)
	}
	st, err := newStates("AdamW", params, 2)
	if err != nil {
		return nil, err
	}
	return &AdamW[T]{cfg: cfg, ops: ops, st: st}, nil
}

// Step applies one AdamW update. Parameters without a gradient are left
// alone (their moments do not advance) but the step count does.
func (o *AdamW[T]) Step(ctx context.Context) error {
	o.t++
	c := o.cfg
	bc1 := 1 - math.Pow(c.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.t))
	for _, s := range o.st {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.p.Update(func(value, grad *tensor.Tensor[T]) error {
			if grad == nil {
				return nil
			}
			if grad.Size() != value.Size() {
				return fmt.Errorf("training: AdamW: %w: parameter %q has %d elements, its gradient %d", tensor.ErrShape, s.p.Name, value.Size(), grad.Size())
			}
			forEach(o.ops, value.Data(), grad.Data(), func(i int, w, g float64) float64 {
				w -= c.LR * c.WeightDecay * w
				m := c.Beta1*s.a[i] + (1-c.Beta1)*g
				v := c.Beta2*s.b[i] + (1-c.Beta2)*g*g
				s.a[i], s.b[i] = m, v
				return w - c.LR*(m/bc1)/(math.Sqrt(v/bc2)+c.Eps)
			})
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ZeroGrad zeroes every parameter's gradient.
func (o *AdamW[T]) ZeroGrad() { zeroGrad(o.st) }

// Steps returns the step count: the number of Step calls so far, counted
// from the Step of a state restored with SetState.
func (o *AdamW[T]) Steps() int { return o.t }

func zeroGrad[T tensor.Numeric](st []state[T]) {
	for _, s := range st {
		s.p.ZeroGradient()
	}
}

// forEach sets w[i] = f(i, w[i], g[i]) computing in float64, with native
// paths for float32 and float64.
func forEach[T tensor.Numeric](ops numeric.Arithmetic[T], w, g []T, f func(i int, w, g float64) float64) {
	g = g[:len(w)]
	switch wd := any(w).(type) {
	case []float32:
		gd := any(g).([]float32)
		for i := range wd {
			wd[i] = float32(f(i, float64(wd[i]), float64(gd[i])))
		}
	case []float64:
		gd := any(g).([]float64)
		for i := range wd {
			wd[i] = f(i, wd[i], gd[i])
		}
	default:
		for i := range w {
			w[i] = ops.FromFloat64(f(i, ops.ToFloat64(w[i]), ops.ToFloat64(g[i])))
		}
	}
}
