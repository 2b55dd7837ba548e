package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// arith is a binary arithmetic op for each family of element types.
type arith struct {
	f32 func(a, b float32) float32
	f64 func(a, b float64) float64
	i64 func(a, b int64) int64
	div bool // integer division: a zero divisor is an error
}

var arithOps = map[string]arith{
	"Add": {func(a, b float32) float32 { return a + b }, func(a, b float64) float64 { return a + b }, func(a, b int64) int64 { return a + b }, false},
	"Sub": {func(a, b float32) float32 { return a - b }, func(a, b float64) float64 { return a - b }, func(a, b int64) int64 { return a - b }, false},
	"Mul": {func(a, b float32) float32 { return a * b }, func(a, b float64) float64 { return a * b }, func(a, b int64) int64 { return a * b }, false},
	"Div": {func(a, b float32) float32 { return a / b }, func(a, b float64) float64 { return a / b }, func(a, b int64) int64 { return a / b }, true},
	"Pow": {powf32, math.Pow, func(a, b int64) int64 { return int64(math.Pow(float64(a), float64(b))) }, false},
	"Max": {func(a, b float32) float32 { return max(a, b) }, math.Max, func(a, b int64) int64 { return max(a, b) }, false},
	"Min": {func(a, b float32) float32 { return min(a, b) }, math.Min, func(a, b int64) int64 { return min(a, b) }, false},
}

// f32Engine does the float32 (and float16/bfloat16, widened) arithmetic the
// engine implements, so the executor shares its broadcasting, vectorized
// loops and worker pool instead of running a second implementation.
var f32Engine = compute.NewCPUEngine[float32](numeric.Float32Ops{})

// f32EngineOps are the float32 binary ops the engine has. Max and Min (and
// the comparisons) keep binLoop: compute.Engine has no elementwise max, min
// or compare, and integers keep ONNX's wrap-around arithmetic, which differs
// from numeric's saturating integer ops.
var f32EngineOps = map[string]func(context.Context, *tensor.Tensor[float32], *tensor.Tensor[float32], ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error){
	"Add": f32Engine.Add,
	"Sub": f32Engine.Sub,
	"Mul": f32Engine.Mul,
	"Div": f32Engine.Div,
	"Pow": f32Engine.Pow,
}

func powf32(a, b float32) float32 {
	switch b {
	case 2:
		return a * a
	case 0.5:
		return float32(math.Sqrt(float64(a)))
	case 1:
		return a
	}
	return float32(math.Pow(float64(a), float64(b)))
}

func init() {
	for name, op := range arithOps {
		Register("", name, 7, 0, buildArith(name, op))
	}
	for name, cmp := range compareOps {
		Register("", name, 7, 0, buildCompare(cmp))
	}
	Register("", "Where", 9, 0, func(*Node) (Kernel, error) { return one(where), nil })
	Register("", "Not", 1, 0, func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			b, ok := in[0].(*tensor.Tensor[uint8])
			if !ok {
				return nil, typeErr("Not of %s, want bool", in[0].DType())
			}
			if err := checkLike(ctx, 1, b); err != nil {
				return nil, err
			}
			d := make([]uint8, b.Size())
			for i, v := range b.Data() {
				if v == 0 {
					d[i] = 1
				}
			}
			return tensor.New(b.Shape(), d)
		}), nil
	})
}

func buildArith(name string, op arith) BuildFunc {
	return func(n *Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if (name == "Max" || name == "Min") && len(in) == 1 && in[0] != nil {
				return in[0], nil
			}
			if err := need(in, 2); err != nil {
				return nil, err
			}
			acc, err := binaryArith(ctx, name, op, in[0], in[1])
			for _, x := range in[2:] { // Max and Min are variadic
				if err != nil || x == nil {
					break
				}
				acc, err = binaryArith(ctx, name, op, acc, x)
			}
			return acc, err
		}), nil
	}
}

