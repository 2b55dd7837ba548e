package training

import (
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
)

// CosineSchedule is a learning-rate schedule with linear warm-up followed by
// cosine decay (as in GPT-style training and Hugging Face's
// get_cosine_schedule_with_warmup with a floor). For the t-th optimizer step,
// t = 1, 2, ...:
//
//	t ≤ Warmup:          lr = Peak · t / Warmup
//	Warmup < t ≤ Total:  lr = Min + (Peak − Min) · (1 + cos(π·(t−Warmup)/(Total−Warmup))) / 2
//	t > Total:           lr = Min
//
// so the first step already has a non-zero rate, step Warmup reaches Peak and
// step Total reaches Min.
type CosineSchedule struct {
	Peak   float64 // rate at the end of warm-up
	Min    float64 // floor reached at step Total
	Warmup int     // warm-up steps (0 for none)
	Total  int     // last step of the decay
}

// Validate returns an error wrapping graph.ErrInput unless
// 0 ≤ Min ≤ Peak, Peak is finite and positive, and 0 ≤ Warmup < Total.
func (s CosineSchedule) Validate() error {
	switch {
	case !(s.Peak > 0) || math.IsInf(s.Peak, 0):
		return fmt.Errorf("training: cosine schedule: %w: peak rate %v", graph.ErrInput, s.Peak)
	case !(s.Min >= 0) || s.Min > s.Peak:
		return fmt.Errorf("training: cosine schedule: %w: minimum rate %v outside [0, peak %v]", graph.ErrInput, s.Min, s.Peak)
	case s.Warmup < 0 || s.Total <= s.Warmup:
		return fmt.Errorf("training: cosine schedule: %w: warm-up %d and total %d steps (want 0 ≤ warm-up < total)", graph.ErrInput, s.Warmup, s.Total)
	}
	return nil
}

// LR returns the learning rate of step t (1-based); t ≤ 0 is treated as
// step 0 of the warm-up (rate 0), or as step 1 without warm-up.
func (s CosineSchedule) LR(t int) float64 {
	switch {
	case s.Warmup > 0 && t <= s.Warmup:
		return s.Peak * float64(max(t, 0)) / float64(s.Warmup)
	case t <= s.Warmup:
		return s.Peak
	case t >= s.Total:
		return s.Min
	}
	p := float64(t-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + (s.Peak-s.Min)*(1+math.Cos(math.Pi*p))/2
}

// LRSetter is an optimizer whose learning rate can be changed between
// steps, which a schedule needs.
type LRSetter interface {
	SetLR(lr float64) error
	LR() float64
}

var (
	_ LRSetter = (*SGD[float32])(nil)
	_ LRSetter = (*AdamW[float32])(nil)
)

func checkLR(who string, lr float64) error {
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("training: %s: %w: learning rate %v", who, graph.ErrInput, lr)
	}
	return nil
}

// SetLR sets the learning rate used by the following steps. It returns an
// error wrapping graph.ErrInput for a negative, NaN or infinite rate (0
// is allowed: the end of a schedule whose floor is 0).
func (o *SGD[T]) SetLR(lr float64) error {
	if err := checkLR("SGD", lr); err != nil {
		return err
	}
	o.cfg.LR = lr
	return nil
}

// LR returns the current learning rate.
func (o *SGD[T]) LR() float64 { return o.cfg.LR }

// SetLR sets the learning rate used by the following steps (weight decay
// scales with it, as in torch.optim.AdamW). It returns an error wrapping
// graph.ErrInput for a negative, NaN or infinite rate (0 is allowed).
func (o *AdamW[T]) SetLR(lr float64) error {
	if err := checkLR("AdamW", lr); err != nil {
		return err
	}
	o.cfg.LR = lr
	return nil
}

// LR returns the current learning rate.
func (o *AdamW[T]) LR() float64 { return o.cfg.LR }

// Apply sets o's learning rate to the rate of step t.
func (s CosineSchedule) Apply(o LRSetter, t int) error {
	return o.SetLR(s.LR(t))
}
