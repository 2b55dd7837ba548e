package graph

import (
	"fmt"
	"sync"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Parameter is a trainable tensor: a name, its value and the gradient
// accumulated by Backward. Gradient accumulation is safe for concurrent
// Backward calls; optimizers update Value between steps.
//
// Who mutates what: nodes add to Gradient only through AccumulateGradient
// (under the parameter's mutex) and never write Value during Forward or
// Backward; optimizers write Value and reset Gradient through Update and
// ZeroGradient, between training steps. Reading Value from Forward while an
// optimizer runs Update is a data race the caller must avoid.
type Parameter[T tensor.Numeric] struct {
	Name     string
	Value    *tensor.Tensor[T]
	Gradient *tensor.Tensor[T]

	mu sync.Mutex
}

// NewParameter returns a parameter holding value (not copied) with a zero
// gradient of the same shape. It returns an error if value is nil.
func NewParameter[T tensor.Numeric](name string, value *tensor.Tensor[T]) (*Parameter[T], error) {
	if value == nil {
		return nil, fmt.Errorf("graph: parameter %q: nil value", name)
	}
	g, err := tensor.New[T](value.Shape(), nil)
	if err != nil {
		return nil, fmt.Errorf("graph: parameter %q: %w", name, err)
	}
	return &Parameter[T]{Name: name, Value: value, Gradient: g}, nil
}

// AccumulateGradient adds g to the parameter's gradient under its mutex,
// allocating a zero gradient first if there is none. g must have the
// value's size (its shape may differ only by reshaping); otherwise the
// error wraps tensor.ErrShape. ops is used only for element types without
// built-in arithmetic (Float16, BFloat16, the 8-bit floats) and may be nil
// otherwise. g is not retained.
func (p *Parameter[T]) AccumulateGradient(ops numeric.Arithmetic[T], g *tensor.Tensor[T]) error {
	if g == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Value != nil && g.Size() != p.Value.Size() {
		return fmt.Errorf("%w: graph: parameter %q has shape %v, gradient has shape %v", tensor.ErrShape, p.Name, p.Value.Shape(), g.Shape())
	}
	if p.Gradient == nil {
		shape := g.Shape()
		if p.Value != nil {
			shape = p.Value.Shape()
		}
		z, err := tensor.New[T](shape, nil)
		if err != nil {
			return fmt.Errorf("graph: parameter %q: %w", p.Name, err)
		}
		p.Gradient = z
	}
	if p.Gradient.Size() != g.Size() {
		return fmt.Errorf("%w: graph: parameter %q gradient has shape %v, got %v", tensor.ErrShape, p.Name, p.Gradient.Shape(), g.Shape())
	}
	if err := addInto(p.Gradient.Data(), g.Data(), ops); err != nil {
		return fmt.Errorf("graph: parameter %q: %w", p.Name, err)
	}
	return nil
}

// ZeroGradient sets the gradient to zero under the parameter's mutex,
// allocating it if there is none.
func (p *Parameter[T]) ZeroGradient() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Gradient == nil {
		if p.Value == nil {
			return
		}
		p.Gradient = tensor.Must(tensor.New[T](p.Value.Shape(), nil))
		return
	}
	clear(p.Gradient.Data())
}

// Update calls fn with the value and the gradient (which may be nil) under
// the parameter's mutex and returns fn's error. Optimizers use it to apply
// a step; fn must not retain its arguments.
func (p *Parameter[T]) Update(fn func(value, gradient *tensor.Tensor[T]) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fn(p.Value, p.Gradient)
}

// addInto sets dst[i] += src[i]. Built-in element types use native
// arithmetic; the others need ops.
func addInto[T tensor.Numeric](dst, src []T, ops numeric.Arithmetic[T]) error {
	if len(dst) != len(src) {
		return fmt.Errorf("%w: adding %d elements into %d", tensor.ErrShape, len(src), len(dst))
	}
	switch d := any(dst).(type) {
	case []float32:
		addNative(d, any(src).([]float32))
	case []float64:
		addNative(d, any(src).([]float64))
	case []int8:
		addNative(d, any(src).([]int8))
	case []uint8:
		addNative(d, any(src).([]uint8))
	case []int16:
		addNative(d, any(src).([]int16))
	case []int32:
		addNative(d, any(src).([]int32))
	case []int64:
		addNative(d, any(src).([]int64))
	default:
		if ops == nil {
			return fmt.Errorf("graph: adding %s values needs a numeric.Arithmetic, got nil", numeric.DTypeOf[T]())
		}
		for i, s := range src {
			dst[i] = ops.Add(dst[i], s)
		}
	}
	return nil
}

type native interface {
	float32 | float64 | int8 | uint8 | int16 | int32 | int64
}

func addNative[E native](dst, src []E) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