func binaryArith(ctx context.Context, name string, op arith, a, b tensor.Any) (tensor.Any, error) {
	as, bs := a.Shape(), b.Shape()
	os, err := broadcastShape(as, bs)
	if err != nil {
		return nil, err
	}
	dt := a.DType()
	if name == "Pow" && !isFloat(dt) {
		return powInt(ctx, a, b, os)
	}
	if (name == "Max" || name == "Min") && !isFloat(dt) {
		k, w, _, os, err := binaryTyped(ctx, name, a, b)
		if err != nil {
			return nil, err
		}
		return k.minMaxK(w[0], w[1], os, name == "Max")
	}
	if dt != b.DType() && !(name == "Pow" && isFloat(dt)) {
		return nil, typeErr("%s of %s and %s: element types differ", name, dt, b.DType())
	}
	if err := checkWork(ctx, workBytes(dt), dt, os); err != nil {
		return nil, err
	}
	switch dt {
	case numeric.Float32, numeric.Float16Type, numeric.BFloat16Type:
		x, err := floats(a)
		if err != nil {
			return nil, err
		}
		y, err := floats(b)
		if err != nil {
			return nil, err
		}
		if f, ok := f32EngineOps[name]; ok {
			xt, err := tensor.New(as, x)
			if err != nil {
				return nil, err
			}
			yt, err := tensor.New(bs, y)
			if err != nil {
				return nil, err
			}
			r, err := f(ctx, xt, yt)
			if err != nil {
				return nil, err
			}
			return fromFloats(dt, os, r.Data())
		}
		return fromFloats(dt, os, binLoop(x, y, as, bs, os, op.f32))
	case numeric.Float64:
		x := a.(*tensor.Tensor[float64]).Data()
		y, ok := b.(*tensor.Tensor[float64])
		if !ok {
			f, err := floats(b)
			if err != nil {
				return nil, err
			}
			return tensor.New(os, binLoop(x, convSlice[float32, float64](f), as, bs, os, op.f64))
		}
		return tensor.New(os, binLoop(x, y.Data(), as, bs, os, op.f64))
	}
	x, err := ints(a)
	if err != nil {
		return nil, err
	}
	y, err := ints(b)
	if err != nil {
		return nil, err
	}
	if op.div {
		for _, v := range y {
			if v == 0 {
				return nil, typeErr("integer division by zero")
			}
		}
	}
	if dt == numeric.Uint64 {
		return binaryUint64(name, op, x, y, as, bs, os)
	}
	r := binLoop(x, y, as, bs, os, op.i64)
	return intsAs(dt, os, r)
}

// workBytes is what an elementwise op of element type dt needs per output
// element: the output and the float32 (float64, int64) form it is computed
// in, inputs converted to that form included.
func workBytes(dt numeric.DType) int {
	switch dt {
	case numeric.Float32, numeric.Float64:
		return dt.Size()
	case numeric.Float16Type, numeric.BFloat16Type:
		return 3*4 + dt.Size()
	}
	return 3*8 + dt.Size()
}

// intsAs converts int64 values to integer element type dt.
func intsAs(dt numeric.DType, shape []int, r []int64) (tensor.Any, error) {
	switch dt {
	case numeric.Int64:
		return tensor.New(shape, r)
	case numeric.Int32:
		return tensor.New(shape, convSlice[int64, int32](r))
	case numeric.Int16:
		return tensor.New(shape, convSlice[int64, int16](r))
	case numeric.Int8:
		return tensor.New(shape, convSlice[int64, int8](r))
	case numeric.Uint8:
		return tensor.New(shape, convSlice[int64, uint8](r))
	case numeric.Uint16:
		return tensor.New(shape, convSlice[int64, uint16](r))
	case numeric.Uint32:
		return tensor.New(shape, convSlice[int64, uint32](r))
	case numeric.Uint64:
		return tensor.New(shape, convSlice[int64, uint64](r))
	}
	return nil, typeErr("element type %s is not supported", dt)
}

type compare struct {
	f func(a, b float64) bool
	i func(a, b int64) bool
}

