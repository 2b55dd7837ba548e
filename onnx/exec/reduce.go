package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

type reducer struct {
	init  float64
	f     func(acc, x float64) float64
	mean  bool
	since int64 // opset from which axes is an input
	// eng is the engine's reduction with the same semantics on float32
	// (float64 accumulation, one rounding), used when the reduced axes are
	// adjacent (they become one axis). It needs at least one element per
	// lane (the engine rejects an empty Mean or Max axis; the loop gives NaN
	// and -Inf as ONNX does) except for Sum.
	eng       engineReduce
	emptyOK   bool
	zeroFixup bool // make a -0 maximum +0 when the lane holds a +0 (math.Max)
	// post maps a lane's accumulator to its result (nil: as it is).
	post func(float64) float64
	// shift: the accumulator sees x minus the lane's maximum, which post
	// gets back as its second argument (ReduceLogSumExp, for range).
	shift bool
	// i accumulates integers exactly, with wrap-around, from 0 (Sum,
	// SumSquare, L1) or 1 (Prod); ext: Max or Min, in the input's type.
	// Other integer reductions go through float64 and truncate.
	i   func(acc, x int64) int64
	ext bool
}

// engineReduce is a float32 reduction method of compute.Engine.
type engineReduce = func(context.Context, *tensor.Tensor[float32], int, bool, ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error)

// reduceOps are the reductions. ReduceSum, ReduceMean and ReduceMax on
// floats go through the engine (see reducer.eng); ReduceMean there scales by
// 1/n where the loop divides by n (both in float64 before the rounding to
// float32, so at most a last-bit difference in float32). The engine has no
// Min, Prod or SumSquare (Sum of Mul would round x² to float32 before
// accumulating), so those keep the loop, as do non-adjacent axes and
// integers (exact int64 sums, truncation of float means).
var reduceOps = map[string]reducer{
	"ReduceSum":       {init: 0, f: add, since: 13, eng: f32Engine.Sum, emptyOK: true, i: func(a, x int64) int64 { return a + x }},
	"ReduceMean":      {init: 0, f: add, mean: true, since: 18, eng: f32Engine.Mean},
	"ReduceMax":       {init: math.Inf(-1), f: math.Max, since: 18, eng: f32Engine.Max, zeroFixup: true, ext: true},
	"ReduceMin":       {init: math.Inf(1), f: math.Min, since: 18, ext: true},
	"ReduceProd":      {init: 1, f: func(a, x float64) float64 { return a * x }, since: 18, i: func(a, x int64) int64 { return a * x }},
	"ReduceSumSquare": {init: 0, f: func(a, x float64) float64 { return a + x*x }, since: 18, i: func(a, x int64) int64 { return a + x*x }},
	"ReduceL1":        {init: 0, f: func(a, x float64) float64 { return a + math.Abs(x) }, since: 18, i: func(a, x int64) int64 { return a + max(x, -x) }},
	"ReduceL2":        {init: 0, f: func(a, x float64) float64 { return a + x*x }, since: 18, post: math.Sqrt},
	"ReduceLogSum":    {init: 0, f: add, since: 18, post: math.Log},
	"ReduceLogSumExp": {init: 0, f: func(a, x float64) float64 { return a + math.Exp(x) }, since: 18, post: math.Log, shift: true},
}

func add(a, x float64) float64 { return a + x }

func init() {
	for name, r := range reduceOps {
		Register("", name, 1, 0, buildReduce(r))
	}
	Register("", "Softmax", 1, 0, buildSoftmax(false))
	Register("", "LogSoftmax", 1, 0, buildSoftmax(true))
}

