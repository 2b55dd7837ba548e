package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// The com.microsoft element-wise QLinear ops on uint8 or int8 codes, with
// ONNX Runtime's arithmetic: Add and Mul in float32 from scale ratios,
// the unary ops through a 256-entry table (dequantize, apply, quantize by
// division), results rounded half to even and clamped.

func init() {
	Register(onnx.MicrosoftDomain, "QLinearAdd", 1, 0, buildQLinearBinary(false))
	Register(onnx.MicrosoftDomain, "QLinearMul", 1, 0, buildQLinearBinary(true))
	Register(onnx.MicrosoftDomain, "QLinearSigmoid", 1, 0, buildQLinearUnary(func(float32) func(float32) float32 {
		return func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
	}))
	Register(onnx.MicrosoftDomain, "QLinearLeakyRelu", 1, 0, buildQLinearUnary(func(alpha float32) func(float32) float32 {
		return func(x float32) float32 {
			if x >= 0 {
				return x
			}
			return x * alpha
		}
	}))
	Register(onnx.MicrosoftDomain, "QLinearGlobalAveragePool", 1, 0, buildQLinearGlobalAveragePool)
	Register(onnx.MicrosoftDomain, "QLinearConcat", 1, 0, buildQLinearConcat)
}

// qparam reads a per-tensor scale and zero point (zero point absent: 0)
// for data of element type dt.
func qparam(s, z tensor.Any, dt numeric.DType, what string) (float32, int32, error) {
	sv, err := scalesOf(s, 1, what+" scale")
	if err != nil {
		return 0, 0, err
	}
	zv, err := zeroPoints(z, dt, 1, what+" zero point")
	if err != nil {
		return 0, 0, err
	}
	return sv[0], zv[0], nil
}

// quantize rounds x/scale half to even, adds zp and clamps to [lo, hi].
func quantize(x, scale float32, zp, lo, hi int32) int32 {
	return int32(min(max(math.RoundToEven(float64(x/scale))+float64(zp), float64(lo)), float64(hi)))
}

func qcodes(x tensor.Any) ([]int32, error) {
	if x.DType() != numeric.Uint8 && x.DType() != numeric.Int8 {
		return nil, typeErr("element type %s, want uint8 or int8", x.DType())
	}
	c, _, err := codesOf(x, 0, 8)
	return c, err
}

func buildQLinearBinary(mul bool) BuildFunc {
	return func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 7); err != nil {
				return nil, err
			}
			if in[3] == nil {
				return nil, typeErr("B is required")
			}
			a, b := in[0], in[3]
			dt := a.DType()
			if b.DType() != dt {
				return nil, typeErr("A is %s, B %s", dt, b.DType())
			}
			lo, hi, err := quantRange(dt)
			if err != nil {
				return nil, err
			}
			sa, za, err := qparam(in[1], opt(in, 2), dt, "A")
			if err != nil {
				return nil, err
			}
			sb, zb, err := qparam(in[4], opt(in, 5), dt, "B")
			if err != nil {
				return nil, err
			}
			sc, zc, err := qparam(in[6], opt(in, 7), dt, "C")
			if err != nil {
				return nil, err
			}
			os, err := broadcastShape(a.Shape(), b.Shape())
			if err != nil {
				return nil, shapeErr("A %v and B %v do not broadcast", a.Shape(), b.Shape())
			}
			// codes of A and B as int32, the int32 result, the output
			if err := checkWork(ctx, 4*3+1, dt, os); err != nil {
				return nil, err
			}
			if au, ok := a.(*tensor.Tensor[uint8]); ok && !mul && tensor.SameShape(a.Shape(), b.Shape()) {
				// the same arithmetic as f below, without the int32 copies
				bu := b.(*tensor.Tensor[uint8]).Data()
				rac, rbc := sa/sc, sb/sc
				base := float32(zc) - (rac*float32(za) + rbc*float32(zb))
				out := newBytes(ctx, len(bu))
				// clamping to the integer bounds first rounds the same; then
				// |v| ≤ 255 and simd.AddU8 rounds to even
				flo, fhi := float32(lo), float32(hi)
				ad := au.Data()[:len(out)]
				err := workerpool.For(ctx, (len(out)+4095)/4096, 4, func(lo, hi int) {
					lo, hi = lo*4096, min(hi*4096, len(out))
					simd.AddU8(out[lo:hi], ad[lo:hi], bu[lo:hi], rac, rbc, base, flo, fhi)
				})
				if err != nil {
					return nil, err
				}
				return tensor.New(os, out)
			}
			av, err := qcodes(a)
			if err != nil {
				return nil, err
			}
			bv, err := qcodes(b)
			if err != nil {
				return nil, err
			}
			var f func(x, y int32) int32
			if mul {
				ratio := sa * sb / sc
				f = func(x, y int32) int32 {
					v := float32((x-za)*(y-zb))*ratio + float32(zc)
					return int32(min(max(math.RoundToEven(float64(v)), float64(lo)), float64(hi)))
				}
			} else {
				rac, rbc := sa/sc, sb/sc
				base := float32(zc) - (rac*float32(za) + rbc*float32(zb))
				f = func(x, y int32) int32 {
					v := rac*float32(x) + rbc*float32(y) + base
					return int32(min(max(math.RoundToEven(float64(v)), float64(lo)), float64(hi)))
				}
			}
			q := binLoop(av, bv, a.Shape(), b.Shape(), os, f)
			return quantTensor(dt, os, q)
		}), nil
	}
}

