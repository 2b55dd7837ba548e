package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
	"github.com/zerfoo/zerfoo/tensor"
)

// The element-wise ops of this file follow the ONNX reference
// implementation (NumPy) for every element type the op allows: integers
// exactly, in their own type with wrap-around; float16 and bfloat16 in
// float32, rounded once.

// typedInput checks that a result like x fits the work limit, then returns
// the typed kernels for x, x as they compute on it, and x's element type
// (for narrow): the shared opening of Sign, Shrink and CumSum.
func typedInput(ctx context.Context, op string, x tensor.Any) (kernels, tensor.Any, numeric.DType, error) {
	if err := checkLike(ctx, workBytes(x.DType()), x); err != nil {
		return nil, nil, 0, err
	}
	k, w, dt, err := typedArgs(op, x)
	if err != nil {
		return nil, nil, 0, err
	}
	return k, w[0], dt, nil
}

func init() {
	Register("", "Sign", 9, 0, func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			k, x, dt, err := typedInput(ctx, "Sign", in[0])
			if err != nil {
				return nil, err
			}
			v, err := k.signK(x)
			return narrow(dt, v, err)
		}), nil
	})
	Register("", "IsNaN", 9, 0, func(*Node) (Kernel, error) {
		return floatPredicate(func(v float64) bool { return math.IsNaN(v) }), nil
	})
	Register("", "IsInf", 10, 0, func(n *Node) (Kernel, error) {
		pos, err := n.Int("detect_positive", 1)
		if err != nil {
			return nil, err
		}
		neg, err := n.Int("detect_negative", 1)
		if err != nil {
			return nil, err
		}
		return floatPredicate(func(v float64) bool {
			return (pos != 0 && math.IsInf(v, 1)) || (neg != 0 && math.IsInf(v, -1))
		}), nil
	})
	Register("", "Mod", 10, 0, buildMod)
	Register("", "BitShift", 11, 0, buildBitShift)
	for name, f := range logicOps {
		Register("", name, 7, 0, buildLogic(name, f))
	}
	Register("", "Sum", 1, 0, buildSumMean(false))
	Register("", "Mean", 1, 0, buildSumMean(true))
	Register("", "Clip", 1, 10, buildClip6)
	Register("", "Clip", 11, 0, buildClip)
	Register("", "CastLike", 15, 0, buildCastLike)
}

// floatPredicate is a unary float → bool op (IsNaN, IsInf).
func floatPredicate(f func(float64) bool) Kernel {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !isFloat(x.DType()) {
			return nil, typeErr("element type %s, want a float type", x.DType())
		}
		if err := checkWork(ctx, 1+workBytes(x.DType()), numeric.Uint8, x.Shape()); err != nil {
			return nil, err
		}
		out := make([]uint8, x.Size())
		if v, ok := x.(*tensor.Tensor[float64]); ok {
			for i, e := range v.Data() {
				out[i] = b2u(f(e))
			}
		} else {
			v, err := floats(x)
			if err != nil {
				return nil, err
			}
			for i, e := range v {
				out[i] = b2u(f(float64(e)))
			}
		}
		return tensor.New(x.Shape(), out)
	})
}

func (typed[T]) signK(x tensor.Any) (tensor.Any, error) {
	v := elemsOf[T](x)
	out := make([]T, len(v))
	for i, e := range v {
		switch {
		case e > 0:
			out[i] = 1
		case e < 0:
			out[i] = 0
			out[i]-- // -1 (T is signed here)
		default:
			out[i] = e // 0, -0 and NaN as they are
		}
	}
	return tensor.New(x.Shape(), out)
}

// binaryTyped checks a and b for a broadcasting binary op of one element
// type and returns the output shape, after checking its budget.
func binaryTyped(ctx context.Context, op string, a, b tensor.Any) (kernels, []tensor.Any, numeric.DType, []int, error) {
	os, err := broadcastShape(a.Shape(), b.Shape())
	if err != nil {
		return nil, nil, 0, nil, err
	}
	k, w, dt, err := typedArgs(op, a, b)
	if err != nil {
		return nil, nil, 0, nil, err
	}
	if err := checkWork(ctx, workBytes(dt), dt, os); err != nil {
		return nil, nil, 0, nil, err
	}
	return k, w, dt, os, nil
}

func buildMod(n *Node) (Kernel, error) {
	fmod, err := n.Int("fmod", 0)
	if err != nil {
		return nil, err
	}
	if fmod != 0 && fmod != 1 {
		return nil, attrErr("fmod = %d, want 0 or 1", fmod)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		k, w, dt, os, err := binaryTyped(ctx, "Mod", in[0], in[1])
		if err != nil {
			return nil, err
		}
		if isFloat(dt) && fmod == 0 {
			return nil, typeErr("Mod of %s needs fmod = 1", dt)
		}
		v, err := k.modK(w[0], w[1], os, fmod == 1)
		return narrow(dt, v, err)
	}), nil
}