var compareOps = map[string]compare{
	"Equal":          {func(a, b float64) bool { return a == b }, func(a, b int64) bool { return a == b }},
	"Less":           {func(a, b float64) bool { return a < b }, func(a, b int64) bool { return a < b }},
	"Greater":        {func(a, b float64) bool { return a > b }, func(a, b int64) bool { return a > b }},
	"LessOrEqual":    {func(a, b float64) bool { return a <= b }, func(a, b int64) bool { return a <= b }},
	"GreaterOrEqual": {func(a, b float64) bool { return a >= b }, func(a, b int64) bool { return a >= b }},
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func buildCompare(c compare) BuildFunc {
	return func(n *Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if a.DType() != b.DType() {
				return nil, typeErr("element types %s and %s differ", a.DType(), b.DType())
			}
			as, bs := a.Shape(), b.Shape()
			os, err := broadcastShape(as, bs)
			if err != nil {
				return nil, err
			}
			if err := checkWork(ctx, 1+workBytes(a.DType()), numeric.Uint8, os); err != nil {
				return nil, err
			}
			if isFloat(a.DType()) {
				x, err := floats(a)
				if err != nil {
					return nil, err
				}
				y, err := floats(b)
				if err != nil {
					return nil, err
				}
				return tensor.New(os, binLoop(x, y, as, bs, os, func(p, q float32) uint8 { return b2u(c.f(float64(p), float64(q))) }))
			}
			x, err := ints(a)
			if err != nil {
				return nil, err
			}
			y, err := ints(b)
			if err != nil {
				return nil, err
			}
			if a.DType() == numeric.Uint64 {
				flipSign(x)
				flipSign(y)
			}
			return tensor.New(os, binLoop(x, y, as, bs, os, func(p, q int64) uint8 { return b2u(c.i(p, q)) }))
		}), nil
	}
}

func where(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
	if err := need(in, 3); err != nil {
		return nil, err
	}
	c, ok := in[0].(*tensor.Tensor[uint8])
	if !ok {
		return nil, typeErr("condition has element type %s, want bool", in[0].DType())
	}
	os, err := broadcastShape(c.Shape(), in[1].Shape(), in[2].Shape())
	if err != nil {
		return nil, err
	}
	if err := checkWork(ctx, 3*8+in[1].DType().Size(), in[1].DType(), os); err != nil { // three index tables
		return nil, err
	}
	ic, ix, iy := bcastIndex(c.Shape(), os), bcastIndex(in[1].Shape(), os), bcastIndex(in[2].Shape(), os)
	cd := c.Data()
	return move(ctx, in[1:3], os, func(emit func(int, int, int)) {
		for i := range ic {
			if cd[ic[i]] != 0 {
				emit(0, ix[i], 1)
			} else {
				emit(1, iy[i], 1)
			}
		}
	})
}

// powInt is Pow of an integer base: to an integer exponent exactly (with
// wrap-around), to a float one in float64, truncated to the base's type as
// the reference's astype does.
func powInt(ctx context.Context, a, b tensor.Any, os []int) (tensor.Any, error) {
	dt := a.DType()
	if err := checkWork(ctx, workBytes(dt), dt, os); err != nil {
		return nil, err
	}
	k, ok := kernelsOf[dt]
	if !ok {
		return nil, typeErr("Pow of %s is not supported", dt)
	}
	if !isFloat(b.DType()) {
		return k.powIntK(a, b, os)
	}
	x, err := cast(a, numeric.Float64, false)
	if err != nil {
		return nil, err
	}
	y, err := cast(b, numeric.Float64, false)
	if err != nil {
		return nil, err
	}
	p := binLoop(x.(*tensor.Tensor[float64]).Data(), y.(*tensor.Tensor[float64]).Data(), a.Shape(), b.Shape(), os, math.Pow)
	pt, err := tensor.New(os, p)
	if err != nil {
		return nil, err
	}
	return cast(pt, dt, false)
}
