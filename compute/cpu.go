package compute

import (
	"context"
	"fmt"
	"strings"

	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// CPUEngine is the Engine that runs on the CPU, spreading large operations
// over the process-wide worker pool (one goroutine per GOMAXPROCS).
//
// For float32 and float64 the kernels use Go's built-in arithmetic in tight
// loops (IEEE 754, the same results Float32Ops and Float64Ops give) and call
// ops only for Ops; float32 MatMul runs on the blocked GEMM in
// internal/gemm. For every other element type each element goes through ops,
// so integer overflow and division by zero behave as that Arithmetic
// documents. Functions that Arithmetic lacks (Pow, Rsqrt, Erf, GELU, SiLU,
// Softmax, Mean) are computed in float64 through ops.ToFloat64 and
// ops.FromFloat64 and rounded once to T. Reductions over the half-precision
// and 8-bit float types accumulate in float64; MatMul over them accumulates
// in float32.
//
// A CPUEngine has no mutable state and is safe for concurrent use.
type CPUEngine[T tensor.Numeric] struct {
	ops  numeric.Arithmetic[T]
	kind kind
}

// kind groups element types by how the engine computes with them.
type kind uint8

const (
	kindInt     kind = iota // integers: element math goes through ops
	kindFloat32             // native float32 fast paths
	kindFloat64             // native float64 fast paths
	kindReduced             // Float16, BFloat16, Float8*: math in float32/float64, rounded to T
)

// Compile-time checks that CPUEngine implements Engine for every element type.
var (
	_ Engine[float32]              = (*CPUEngine[float32])(nil)
	_ Engine[float64]              = (*CPUEngine[float64])(nil)
	_ Engine[numeric.Float16]      = (*CPUEngine[numeric.Float16])(nil)
	_ Engine[numeric.BFloat16]     = (*CPUEngine[numeric.BFloat16])(nil)
	_ Engine[numeric.Float8E4M3FN] = (*CPUEngine[numeric.Float8E4M3FN])(nil)
	_ Engine[numeric.Float8E5M2]   = (*CPUEngine[numeric.Float8E5M2])(nil)
	_ Engine[int8]                 = (*CPUEngine[int8])(nil)
	_ Engine[uint8]                = (*CPUEngine[uint8])(nil)
	_ Engine[int16]                = (*CPUEngine[int16])(nil)
	_ Engine[int32]                = (*CPUEngine[int32])(nil)
	_ Engine[int64]                = (*CPUEngine[int64])(nil)
)

// NewCPUEngine returns a CPU engine for element type T that uses ops for
// element arithmetic. ops must not be nil.
func NewCPUEngine[T tensor.Numeric](ops numeric.Arithmetic[T]) *CPUEngine[T] {
	e := &CPUEngine[T]{ops: ops}
	switch numeric.DTypeOf[T]() {
	case numeric.Float32:
		e.kind = kindFloat32
	case numeric.Float64:
		e.kind = kindFloat64
	case numeric.Float16Type, numeric.BFloat16Type, numeric.Float8E4M3FNType, numeric.Float8E5M2Type:
		e.kind = kindReduced
	default:
		e.kind = kindInt
	}
	return e
}

// Ops returns the element arithmetic the engine was built with.
func (e *CPUEngine[T]) Ops() numeric.Arithmetic[T] { return e.ops }

// OpError is the error an engine operation returns for bad input. It
// unwraps to tensor.ErrShape or tensor.ErrIndex, so callers test it with
// errors.Is.
type OpError struct {
	Op     string  // the operation, such as "Add" or "MatMul"
	Shapes [][]int // the shapes of the operands involved
	Msg    string  // what is wrong
	Err    error   // tensor.ErrShape or tensor.ErrIndex
}

// Error formats e as "compute: Op [shapes]: message".
func (e *OpError) Error() string {
	var b strings.Builder
	b.WriteString("compute: ")
	b.WriteString(e.Op)
	for i, s := range e.Shapes {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, s)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel (tensor.ErrShape or tensor.ErrIndex).
func (e *OpError) Unwrap() error { return e.Err }

// shapeErr returns an OpError wrapping tensor.ErrShape.
func shapeErr(op, msg string, shapes ...[]int) error {
	return &OpError{Op: op, Shapes: shapes, Msg: msg, Err: tensor.ErrShape}
}

// indexErr returns an OpError wrapping tensor.ErrIndex.
func indexErr(op, msg string, shapes ...[]int) error {
	return &OpError{Op: op, Shapes: shapes, Msg: msg, Err: tensor.ErrIndex}
}

// notNil returns an error if any of ts is nil.
func notNil[T tensor.Numeric](op string, ts ...*tensor.Tensor[T]) error {
	for i, t := range ts {
		if t == nil {
			return shapeErr(op, fmt.Sprintf("operand %d is a nil tensor", i))
		}
	}
	return nil
}

// output returns the optional destination dst[0] after checking that its
// shape is shape, or a new zeroed tensor of that shape. A nil dst[0] counts as
// absent.
func output[T tensor.Numeric](op string, shape []int, dst []*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if len(dst) > 1 {
		return nil, shapeErr(op, fmt.Sprintf("%d destinations given, want at most 1", len(dst)))
	}
	if len(dst) == 1 && dst[0] != nil {
		if !tensor.SameShape(dst[0].Shape(), shape) {
			return nil, shapeErr(op, fmt.Sprintf("destination shape %v, want %v", dst[0].Shape(), shape))
		}
		return dst[0], nil
	}
	t, err := tensor.New[T](shape, nil)
	if err != nil {
		return nil, &OpError{Op: op, Shapes: [][]int{shape}, Msg: err.Error(), Err: tensor.ErrShape}
	}
	return t, nil
}

// normAxis maps a possibly negative axis to [0, rank) or returns an error.
func normAxis(op string, axis, rank int, shape []int) (int, error) {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, indexErr(op, fmt.Sprintf("axis %d out of range for rank %d", axis, rank), shape)
	}
	return a, nil
}

// Grain sizes: the smallest amount of work worth handing to another worker.
const (
	grainMem     = 16 << 10 // elements, memory-bound loops (copy, add)
	grainCompute = 4 << 10  // elements, loops that call exp/erf/tanh per element
	ctxBlock     = 64 << 10 // elements processed between context checks inside a chunk
)

// parallel runs fn over [0, n) in chunks of at least grain on the worker
// pool. Inside each chunk it checks ctx every ~ctxBlock units of work (cost
// is the work per unit in elements) so cancellation stops long loops. It
// returns ctx.Err() if ctx was cancelled.
func parallel(ctx context.Context, n, grain, cost int, fn func(lo, hi int)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	if cost < 1 {
		cost = 1
	}
	step := max(1, ctxBlock/cost)
	err := workerpool.For(ctx, n, grain, func(lo, hi int) {
		for s := lo; s < hi; s += step {
			if ctx.Err() != nil {
				return
			}
			fn(s, min(s+step, hi))
		}
	})
	if err != nil {
		return err
	}
	return ctx.Err()
}

// rowGrain returns how many rows of rowLen elements make one chunk of about
// elems elements.
func rowGrain(rowLen, elems int) int {
	if rowLen <= 0 {
		return elems
	}
	return max(1, elems/rowLen)
}

// product returns the product of dims (1 for none).
func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