// modK is C's fmod (fmod, the sign of the dividend) or Python's % (the sign
// of the divisor). An integer divisor of zero is an error.
func (typed[T]) modK(a, b tensor.Any, os []int, fmod bool) (tensor.Any, error) {
	x, y := elemsOf[T](a), elemsOf[T](b)
	if isFloatT[T]() {
		return tensor.New(os, binLoop(x, y, a.Shape(), b.Shape(), os, func(p, q T) T {
			return T(math.Mod(float64(p), float64(q)))
		}))
	}
	for _, q := range y {
		if q == 0 {
			return nil, typeErr("integer Mod by zero")
		}
	}
	return tensor.New(os, binLoop(x, y, a.Shape(), b.Shape(), os, func(p, q T) T {
		r := p - p/q*q // the sign of p (min / -1 wraps to min, r to 0)
		if !fmod && r != 0 && (r < 0) != (q < 0) {
			r += q
		}
		return r
	}))
}

func buildBitShift(n *Node) (Kernel, error) {
	dir, err := n.String("direction", "")
	if err != nil {
		return nil, err
	}
	if dir != "LEFT" && dir != "RIGHT" {
		return nil, attrErr("direction %q, want LEFT or RIGHT", dir)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		k, w, dt, os, err := binaryTyped(ctx, "BitShift", in[0], in[1])
		if err != nil {
			return nil, err
		}
		if isFloat(dt) {
			return nil, typeErr("BitShift of %s, want an unsigned integer type", dt)
		}
		return k.shiftK(w[0], w[1], os, dir == "LEFT")
	}), nil
}

// shiftK shifts the bits of unsigned integers; a shift by the width or
// more gives 0.
func (typed[T]) shiftK(a, b tensor.Any, os []int, left bool) (tensor.Any, error) {
	if isFloatT[T]() || isSignedT[T]() {
		return nil, typeErr("BitShift of %s, want an unsigned integer type", a.DType())
	}
	x, y := elemsOf[T](a), elemsOf[T](b)
	return tensor.New(os, binLoop(x, y, a.Shape(), b.Shape(), os, func(p, q T) T {
		if left {
			return T(uint64(p) << uint64(q))
		}
		return T(uint64(p) >> uint64(q))
	}))
}

var logicOps = map[string]func(a, b bool) bool{
	"And": func(a, b bool) bool { return a && b },
	"Or":  func(a, b bool) bool { return a || b },
	"Xor": func(a, b bool) bool { return a != b },
}

func buildLogic(name string, f func(a, b bool) bool) BuildFunc {
	return func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 2); err != nil {
				return nil, err
			}
			a, ok1 := in[0].(*tensor.Tensor[uint8])
			b, ok2 := in[1].(*tensor.Tensor[uint8])
			if !ok1 || !ok2 {
				return nil, typeErr("%s of %s and %s, want bool", name, in[0].DType(), in[1].DType())
			}
			os, err := broadcastShape(a.Shape(), b.Shape())
			if err != nil {
				return nil, err
			}
			if err := checkOut(ctx, numeric.Uint8, os); err != nil {
				return nil, err
			}
			return tensor.New(os, binLoop(a.Data(), b.Data(), a.Shape(), b.Shape(), os, func(p, q uint8) uint8 {
				return b2u(f(p != 0, q != 0))
			}))
		}), nil
	}
}

// buildSumMean makes Sum and Mean of one or more inputs (broadcast, as
// from opset 8; earlier opsets require equal shapes, a special case),
// added left to right in the inputs' type; Mean then divides by their
// number.
func buildSumMean(mean bool) BuildFunc {
	return func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			if err := need(in, len(in)); err != nil {
				return nil, err
			}
			if !isFloat(in[0].DType()) {
				return nil, typeErr("element type %s, want a float type", in[0].DType())
			}
			acc := in[0]
			for _, x := range in[1:] {
				var err error
				if acc, err = binaryArith(ctx, "Add", arithOps["Add"], acc, x); err != nil {
					return nil, err
				}
			}
			if !mean {
				return acc, nil
			}
			n, err := cast(tensor.Scalar(float64(len(in))), acc.DType(), false)
			if err != nil {
				return nil, err
			}
			return binaryArith(ctx, "Div", arithOps["Div"], acc, n)
		}), nil
	}
}

// buildClip6 is Clip before opset 11: the bounds are float attributes
// (opset 1 also has consumed_inputs, ignored).
func buildClip6(n *Node) (Kernel, error) {
	lo, err := n.Float("min", -math.MaxFloat32)
	if err != nil {
		return nil, err
	}
	hi, err := n.Float("max", math.MaxFloat32)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !isFloat(x.DType()) {
			return nil, typeErr("element type %s, want a float type", x.DType())
		}
		l, err := cast(tensor.Scalar(lo), x.DType(), false)
		if err != nil {
			return nil, err
		}
		h, err := cast(tensor.Scalar(hi), x.DType(), false)
		if err != nil {
			return nil, err
		}
		return clipTensor(ctx, x, l, h)
	}), nil
}