// qUnary is what a one-input QLinear op reads from its inputs X,
// x_scale, x_zero_point, y_scale, y_zero_point.
type qUnary struct {
	x      tensor.Any
	dt     numeric.DType
	lo, hi int32
	sx, sy float32
	zx, zy int32
}

// qUnaryIn checks a one-input QLinear op's inputs and reads the code range
// and the X and Y quantization parameters.
func qUnaryIn(in []tensor.Any) (qUnary, error) {
	if err := need(in, 4); err != nil {
		return qUnary{}, err
	}
	q := qUnary{x: in[0], dt: in[0].DType()}
	var err error
	if q.lo, q.hi, err = quantRange(q.dt); err != nil {
		return qUnary{}, err
	}
	if q.sx, q.zx, err = qparam(in[1], opt(in, 2), q.dt, "X"); err != nil {
		return qUnary{}, err
	}
	if q.sy, q.zy, err = qparam(in[3], opt(in, 4), q.dt, "Y"); err != nil {
		return qUnary{}, err
	}
	return q, nil
}

// buildQLinearUnary makes an op y = quantize(f(dequantize(x))) through a
// table; mk gets the node's alpha (default 0.01, used by LeakyRelu).
func buildQLinearUnary(mk func(alpha float32) func(float32) float32) BuildFunc {
	return func(n *Node) (Kernel, error) {
		alpha, err := n.Float("alpha", 0.01)
		if err != nil {
			return nil, err
		}
		f := mk(alpha)
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			qp, err := qUnaryIn(in)
			if err != nil {
				return nil, err
			}
			x, dt, lo, hi, sx, zx, sy, zy := qp.x, qp.dt, qp.lo, qp.hi, qp.sx, qp.zx, qp.sy, qp.zy
			if err := checkLike(ctx, 4+1, x); err != nil {
				return nil, err
			}
			var table [256]int32
			for c := lo; c <= hi; c++ {
				table[uint8(c)] = quantize(f(float32(c-zx)*sx), sy, zy, lo, hi)
			}
			xv, err := qcodes(x)
			if err != nil {
				return nil, err
			}
			q := make([]int32, len(xv))
			for i, c := range xv {
				q[i] = table[uint8(c)]
			}
			return quantTensor(dt, x.Shape(), q)
		}), nil
	}
}

