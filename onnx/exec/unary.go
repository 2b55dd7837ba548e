package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

const sqrt2OverPi = 0.7978845608028654 // √(2/π)

func geluTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(sqrt2OverPi*(v+0.044715*v*v*v))))
}

func geluErf(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
}

// engineFn is a float32 unary method of compute.Engine.
type engineFn = func(context.Context, *tensor.Tensor[float32], ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error)

// engineUnary are the ops f32Engine computes with the executor's semantics:
// NaN in gives NaN out, Abs and Neg only touch the sign bit, and Sqrt, Log,
// Tanh and Erf are the float64 functions rounded once to float32. Exp and
// Sigmoid use the engine's float32 exponential (within 1 ulp of math.Exp;
// NaN and the overflow range go through math.Exp).
//
// Relu has its own loop (relu32), because the engine's keeps -0 where
// ONNX's max(0, x) (and ORT's maxps) gives +0. Gelu stays off this list and
// goes through the engine's Map, because the engine's Gelu and GeluTanh return 0 at
// -Inf (the limit) where ONNX's 0.5·x·(1+erf(x/√2)) and ORT give -Inf·0 = NaN.
var engineUnary = map[string]engineFn{
	"Neg":     f32Engine.Neg,
	"Abs":     f32Engine.Abs,
	"Sqrt":    f32Engine.Sqrt,
	"Exp":     f32Engine.Exp,
	"Log":     f32Engine.Log,
	"Tanh":    f32Engine.Tanh,
	"Erf":     f32Engine.Erf,
	"Sigmoid": f32Engine.Sigmoid,
	"Relu":    relu32,
}

// relu32 is Relu over float32: max(x, 0) with +0 for ±0 and NaN kept, in
// one pass over the worker pool (the engine's Map calls a function per
// element, which made Relu a third of a CNN's run).
func relu32(ctx context.Context, x *tensor.Tensor[float32], _ ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
	src := x.Data()
	dst := make([]float32, len(src))
	if err := relu(ctx, dst, src); err != nil {
		return nil, err
	}
	return tensor.New(x.Shape(), dst)
}

// relu writes Relu(src) to dst (the same length; they may be the same
// slice) over the worker pool.
func relu(ctx context.Context, dst, src []float32) error {
	return workerpool.For(ctx, len(src), 1<<14, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		for i, v := range s {
			if !(v > 0) && v == v {
				v = 0
			}
			d[i] = v
		}
	})
}

// f64Engine runs the float64 unary ops through Map (in parallel), keeping
// their float32 evaluation.
var f64Engine = compute.NewCPUEngine[float64](numeric.Float64Ops{})

// floatUnary are the unary ops on float tensors, computed in float64 and
// rounded once to the input type. Those in engineUnary use the engine's
// kernel for float32, float16 and bfloat16; the rest go through the
// engine's Map.
var floatUnary = map[string]func(float64) float64{
	"Sqrt":       math.Sqrt,
	"Reciprocal": func(x float64) float64 { return 1 / x },
	"Exp":        math.Exp,
	"Log":        math.Log,
	"Tanh":       math.Tanh,
	"Sigmoid":    func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	"Erf":        math.Erf,
	"Sin":        math.Sin,
	"Cos":        math.Cos,
	"Tan":        math.Tan,
	"Asin":       math.Asin,
	"Acos":       math.Acos,
	"Atan":       math.Atan,
	"Sinh":       math.Sinh,
	"Cosh":       math.Cosh,
	"Asinh":      math.Asinh,
	"Acosh":      math.Acosh,
	"Atanh":      math.Atanh,
	"Floor":      math.Floor,
	"Ceil":       math.Ceil,
	"Round":      math.RoundToEven,
	"Softplus":   func(x float64) float64 { return math.Log1p(math.Exp(x)) },
	"Softsign":   func(x float64) float64 { return x / (1 + math.Abs(x)) },
}

