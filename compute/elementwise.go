package compute

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/tensor"
)

// binOp names an elementwise binary operation.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opPow
)

var binOpNames = [...]string{opAdd: "Add", opSub: "Sub", opMul: "Mul", opDiv: "Div", opPow: "Pow"}

// Add returns a + b elementwise with NumPy broadcasting. dst may be a or b
// when that operand already has the result shape.
func (e *CPUEngine[T]) Add(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opAdd, a, b, dst)
}

// Sub returns a - b elementwise with NumPy broadcasting.
func (e *CPUEngine[T]) Sub(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opSub, a, b, dst)
}

// Mul returns a * b elementwise with NumPy broadcasting.
func (e *CPUEngine[T]) Mul(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opMul, a, b, dst)
}

// Div returns a / b elementwise with NumPy broadcasting. Division by zero
// follows IEEE 754 for floats and the Arithmetic's definition for integers.
func (e *CPUEngine[T]) Div(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opDiv, a, b, dst)
}

// Pow returns a raised to b elementwise with NumPy broadcasting, computed
// with math.Pow in float64 and rounded to T (for integers, as
// ops.FromFloat64 rounds and saturates).
func (e *CPUEngine[T]) Pow(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opPow, a, b, dst)
}

// AddScalar returns a + s elementwise.
func (e *CPUEngine[T]) AddScalar(ctx context.Context, a *tensor.Tensor[T], s T, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opAdd, a, tensor.Scalar(s), dst)
}

// MulScalar returns a * s elementwise.
func (e *CPUEngine[T]) MulScalar(ctx context.Context, a *tensor.Tensor[T], s T, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.binary(ctx, opMul, a, tensor.Scalar(s), dst)
}

// binary checks shapes, picks the kernel for T and runs it with broadcasting.
func (e *CPUEngine[T]) binary(ctx context.Context, op binOp, a, b *tensor.Tensor[T], dst []*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	name := binOpNames[op]
	if err := notNil(name, a, b); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), b.Shape()
	outShape, err := broadcastOp(name, as, bs)
	if err != nil {
		return nil, err
	}
	out, err := output(name, outShape, dst)
	if err != nil {
		return nil, err
	}
	cost := 1
	if op == opPow || e.kind == kindInt || e.kind == kindReduced {
		cost = 4
	}
	if err := runBroadcast(ctx, outShape, as, bs, out.Data(), a.Data(), b.Data(), cost, e.binKernel(op)); err != nil {
		return nil, err
	}
	return out, nil
}

// binKernel returns the run kernel for op on T: native loops for float32
// and float64, ops calls otherwise.
func (e *CPUEngine[T]) binKernel(op binOp) binKernel[T] {
	switch e.kind {
	case kindFloat32:
		return any(nativeBinary[float32](op)).(binKernel[T])
	case kindFloat64:
		return any(nativeBinary[float64](op)).(binKernel[T])
	}
	ops := e.ops
	var f func(x, y T) T
	switch op {
	case opAdd:
		f = ops.Add
	case opSub:
		f = ops.Sub
	case opMul:
		f = ops.Mul
	case opDiv:
		f = ops.Div
	case opPow:
		f = func(x, y T) T { return ops.FromFloat64(math.Pow(ops.ToFloat64(x), ops.ToFloat64(y))) }
	}
	return func(dst, a, b []T) {
		sa, sb := 1, 1
		if len(a) == 1 {
			sa = 0
		}
		if len(b) == 1 {
			sb = 0
		}
		for i := range dst {
			dst[i] = f(a[i*sa], b[i*sb])
		}
	}
}

// float is the set of element types with native fast paths.
type float interface{ ~float32 | ~float64 }

// nativeBinary returns the run kernel for op on a native float type.
func nativeBinary[F float](op binOp) binKernel[F] {
	switch op {
	case opAdd:
		return addRun[F]
	case opSub:
		return subRun[F]
	case opMul:
		return mulRun[F]
	case opDiv:
		return divRun[F]
	}
	return powRun[F]
}

func addRun[F float](dst, a, b []F) {
	switch {
	case len(b) == 1:
		s := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = a[i] + s
		}
	case len(a) == 1:
		s := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = s + b[i]
		}
	default:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	}
}

func subRun[F float](dst, a, b []F) {
	switch {
	case len(b) == 1:
		s := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = a[i] - s
		}
	case len(a) == 1:
		s := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = s - b[i]
		}
	default:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	}
}

func mulRun[F float](dst, a, b []F) {
	switch {
	case len(b) == 1:
		s := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = a[i] * s
		}
	case len(a) == 1:
		s := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = s * b[i]
		}
	default:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	}
}

func divRun[F float](dst, a, b []F) {
	switch {
	case len(b) == 1:
		s := b[0]
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = a[i] / s
		}
	case len(a) == 1:
		s := a[0]
		b = b[:len(dst)]
		for i := range dst {
			dst[i] = s / b[i]
		}
	default:
		a, b = a[:len(dst)], b[:len(dst)]
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

func powRun[F float](dst, a, b []F) {
	sa, sb := 1, 1
	if len(a) == 1 {
		sa = 0
	}
	if len(b) == 1 {
		sb = 0
	}
	for i := range dst {
		dst[i] = F(math.Pow(float64(a[i*sa]), float64(b[i*sb])))
	}
}
