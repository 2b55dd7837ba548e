package compute

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/tensor"
)

// unOp names an elementwise unary operation.
type unOp uint8

const (
	opNeg unOp = iota
	opAbs
	opExp
	opLog
	opSqrt
	opRsqrt
	opTanh
	opErf
	opSigmoid
	opGelu
	opGeluTanh
	opSilu
	opRelu
)

var unOpNames = [...]string{
	opNeg: "Neg", opAbs: "Abs", opExp: "Exp", opLog: "Log", opSqrt: "Sqrt", opRsqrt: "Rsqrt",
	opTanh: "Tanh", opErf: "Erf", opSigmoid: "Sigmoid", opGelu: "Gelu", opGeluTanh: "GeluTanh",
	opSilu: "Silu", opRelu: "Relu",
}

// unKernel computes dst[i] = f(a[i]) for one run (len(a) == len(dst)).
type unKernel[T any] func(dst, a []T)

// Neg returns -a elementwise. dst may be a.
func (e *CPUEngine[T]) Neg(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opNeg, a, dst)
}

// Abs returns |a| elementwise.
func (e *CPUEngine[T]) Abs(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opAbs, a, dst)
}

// Exp returns e^a elementwise.
func (e *CPUEngine[T]) Exp(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opExp, a, dst)
}

// Log returns the natural logarithm of a elementwise.
func (e *CPUEngine[T]) Log(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opLog, a, dst)
}

// Sqrt returns the square root of a elementwise.
func (e *CPUEngine[T]) Sqrt(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opSqrt, a, dst)
}

// Rsqrt returns 1/sqrt(a) elementwise.
func (e *CPUEngine[T]) Rsqrt(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opRsqrt, a, dst)
}

// Tanh returns tanh(a) elementwise.
func (e *CPUEngine[T]) Tanh(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opTanh, a, dst)
}

// Erf returns the error function of a elementwise.
func (e *CPUEngine[T]) Erf(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opErf, a, dst)
}

// Sigmoid returns 1/(1+e^-a) elementwise.
func (e *CPUEngine[T]) Sigmoid(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opSigmoid, a, dst)
}

// Gelu returns the exact GELU 0.5·x·(1+erf(x/√2)) elementwise.
func (e *CPUEngine[T]) Gelu(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opGelu, a, dst)
}

// GeluTanh returns the tanh approximation of GELU,
// 0.5·x·(1+tanh(√(2/π)·(x+0.044715x³))), elementwise.
func (e *CPUEngine[T]) GeluTanh(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opGeluTanh, a, dst)
}

// Silu returns x·sigmoid(x) elementwise.
func (e *CPUEngine[T]) Silu(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opSilu, a, dst)
}

// Relu returns max(x, 0) elementwise (NaN stays NaN).
func (e *CPUEngine[T]) Relu(ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.unary(ctx, opRelu, a, dst)
}

// Map applies fn to every element of a. fn may be called concurrently from
// several goroutines and in any order, so it must be a pure function of its
// argument (or otherwise safe for concurrent use).
func (e *CPUEngine[T]) Map(ctx context.Context, a *tensor.Tensor[T], fn func(T) T, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if fn == nil {
		return nil, shapeErr("Map", "nil function")
	}
	return e.runUnary(ctx, "Map", a, dst, 8, func(d, x []T) {
		for i := range d {
			d[i] = fn(x[i])
		}
	})
}

// unary runs op over a with the kernel for T.
func (e *CPUEngine[T]) unary(ctx context.Context, op unOp, a *tensor.Tensor[T], dst []*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	cost := 8 // transcendental functions
	switch op {
	case opNeg, opAbs, opRelu:
		cost = 1
	}
	return e.runUnary(ctx, unOpNames[op], a, dst, cost, e.unKernel(op))
}

