package graph

import (
	"context"

	"github.com/zerfoo/zerfoo/numeric"
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

// MixedNode is a node whose inputs have several element types and whose
// output has element type T, such as MatMulNBits (float32 activations, uint8
// packed weights) or a cross-entropy loss (float logits, int64 class
// targets). Inputs arrive dtype-erased; the node asserts them to the types
// it expects and returns an error wrapping ErrDType otherwise.
type MixedNode[T tensor.Numeric] interface {
	// OpType, Attributes, OutputShape and Parameters are as for Node.
	OpType() string
	Attributes() map[string]any
	OutputShape() []int
	Parameters() []*Parameter[T]
	// ForwardAny computes the output from the inputs. It must not modify
	// the inputs and must be safe for concurrent use.
	ForwardAny(ctx context.Context, inputs ...tensor.Any) (*tensor.Tensor[T], error)
	// BackwardAny returns one gradient per input given the gradient of the
	// output and the inputs of the matching ForwardAny call, and accumulates
	// parameter gradients. Entries for inputs whose element type is not T
	// (and for any input without a gradient) are nil.
	BackwardAny(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...tensor.Any) ([]*tensor.Tensor[T], error)
}

// ShapeInferer is implemented by nodes whose output shape depends on their
// input shapes. When a node implements it, Builder.Build calls it with the
// static shapes of the node's inputs (dimensions of -1 are dynamic; a nil
// shape means even the rank is unknown) instead of using OutputShape, so
// mismatched shapes between nodes are reported at build time. InferShape
// returns an error wrapping tensor.ErrShape for incompatible inputs.
type ShapeInferer interface {
	InferShape(inputShapes ...[]int) ([]int, error)
}

// InputTyper is implemented by MixedNodes that declare the element type of
// each input, so Builder.Build can check the producers. An entry of
// numeric.Invalid accepts any element type.
type InputTyper interface {
	InputDTypes() []numeric.DType
}
