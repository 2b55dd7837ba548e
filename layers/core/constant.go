package core

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Constant is the ONNX Constant operator as a graph node: it outputs a fixed
// tensor of any element type (for example the packed uint8 weights of a
// MatMulNBits node).
//
// Forward returns the stored tensor itself, not a copy, on every call: the
// caller must not modify it (or its Data), since every later Forward — and
// every goroutine running the graph — sees the same storage. Copy it first
// when a mutable tensor is needed. Forward is safe for concurrent use.
type Constant[T tensor.Numeric] struct {
	name   string
	engine compute.Engine[T]
	ops    numeric.Arithmetic[T]
	value  *tensor.Tensor[T]
}

// NewConstantFromData returns a constant of the given shape whose storage is
// data (not copied; it must not be modified afterwards). engine and ops are
// kept for the graph's benefit and may be nil: a constant computes nothing.
// It returns an error wrapping tensor.ErrShape when len(data) does not match
// shape.
func NewConstantFromData[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	shape []int, data []T) (*Constant[T], error) {
	if data == nil {
		return nil, fmt.Errorf("core: Constant %q: nil data for shape %v: %w", name, shape, tensor.ErrShape)
	}
	v, err := tensor.New(shape, data)
	if err != nil {
		return nil, fmt.Errorf("core: Constant %q: %w", name, err)
	}
	return &Constant[T]{name: name, engine: engine, ops: ops, value: v}, nil
}

// NewConstant returns a constant holding value (not copied; it must not be
// modified afterwards). It returns an error for a nil value.
func NewConstant[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	value *tensor.Tensor[T]) (*Constant[T], error) {
	if value == nil {
		return nil, fmt.Errorf("core: Constant %q: nil value: %w", name, tensor.ErrShape)
	}
	return &Constant[T]{name: name, engine: engine, ops: ops, value: value}, nil
}

// Name returns the constant's name.
func (c *Constant[T]) Name() string { return c.name }

// OpType returns "Constant".
func (c *Constant[T]) OpType() string { return "Constant" }

// Attributes returns {"value": the tensor} in a new map (the tensor is
// shared, not copied).
func (c *Constant[T]) Attributes() map[string]any { return map[string]any{"value": c.value} }

// OutputShape returns the value's shape.
func (c *Constant[T]) OutputShape() []int { return c.value.Shape() }

// Parameters returns nil: a constant has nothing to train.
func (c *Constant[T]) Parameters() []*graph.Parameter[T] { return nil }

// Forward ignores its inputs and returns the constant's tensor (shared, not
// copied: do not modify it).
func (c *Constant[T]) Forward(_ context.Context, _ ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return c.value, nil
}

// Backward returns one zero gradient per input, shaped like that input (nil
// for a nil input): the output does not depend on the inputs.
func (c *Constant[T]) Backward(_ context.Context, _ *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	grads := make([]*tensor.Tensor[T], len(inputs))
	for i, in := range inputs {
		if in == nil {
			continue
		}
		g, err := tensor.New[T](in.Shape(), nil)
		if err != nil {
			return nil, fmt.Errorf("core: Constant %q: %w", c.name, err)
		}
		grads[i] = g
	}
	return grads, nil
}

// Value returns the constant's tensor (shared: do not modify it).
func (c *Constant[T]) Value() *tensor.Tensor[T] { return c.value }

// Shape returns a copy of the value's shape.
func (c *Constant[T]) Shape() []int { return c.value.Shape() }

// DType returns the value's element type.
func (c *Constant[T]) DType() numeric.DType { return c.value.DType() }

// Size returns the number of elements of the value.
func (c *Constant[T]) Size() int { return c.value.Size() }

var (
	_ graph.Node[float32] = (*Constant[float32])(nil)
	_ graph.Node[uint8]   = (*Constant[uint8])(nil)
)
