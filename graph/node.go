// Package graph wires nodes into a directed acyclic graph, runs it forward
// and differentiates it in reverse mode.
package graph

import (
	"context"

	"github.com/zerfoo/zerfoo/tensor"
)

// Node is one operation of a graph whose inputs and output have element
// type T. Layers (layers/core, ...) implement it.
type Node[T tensor.Numeric] interface {
	// OpType names the operation, e.g. "MatMulNBits" (ONNX op names where
	// one exists).
	OpType() string
	// Attributes returns the node's attributes (ONNX attribute names where
	// one exists). The map is a copy the caller may keep.
	Attributes() map[string]any
	// OutputShape returns the shape of the node's output (never the shape
	// of its weights). Dimensions that depend on an input not yet seen are -1.
	OutputShape() []int
	// Parameters returns the trainable parameters (nil if none).
	Parameters() []*Parameter[T]
	// Forward computes the output from the inputs. It must not modify the
	// inputs and must be safe for concurrent use.
	Forward(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error)
	// Backward returns the gradient of the loss with respect to each input,
	// given the gradient with respect to the output and the inputs of the
	// matching Forward call, and accumulates parameter gradients. An entry
	// may be nil for an input that has no gradient.
	Backward(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error)
}