// buildClip is Clip from opset 11: the bounds are optional scalar inputs
// of the input's type.
func buildClip(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		lo, hi := opt(in, 1), opt(in, 2)
		for i, b := range []tensor.Any{lo, hi} {
			if b != nil && b.Size() != 1 {
				return nil, shapeErr("bound %d has shape %v, want a scalar", i+1, b.Shape())
			}
		}
		return clipTensor(ctx, in[0], lo, hi)
	}), nil
}

func clipTensor(ctx context.Context, x, lo, hi tensor.Any) (tensor.Any, error) {
	if err := checkLike(ctx, workBytes(x.DType()), x); err != nil {
		return nil, err
	}
	k, w, dt, err := typedArgs("Clip", x, lo, hi)
	if err != nil {
		return nil, err
	}
	v, err := k.clipK(w[0], w[1], w[2])
	return narrow(dt, v, err)
}

// clipK is min(max(x, lo), hi), NaN kept, as numpy.clip; a nil bound is
// none.
func (typed[T]) clipK(x, lo, hi tensor.Any) (tensor.Any, error) {
	v := elemsOf[T](x)
	out := make([]T, len(v))
	copy(out, v)
	if lo != nil {
		l := elemsOf[T](lo)[0]
		for i, e := range out {
			if e < l {
				out[i] = l
			}
		}
	}
	if hi != nil {
		h := elemsOf[T](hi)[0]
		for i, e := range out {
			if e > h {
				out[i] = h
			}
		}
	}
	return tensor.New(x.Shape(), out)
}

func buildCastLike(n *Node) (Kernel, error) {
	toBool := valueType(n, 1) == onnx.Bool
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		dt := in[1].DType()
		if in[0].DType() != dt || toBool {
			if err := checkWork(ctx, 2*8+dt.Size(), dt, in[0].Shape()); err != nil {
				return nil, err
			}
		}
		return cast(in[0], dt, toBool)
	}), nil
}

// valueType returns the ONNX element type of input i of n when the model
// declares it (an initializer, a graph input or output, or a value_info),
// else Undefined. It tells BOOL from UINT8, which share a Zerfoo type.
func valueType(n *Node, i int) onnx.DataType {
	if t := n.ConstType(i); t != onnx.Undefined {
		return t
	}
	if n.Model == nil || i >= n.NumInputs() {
		return onnx.Undefined
	}
	name := n.Proto.GetInput()[i]
	g := n.Model.Graph()
	for _, list := range [][]*onnxpb.ValueInfoProto{g.GetInput(), g.GetValueInfo(), g.GetOutput()} {
		for _, vi := range list {
			if vi.GetName() == name {
				if dt, _, _, err := onnx.TensorType(vi); err == nil {
					return dt
				}
			}
		}
	}
	return onnx.Undefined
}

// minMaxK is the element-wise maximum or minimum; NaN wins, as in NumPy.
func (typed[T]) minMaxK(a, b tensor.Any, os []int, isMax bool) (tensor.Any, error) {
	x, y := elemsOf[T](a), elemsOf[T](b)
	if isMax {
		return tensor.New(os, binLoop(x, y, a.Shape(), b.Shape(), os, func(p, q T) T { return max(p, q) }))
	}
	return tensor.New(os, binLoop(x, y, a.Shape(), b.Shape(), os, func(p, q T) T { return min(p, q) }))
}

// powIntK is integer a to the power integer b (b of element type int64
// here), exact with wrap-around; a negative exponent gives the truncation
// of the real power (1, -1 or 0).
func (typed[T]) powIntK(a, b tensor.Any, os []int) (tensor.Any, error) {
	x := elemsOf[T](a)
	y, err := ints(b)
	if err != nil {
		return nil, err
	}
	return tensor.New(os, binLoop2(x, y, a.Shape(), b.Shape(), os, func(p T, q int64) T {
		if q < 0 {
			return T(math.Trunc(math.Pow(float64(p), float64(q))))
		}
		r := T(1)
		for q > 0 {
			if q&1 != 0 {
				r *= p
			}
			p *= p
			q >>= 1
		}
		return r
	}))
}

// binLoop2 is binLoop for operands of different element types.
func binLoop2[A, B, U any](a []A, b []B, as, bs, os []int, f func(x A, y B) U) []U {
	out := make([]U, prod(os))
	bcastRuns(os, [][]int{as, bs}, func(o int, offs, st []int, n int) {
		for j := range n {
			out[o+j] = f(a[offs[0]+j*st[0]], b[offs[1]+j*st[1]])
		}
	})
	return out
}