func buildReduce(r reducer) BuildFunc {
	return func(n *Node) (Kernel, error) {
		keep, err := n.Int("keepdims", 1)
		if err != nil {
			return nil, err
		}
		noop, err := n.Int("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		axesOf := axesArg(n, r.since, "axes")
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			axes, err := axesOf(in)
			if err != nil {
				return nil, err
			}
			x := in[0]
			s := x.Shape()
			if len(axes) == 0 && noop != 0 {
				return x, nil
			}
			// the input as float32 or int64, its output index, the
			// accumulators
			if err := checkLike(ctx, 3*8, x); err != nil {
				return nil, err
			}
			red := make([]bool, len(s))
			for _, a := range axes {
				i, err := normAxis(a, len(s))
				if err != nil {
					return nil, err
				}
				red[i] = true
			}
			if len(axes) == 0 {
				for i := range red {
					red[i] = true
				}
			}
			ks := make([]int, len(s)) // keepdims shape
			var os []int
			for i, d := range s {
				ks[i] = d
				if red[i] {
					ks[i] = 1
					if keep != 0 {
						os = append(os, 1)
					}
				} else {
					os = append(os, d)
				}
			}
			if r.eng != nil && isFloat(x.DType()) && x.DType() != numeric.Float64 {
				lo, hi, ok := adjacent(red)
				if n := prod(s[lo:hi]); ok && (n > 0 || r.emptyOK) {
					return engineReduceApply(ctx, r, x, []int{prod(s[:lo]), n, prod(s[hi:])}, os)
				}
			}
			oi := bcastIndex(ks, s)
			count := float64(x.Size() / max(1, prod(ks)))
			acc := make([]float64, prod(ks))
			for i := range acc {
				acc[i] = r.init
			}
			if isFloat(x.DType()) {
				var v []float64
				if d, ok := x.(*tensor.Tensor[float64]); ok {
					v = d.Data()
				} else {
					f, err := floats(x)
					if err != nil {
						return nil, err
					}
					v = convSlice[float32, float64](f)
				}
				res := reduceLoop(r, v, oi, acc, count)
				if x.DType() == numeric.Float64 {
					return tensor.New(os, res)
				}
				return fromFloats(x.DType(), os, convSlice[float64, float32](res))
			}
			if r.ext {
				if x.Size() == 0 && len(acc) > 0 {
					return nil, shapeErr("%s over an empty axis of %v", n.Proto.GetOpType(), s)
				}
				k, ok := kernelsOf[x.DType()]
				if !ok {
					return nil, typeErr("element type %s is not supported", x.DType())
				}
				return k.extremaK(x, oi, len(acc), os, n.Proto.GetOpType() == "ReduceMax")
			}
			v, err := ints(x)
			if err != nil {
				return nil, err
			}
			if r.i != nil {
				iacc := make([]int64, len(acc))
				if r.init == 1 {
					for i := range iacc {
						iacc[i] = 1
					}
				}
				for i, e := range v {
					iacc[oi[i]] = r.i(iacc[oi[i]], e)
				}
				return intsAs(x.DType(), os, iacc)
			}
			res := reduceLoop(r, convSlice[int64, float64](v), oi, acc, count)
			out := make([]int64, len(res))
			for i, a := range res {
				out[i] = int64(a)
			}
			return intsAs(x.DType(), os, out)
		}), nil
	}
}

// extremaK is the maximum (minimum) of the elements of x going to each of
// the n outputs (element i to oi[i]), in T: exact for every integer.
func (typed[T]) extremaK(x tensor.Any, oi []int, n int, os []int, isMax bool) (tensor.Any, error) {
	out := make([]T, n)
	seen := make([]bool, n)
	for i, e := range elemsOf[T](x) {
		o := oi[i]
		switch {
		case !seen[o]:
			out[o], seen[o] = e, true
		case isMax:
			out[o] = max(out[o], e)
		default:
			out[o] = min(out[o], e)
		}
	}
	return tensor.New(os, out)
}

// reduceLoop reduces v into acc (initialized to r.init), element i into
// acc[oi[i]], and returns the lanes' results, acc itself.
func reduceLoop(r reducer, v []float64, oi []int, acc []float64, count float64) []float64 {
	var shift []float64
	if r.shift {
		shift = make([]float64, len(acc))
		for i := range shift {
			shift[i] = math.Inf(-1)
		}
		for i, e := range v {
			shift[oi[i]] = max(shift[oi[i]], e)
		}
		for i, m := range shift {
			if math.IsInf(m, 0) || math.IsNaN(m) {
				shift[i] = 0 // a lane of infinities (or none): nothing to gain
			}
		}
	}
	for i, e := range v {
		if shift != nil {
			e -= shift[oi[i]]
		}
		acc[oi[i]] = r.f(acc[oi[i]], e)
	}
	for i, a := range acc {
		if r.mean {
			a /= count
		}
		if r.post != nil {
			a = r.post(a)
		}
		if shift != nil {
			a += shift[i]
		}
		acc[i] = a
	}
	return acc
}