func buildQLinearGlobalAveragePool(n *Node) (Kernel, error) {
	cl, err := n.Int("channels_last", 0)
	if err != nil {
		return nil, err
	}
	if cl != 0 && cl != 1 {
		return nil, attrErr("channels_last %d, want 0 or 1", cl)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		qp, err := qUnaryIn(in)
		if err != nil {
			return nil, err
		}
		x, dt, lo, hi, sx, zx, sy, zy := qp.x, qp.dt, qp.lo, qp.hi, qp.sx, qp.zx, qp.sy, qp.zy
		s := x.Shape()
		if len(s) < 3 {
			return nil, shapeErr("X of shape %v, want rank ≥ 3", s)
		}
		os := make([]int, len(s))
		for i := range os {
			os[i] = 1
		}
		os[0] = s[0]
		ch := 1
		if cl == 1 {
			ch = len(s) - 1
		}
		os[ch] = s[ch]
		c := s[ch]
		img := prod(s) / max(1, s[0]*c)
		if err := checkWork(ctx, 4+1, dt, os); err != nil {
			return nil, err
		}
		var sums []int32
		switch v := x.(type) {
		case *tensor.Tensor[uint8]:
			sums = poolSums(v.Data(), s[0], c, img, cl == 1)
		case *tensor.Tensor[int8]:
			sums = poolSums(v.Data(), s[0], c, img, cl == 1)
		default:
			return nil, typeErr("element type %s, want uint8 or int8", x.DType())
		}
		scale := sx / (sy * float32(img))
		q := make([]int32, len(sums))
		for i, sum := range sums {
			q[i] = requant(sum-zx*int32(img), scale, zy, lo, hi)
		}
		return quantTensor(dt, os, q)
	}), nil
}

// poolSums returns the sum of the img codes of each of the c channels of
// each of the nb images of x: [nb, c, img], or [nb, img, c] channels-last.
func poolSums[T uint8 | int8](x []T, nb, c, img int, channelsLast bool) []int32 {
	sums := make([]int32, nb*c)
	for b := range nb {
		s := sums[b*c : (b+1)*c]
		if channelsLast { // rows of c codes, one per position
			for p := range img {
				for ci, v := range x[(b*img+p)*c : (b*img+p+1)*c] {
					s[ci] += int32(v)
				}
			}
			continue
		}
		for ci := range s {
			for _, v := range x[(b*c+ci)*img : (b*c+ci+1)*img] {
				s[ci] += int32(v)
			}
		}
	}
	return sums
}

func buildQLinearConcat(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	if !n.Has("axis") {
		return nil, attrErr("attribute axis is required")
	}
	if k := n.NumInputs(); k < 5 || (k-2)%3 != 0 {
		return nil, attrErr("%d inputs, want Y_scale, Y_zero_point and triples of X, scale, zero point", k)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		k := (len(in) - 2) / 3
		if k < 1 || in[2] == nil {
			return nil, typeErr("no inputs to concatenate")
		}
		dt := in[2].DType()
		lo, hi, err := quantRange(dt)
		if err != nil {
			return nil, err
		}
		sy, zy, err := qparam(in[0], in[1], dt, "Y")
		if err != nil {
			return nil, err
		}
		s0 := in[2].Shape()
		a, err := normAxis(axis, len(s0))
		if err != nil {
			return nil, err
		}
		os := append([]int(nil), s0...)
		os[a] = 0
		parts := make([][]int32, k)
		shapes := make([][]int, k)
		for i := 0; i < k; i++ {
			x := in[2+3*i]
			if x == nil || x.DType() != dt {
				return nil, typeErr("input %d missing or not %s", 2+3*i, dt)
			}
			xs := x.Shape()
			if len(xs) != len(s0) {
				return nil, shapeErr("input %d of shape %v, input 2 %v", 2+3*i, xs, s0)
			}
			for d := range xs {
				if d != a && xs[d] != s0[d] {
					return nil, shapeErr("input %d of shape %v, input 2 %v (axis %d)", 2+3*i, xs, s0, a)
				}
			}
			os[a] += xs[a]
			sx, zx, err := qparam(in[3+3*i], in[4+3*i], dt, "X")
			if err != nil {
				return nil, err
			}
			xv, err := qcodes(x)
			if err != nil {
				return nil, err
			}
			if sx != sy || zx != zy {
				var table [256]int32
				for c := lo; c <= hi; c++ {
					table[uint8(c)] = quantize(float32(c-zx)*sx, sy, zy, lo, hi)
				}
				conv := make([]int32, len(xv))
				for j, c := range xv {
					conv[j] = table[uint8(c)]
				}
				xv = conv
			}
			parts[i], shapes[i] = xv, xs
		}
		if err := checkWork(ctx, 4+1, dt, os); err != nil {
			return nil, err
		}
		outer := prod(os[:a])
		q := make([]int32, 0, prod(os))
		for o := 0; o < outer; o++ {
			for i := range parts {
				w := prod(shapes[i][a:])
				q = append(q, parts[i][o*w:(o+1)*w]...)
			}
		}
		return quantTensor(dt, os, q)
	}), nil
}