// floatUnarySince is the first opset of the floatUnary ops newer than 1
// (the opset-1 versions of the others differ only by the ignored legacy
// attribute consumed_inputs).
var floatUnarySince = map[string]int64{
	"Sin": 7, "Cos": 7, "Tan": 7, "Asin": 7, "Acos": 7, "Atan": 7,
	"Sinh": 9, "Cosh": 9, "Asinh": 9, "Acosh": 9, "Atanh": 9, "Erf": 9,
	"Round": 11,
}

// viaF64 is f on float32: computed in float64, rounded once.
func viaF64(f func(float64) float64) func(float32) float32 {
	return func(x float32) float32 { return float32(f(float64(x))) }
}

// signedUnary work on floats and integers.
var signedUnary = map[string]struct {
	f func(float32) float32
	i func(int64) int64
}{
	"Neg": {func(x float32) float32 { return -x }, func(x int64) int64 { return -x }},
	"Abs": {func(x float32) float32 { return float32(math.Abs(float64(x))) }, func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}},
	"Relu": {func(x float32) float32 { return max(x, 0) }, func(x int64) int64 { return max(x, 0) }},
}

func init() {
	for name, f := range floatUnary {
		since := int64(1)
		if v, ok := floatUnarySince[name]; ok {
			since = v
		}
		Register("", name, since, 0, unaryBuilder(unaryOp{f: viaF64(f), d: f, eng: engineUnary[name]}))
	}
	for name, f := range signedUnary {
		Register("", name, 6, 0, unaryBuilder(unaryOp{f: f.f, eng: engineUnary[name], i: f.i}))
	}
	Register("", "Gelu", 20, 0, func(n *Node) (Kernel, error) {
		a, err := n.String("approximate", "none")
		if err != nil {
			return nil, err
		}
		switch a {
		case "none":
			return unaryKernel(unaryOp{f: geluErf}), nil
		case "tanh":
			return unaryKernel(unaryOp{f: geluTanh}), nil
		}
		return nil, attrErr("approximate %q, want none or tanh", a)
	})
	Register(onnx.MicrosoftDomain, "Gelu", 1, 0, func(*Node) (Kernel, error) { return unaryKernel(unaryOp{f: geluErf}), nil })
	Register(onnx.MicrosoftDomain, "FastGelu", 1, 0, func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if b := opt(in, 1); b != nil {
				var err error
				if x, err = binaryArith(ctx, "Add", arithOps["Add"], x, b); err != nil {
					return nil, err
				}
			}
			return unaryApply(ctx, x, unaryOp{f: geluTanh})
		}), nil
	})
	Register("", "Identity", 1, 0, func(*Node) (Kernel, error) {
		return func(_ context.Context, in []tensor.Any) ([]tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			return []tensor.Any{in[0]}, nil
		}, nil
	})
	Register("", "Cast", 6, 0, buildCast)
}

// unaryOp is a unary op: f on floats (the reference for every float type),
// eng the engine method with the same semantics on float32 (nil: the engine
// maps f), i on integers (nil: floats only), d on float64 (nil: f, via
// float32).
type unaryOp struct {
	f   func(float32) float32
	eng engineFn
	i   func(int64) int64
	d   func(float64) float64
}

func unaryBuilder(op unaryOp) BuildFunc {
	return func(*Node) (Kernel, error) { return unaryKernel(op), nil }
}

func unaryKernel(op unaryOp) Kernel {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		return unaryApply(ctx, in[0], op)
	})
}

