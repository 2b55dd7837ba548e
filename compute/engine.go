// Package compute defines Engine, the one interface through which layers and
// graphs do tensor math, and its CPU implementation.
//
// Every operation takes a context first and returns an error for bad shapes,
// axes or lengths (wrapping tensor.ErrShape or tensor.ErrIndex) instead of
// panicking. Long operations check the context between chunks of work and
// return ctx.Err() when it is cancelled.
//
// Most operations accept an optional destination as their last argument. When
// given, the result is written into it (its shape must equal the result
// shape) and it is returned; otherwise a new tensor is allocated. A
// destination may be one of the inputs (the very same tensor, not an
// overlapping view) only for elementwise operations and Softmax/LogSoftmax.
package compute

import (
	"context"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// tt is shorthand for the tensor pointer type in the declarations below.
type tt[T tensor.Numeric] = *tensor.Tensor[T]

// Arithmetic is elementwise binary math with NumPy broadcasting.
type Arithmetic[T tensor.Numeric] interface {
	Add(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	Sub(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	Mul(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	Div(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	Pow(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	// AddScalar returns a + s elementwise.
	AddScalar(ctx context.Context, a tt[T], s T, dst ...tt[T]) (tt[T], error)
	// MulScalar returns a * s elementwise.
	MulScalar(ctx context.Context, a tt[T], s T, dst ...tt[T]) (tt[T], error)
}

// Unary is elementwise unary math.
type Unary[T tensor.Numeric] interface {
	Neg(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Abs(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Exp(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Log(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Sqrt(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// Rsqrt returns 1/sqrt(a).
	Rsqrt(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Tanh(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Erf(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	Sigmoid(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// Gelu is the exact GELU, x·Φ(x) = 0.5·x·(1+erf(x/√2)).
	Gelu(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// GeluTanh is the tanh approximation 0.5·x·(1+tanh(√(2/π)·(x+0.044715x³))).
	GeluTanh(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// Silu is x·sigmoid(x).
	Silu(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// Relu is max(x, 0).
	Relu(ctx context.Context, a tt[T], dst ...tt[T]) (tt[T], error)
	// Map applies fn to every element (a slow, general path).
	Map(ctx context.Context, a tt[T], fn func(T) T, dst ...tt[T]) (tt[T], error)
}

// Reducer reduces along one axis. Negative axes count from the end. With
// keepDims the reduced axis stays with size 1.
type Reducer[T tensor.Numeric] interface {
	Sum(ctx context.Context, a tt[T], axis int, keepDims bool, dst ...tt[T]) (tt[T], error)
	Mean(ctx context.Context, a tt[T], axis int, keepDims bool, dst ...tt[T]) (tt[T], error)
	Max(ctx context.Context, a tt[T], axis int, keepDims bool, dst ...tt[T]) (tt[T], error)
	// ArgMax returns the index of the first maximum along axis.
	ArgMax(ctx context.Context, a tt[T], axis int, keepDims bool) (*tensor.Tensor[int64], error)
	// Softmax is exp(x - max) / sum(exp(x - max)) along axis.
	Softmax(ctx context.Context, a tt[T], axis int, dst ...tt[T]) (tt[T], error)
	// LogSoftmax is x - max - log(sum(exp(x - max))) along axis.
	LogSoftmax(ctx context.Context, a tt[T], axis int, dst ...tt[T]) (tt[T], error)
}

// Linear is matrix multiplication and axis permutation.
type Linear[T tensor.Numeric] interface {
	// MatMul multiplies the last two axes of a [..., m, k] and b [..., k, n],
	// broadcasting the leading (batch) axes as NumPy matmul does. Rank-1
	// operands are promoted as in NumPy (and the added axis removed).
	MatMul(ctx context.Context, a, b tt[T], dst ...tt[T]) (tt[T], error)
	// Transpose permutes axes; perm nil reverses them.
	Transpose(ctx context.Context, a tt[T], perm []int, dst ...tt[T]) (tt[T], error)
}

// Shaper moves, joins and splits data.
type Shaper[T tensor.Numeric] interface {
	// Gather takes slices of params along axis at the given indices
	// (ONNX Gather; negative indices count from the end). The result shape
	// is params.shape[:axis] + indices.shape + params.shape[axis+1:].
	Gather(ctx context.Context, params tt[T], indices *tensor.Tensor[int64], axis int, dst ...tt[T]) (tt[T], error)
	// ScatterAdd adds the rows of updates into dst along axis 0 at indices:
	// dst[indices[i], ...] += updates[i, ...]. It is the adjoint of Gather on
	// axis 0; repeated indices accumulate.
	ScatterAdd(ctx context.Context, dst tt[T], indices *tensor.Tensor[int64], updates tt[T]) error
	// Concat joins tensors along axis; all other axes must match.
	Concat(ctx context.Context, ts []tt[T], axis int, dst ...tt[T]) (tt[T], error)
	// Split cuts a along axis into pieces of the given sizes (summing to the
	// axis length).
	Split(ctx context.Context, a tt[T], axis int, sizes []int) ([]tt[T], error)
	// Slice copies a[starts[i]:ends[i]] on every axis (steps of 1).
	Slice(ctx context.Context, a tt[T], starts, ends []int, dst ...tt[T]) (tt[T], error)
	// Fill sets every element of t to v.
	Fill(ctx context.Context, t tt[T], v T) error
	// Copy copies src into dst; their sizes must match (shapes may differ).
	Copy(ctx context.Context, dst, src tt[T]) error
	// Zero sets every element of t to zero.
	Zero(ctx context.Context, t tt[T]) error
}

// Engine is everything layers need from a compute backend.
type Engine[T tensor.Numeric] interface {
	// Ops returns the element arithmetic the engine was built with.
	Ops() numeric.Arithmetic[T]
	Arithmetic[T]
	Unary[T]
	Reducer[T]
	Linear[T]
	Shaper[T]
}
