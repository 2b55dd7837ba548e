package training

import (
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
)

// AdamWState is the resumable state of an AdamW optimizer: the number of
// steps taken and, per parameter in the order given to NewAdamW, the first
// (M) and second (V) moments, as the float64 values AdamW keeps. Restoring
// it with SetState into an optimizer over the same parameters (and the
// same weights) continues training bit for bit as if it had not stopped.
// The learning rate and the other settings are not part of the state.
type AdamWState struct {
	Step int
	M, V [][]float64
}

// State returns a copy of o's step count and moments.
func (o *AdamW[T]) State() AdamWState {
	s := AdamWState{Step: o.t, M: make([][]float64, len(o.st)), V: make([][]float64, len(o.st))}
	for i, p := range o.st {
		s.M[i] = append([]float64(nil), p.a...)
		s.V[i] = append([]float64(nil), p.b...)
	}
	return s
}

// SetState replaces o's step count and moments with copies of s's. It
// returns an error wrapping graph.ErrInput, leaving o unchanged, if s has
// a negative step, a different number of parameters, a moment whose
// length differs from its parameter's size, a non-finite value, or a
// negative second moment.
func (o *AdamW[T]) SetState(s AdamWState) error {
	if s.Step < 0 {
		return fmt.Errorf("training: AdamW.SetState: %w: step %d is negative", graph.ErrInput, s.Step)
	}
	if len(s.M) != len(o.st) || len(s.V) != len(o.st) {
		return fmt.Errorf("training: AdamW.SetState: %w: state holds %d first and %d second moments, the optimizer has %d parameters",
			graph.ErrInput, len(s.M), len(s.V), len(o.st))
	}
	for i, p := range o.st {
		for _, mo := range []struct {
			name string
			x    []float64
		}{{"first", s.M[i]}, {"second", s.V[i]}} {
			if len(mo.x) != len(p.a) {
				return fmt.Errorf("training: AdamW.SetState: %w: parameter %d (%q): %s moment has %d values, want %d",
					graph.ErrInput, i, p.p.Name, mo.name, len(mo.x), len(p.a))
			}
			for j, x := range mo.x {
				if math.IsNaN(x) || math.IsInf(x, 0) || (mo.name == "second" && x < 0) {
					return fmt.Errorf("training: AdamW.SetState: %w: parameter %d (%q): %s moment [%d] is %v",
						graph.ErrInput, i, p.p.Name, mo.name, j, x)
				}
			}
		}
	}
	for i, p := range o.st {
		copy(p.a, s.M[i])
		copy(p.b, s.V[i])
	}
	o.t = s.Step
	return nil
}