// unaryApply runs op on x. Floats go through the engine: float16 and
// bfloat16 widened to float32 and rounded back, float64 through op.d (or,
// without one, rounded to float32 for f and widened back).
func unaryApply(ctx context.Context, x tensor.Any, op unaryOp) (tensor.Any, error) {
	dt := x.DType()
	if err := checkLike(ctx, workBytes(dt), x); err != nil {
		return nil, err
	}
	if !isFloat(dt) {
		if op.i == nil {
			return nil, typeErr("element type %s, want a float type", dt)
		}
		v, err := ints(x)
		if err != nil {
			return nil, err
		}
		out := make([]int64, len(v))
		for k, e := range v {
			out[k] = op.i(e)
		}
		return intsAs(dt, x.Shape(), out)
	}
	if dt == numeric.Float64 {
		if op.d != nil {
			return f64Engine.Map(ctx, x.(*tensor.Tensor[float64]), op.d)
		}
		f := op.f
		return f64Engine.Map(ctx, x.(*tensor.Tensor[float64]), func(v float64) float64 { return float64(f(float32(v))) })
	}
	v, err := floats(x)
	if err != nil {
		return nil, err
	}
	xt, err := tensor.New(x.Shape(), v)
	if err != nil {
		return nil, err
	}
	var r *tensor.Tensor[float32]
	if op.eng != nil {
		r, err = op.eng(ctx, xt)
	} else {
		r, err = f32Engine.Map(ctx, xt, op.f)
	}
	if err != nil {
		return nil, err
	}
	return fromFloats(dt, x.Shape(), r.Data())
}

func buildCast(n *Node) (Kernel, error) {
	to, err := n.Int("to", 0)
	if err != nil {
		return nil, err
	}
	odt := onnx.DataType(to)
	dt, err := dtypeOf(odt)
	if err != nil {
		return nil, attrErr("to = %d: %v", to, err)
	}
	toBool := odt == onnx.Bool
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		if in[0].DType() != dt || toBool {
			// the int64 or float64 form and the output
			if err := checkWork(ctx, 2*8+dt.Size(), dt, in[0].Shape()); err != nil {
				return nil, err
			}
		}
		return cast(in[0], dt, toBool)
	}), nil
}

// cast converts x to element type dt (to 0/1 when toBool). Floats become
// integers by truncation toward zero, as a C cast does.
func cast(x tensor.Any, dt numeric.DType, toBool bool) (tensor.Any, error) {
	shape := x.Shape()
	if x.DType() == dt && !toBool {
		return x, nil
	}
	if dt == numeric.String || x.DType() == numeric.String {
		return castStrings(x, dt, toBool)
	}
	if !isFloat(x.DType()) {
		v, err := ints(x)
		if err != nil {
			return nil, err
		}
		if toBool {
			out := make([]uint8, len(v))
			for i, e := range v {
				out[i] = b2u(e != 0)
			}
			return tensor.New(shape, out)
		}
		if isFloat(dt) {
			if x.DType() == numeric.Uint64 { // v holds the bits (see ints)
				u := convSlice[int64, uint64](v)
				if dt == numeric.Float64 {
					return tensor.New(shape, convSlice[uint64, float64](u))
				}
				return fromFloats(dt, shape, convSlice[uint64, float32](u))
			}
			if dt == numeric.Float64 {
				return tensor.New(shape, convSlice[int64, float64](v))
			}
			return fromFloats(dt, shape, convSlice[int64, float32](v))
		}
		return intsAs(dt, shape, v)
	}
	var f []float64
	if x.DType() == numeric.Float64 {
		f = x.(*tensor.Tensor[float64]).Data()
	} else {
		v, err := floats(x)
		if err != nil {
			return nil, err
		}
		if isFloat(dt) && dt != numeric.Float64 {
			return fromFloats(dt, shape, append([]float32(nil), v...))
		}
		f = convSlice[float32, float64](v)
	}
	switch {
	case toBool:
		out := make([]uint8, len(f))
		for i, e := range f {
			out[i] = b2u(e != 0)
		}
		return tensor.New(shape, out)
	case dt == numeric.Float64:
		return tensor.New(shape, append([]float64(nil), f...))
	case isFloat(dt):
		return fromFloats(dt, shape, convSlice[float64, float32](f))
	}
	iv := make([]int64, len(f))
	for i, e := range f {
		switch {
		case dt == numeric.Uint64 && e >= 1<<63 && e < 1<<64:
			iv[i] = int64(uint64(e)) // the bits, as intsAs expects
		case !math.IsNaN(e) && e > -9.3e18 && e < 9.3e18:
			iv[i] = int64(e)
		}
	}
	return intsAs(dt, shape, iv)
}