// adjacent returns the range [lo, hi) of the reduced axes and whether they
// are adjacent (no reduced axis: lo = hi = 0).
func adjacent(red []bool) (lo, hi int, ok bool) {
	lo = -1
	for i, r := range red {
		if r {
			if lo < 0 {
				lo = i
			} else if !red[i-1] {
				return 0, 0, false
			}
			hi = i + 1
		}
	}
	return max(lo, 0), hi, true
}

// engineReduceApply reduces float tensor x, viewed as lanes [outer, n,
// inner], along n with r.eng and returns it with shape os in x's type.
func engineReduceApply(ctx context.Context, r reducer, x tensor.Any, lanes, os []int) (tensor.Any, error) {
	v, err := floats(x)
	if err != nil {
		return nil, err
	}
	xt, err := tensor.New(lanes, v)
	if err != nil {
		return nil, err
	}
	res, err := r.eng(ctx, xt, 1, false)
	if err != nil {
		return nil, err
	}
	out := res.Data()
	if r.zeroFixup {
		// The engine keeps the first of equal zeros; math.Max (the loop,
		// and IEEE 754-2019 maximum) prefers +0.
		n, inner := lanes[1], lanes[2]
		for i, m := range out {
			if m != 0 || !math.Signbit(float64(m)) {
				continue
			}
			o, j := i/inner, i%inner
			for k := 0; k < n; k++ {
				if e := v[(o*n+k)*inner+j]; e == 0 && !math.Signbit(float64(e)) {
					out[i] = 0
					break
				}
			}
		}
	}
	return fromFloats(x.DType(), os, out)
}

// softmaxAxis reads the axis attribute of Softmax, LogSoftmax and Hardmax:
// default 1 before opset 13 (the axis the input is coerced to 2-D at), -1
// from 13 on (the lane's one axis).
func softmaxAxis(n *Node) (int64, error) {
	def := int64(-1)
	if n.Opset < 13 {
		def = 1
	}
	return n.Int("axis", def)
}

// buildSoftmax makes Softmax and LogSoftmax, computed by the engine on a
// [outer, dim, inner] view: before opset 13 the input is coerced to 2-D at
// axis (dim is the product of axes axis..r-1), from 13 on dim is axis alone.
// A scalar is one lane of one element. NaN (and a lane of -Inf, whose max
// minus itself is NaN) gives NaN throughout the lane, as the formula does.
func buildSoftmax(logSoftmax bool) BuildFunc {
	return func(n *Node) (Kernel, error) {
		axis, err := softmaxAxis(n)
		if err != nil {
			return nil, err
		}
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			s := x.Shape()
			if !isFloat(x.DType()) {
				return nil, typeErr("Softmax of %s", x.DType())
			}
			if err := checkLike(ctx, workBytes(x.DType()), x); err != nil {
				return nil, err
			}
			a, err := normAxis(axis, max(len(s), 1))
			if err != nil {
				return nil, err
			}
			v, err := floats(x)
			if err != nil {
				return nil, err
			}
			var outer, dim, inner int
			if n.Opset < 13 {
				outer, dim, inner = prod(s[:a]), prod(s[a:]), 1
			} else if len(s) == 0 {
				outer, dim, inner = 1, 1, 1
			} else {
				outer, dim, inner = axisLanes(s, a)
			}
			xt, err := tensor.New([]int{outer, dim, inner}, v)
			if err != nil {
				return nil, err
			}
			var r *tensor.Tensor[float32]
			if logSoftmax {
				r, err = f32Engine.LogSoftmax(ctx, xt, 1)
			} else {
				r, err = f32Engine.Softmax(ctx, xt, 1)
			}
			if err != nil {
				return nil, err
			}
			return fromFloats(x.DType(), s, r.Data())
		}), nil
	}
}