// runUnary checks a and dst and runs kern over a's elements in parallel.
func (e *CPUEngine[T]) runUnary(ctx context.Context, name string, a *tensor.Tensor[T], dst []*tensor.Tensor[T], cost int, kern unKernel[T]) (*tensor.Tensor[T], error) {
	if err := notNil(name, a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := output(name, a.Shape(), dst)
	if err != nil {
		return nil, err
	}
	od, ad := out.Data(), a.Data()
	if err := parallel(ctx, len(od), max(1, grainMem/cost), cost, func(lo, hi int) {
		kern(od[lo:hi], ad[lo:hi])
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// unKernel returns the kernel for op on T: native loops for float32 and
// float64; ops calls (or float64 math rounded to T) otherwise.
func (e *CPUEngine[T]) unKernel(op unOp) unKernel[T] {
	switch e.kind {
	case kindFloat32:
		if k := float32Unary(op); k != nil {
			return any(k).(unKernel[T])
		}
		return any(nativeUnary[float32](op)).(unKernel[T])
	case kindFloat64:
		return any(nativeUnary[float64](op)).(unKernel[T])
	}
	ops := e.ops
	var f func(T) T
	switch op {
	case opNeg:
		f = ops.Neg
	case opAbs:
		f = ops.Abs
	case opExp:
		f = ops.Exp
	case opLog:
		f = ops.Log
	case opSqrt:
		f = ops.Sqrt
	case opTanh:
		f = ops.Tanh
	case opSigmoid:
		f = ops.Sigmoid
	case opRelu:
		zero := ops.Zero()
		f = func(x T) T {
			if ops.Less(x, zero) {
				return zero
			}
			return x
		}
	default:
		g := float64Func(op)
		f = func(x T) T { return ops.FromFloat64(g(ops.ToFloat64(x))) }
	}
	return func(dst, a []T) {
		for i := range dst {
			dst[i] = f(a[i])
		}
	}
}

// nativeUnary returns the kernel for op on a native float type; the
// transcendental functions are evaluated in float64 and rounded once.
func nativeUnary[F float](op unOp) unKernel[F] {
	switch op {
	case opNeg:
		return func(dst, a []F) {
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = -a[i]
			}
		}
	case opAbs:
		return func(dst, a []F) {
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = F(math.Abs(float64(a[i])))
			}
		}
	case opRelu:
		return func(dst, a []F) {
			a = a[:len(dst)]
			for i := range dst {
				x := a[i]
				if x < 0 {
					x = 0
				}
				dst[i] = x
			}
		}
	case opSqrt:
		return func(dst, a []F) {
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = F(math.Sqrt(float64(a[i])))
			}
		}
	}
	g := float64Func(op)
	return func(dst, a []F) {
		a = a[:len(dst)]
		for i := range dst {
			dst[i] = F(g(float64(a[i])))
		}
	}
}

// float64Func returns the float64 reference function for op.
func float64Func(op unOp) func(float64) float64 {
	switch op {
	case opNeg:
		return func(x float64) float64 { return -x }
	case opAbs:
		return math.Abs
	case opExp:
		return math.Exp
	case opLog:
		return math.Log
	case opSqrt:
		return math.Sqrt
	case opRsqrt:
		return func(x float64) float64 { return 1 / math.Sqrt(x) }
	case opTanh:
		return math.Tanh
	case opErf:
		return math.Erf
	case opSigmoid:
		return sigmoid64
	case opGelu:
		return gelu64
	case opGeluTanh:
		return geluTanh64
	case opSilu:
		return silu64
	case opRelu:
		return func(x float64) float64 {
			if x < 0 {
				return 0
			}
			return x
		}
	}
	panic("compute: unknown unary op")
}

func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	z := math.Exp(x)
	return z / (1 + z)
}

// silu64, gelu64 and geluTanh64 return 0 at -Inf (the limit) rather than
// the NaN of -Inf·0.
func silu64(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	return x * sigmoid64(x)
}

func gelu64(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
}

// sqrt2OverPi is √(2/π).
const sqrt2OverPi = 0.7978845608028654

// geluTanh64 uses 0.5·(1+tanh(u)) = sigmoid(2u), which avoids the slower
// math.Tanh and the cancellation of 1+tanh(u) for negative u.
func geluTanh64(x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	return x * sigmoid64(2*sqrt2OverPi*(x+0.044715*x*x*x))
}

// float32Unary returns float32 kernels built on exp32, or nil for ops that
// use the float64 path.
func float32Unary(op unOp) unKernel[float32] {
	switch op {
	case opExp:
		return func(dst, a []float32) {
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = exp32(a[i])
			}
		}
	case opSigmoid:
		return func(dst, a []float32) {
			a = a[:len(dst)]
			for i := range dst {
				dst[i] = sigmoid32(a[i])
			}
		}
	case opSilu:
		return func(dst, a []float32) {
			a = a[:len(dst)]
			for i := range dst {
				x := a[i]
				if x < -math.MaxFloat32 { // -Inf: the limit 0, not -Inf·0 = NaN
					dst[i] = 0
					continue
				}
				dst[i] = x * sigmoid32(x)
			}
		}
	}
	return nil
}

// sigmoid32 returns 1/(1+e^-x) without overflow for either sign.
func sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + exp32(-x))
	}
	z := exp32(x)
	return z / (1 + z)
}

// exp32 returns e^x for float32 x within 1 ulp (checked against math.Exp by
// TestExp32): simd.Exp, the exponential the quantized executor's softmax
// kernels share with compute's, so both give the same bits.
func exp32(x float32) float32 { return simd.Exp(x) }
