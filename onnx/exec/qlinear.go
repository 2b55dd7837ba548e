package exec

import (
	"context"
	"math"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "DynamicQuantizeLinear", 11, 0, buildDynamicQuantizeLinear)
	Register("", "MatMulInteger", 10, 0, buildMatMulInteger)
	Register("", "QLinearMatMul", 10, 0, buildQLinearMatMul)
	Register(onnx.MicrosoftDomain, "MatMulIntegerToFloat", 1, 0, buildMatMulIntegerToFloat)
	Register(onnx.MicrosoftDomain, "DynamicQuantizeMatMul", 1, 0, buildDynamicQuantizeMatMul)
	Register(onnx.MicrosoftDomain, "QGemm", 1, 0, buildQGemm)
}

// dynQuant computes DynamicQuantizeLinear's parameters for x as ONNX
// Runtime does: the range [min(0, min x), max(0, max x)], scale =
// range/255 (1 when the range is empty), zero point = round(−min/scale)
// clamped to [0, 255]; NaNs are ignored by the range. Long inputs are
// scanned in parallel.
func dynQuant(ctx context.Context, x []float32) (scale float32, zp int32, err error) {
	lo, hi, err := minMax(ctx, x)
	if err != nil || hi == lo {
		return 1, 0, err
	}
	scale = (hi - lo) / 255
	z := min(max(0-lo/scale, 0), 255)
	return scale, int32(math.RoundToEven(float64(z))), nil
}

// minMax is simd.MinMax of x, in parallel for long inputs: the range of
// each chunk, then the least and greatest of those.
func minMax(ctx context.Context, x []float32) (lo, hi float32, err error) {
	const grain = 1 << 15
	if len(x) < 2*grain {
		lo, hi = simd.MinMax(x)
		return lo, hi, nil
	}
	var mu sync.Mutex
	err = workerpool.For(ctx, len(x), grain, func(a, b int) {
		l, h := simd.MinMax(x[a:b])
		mu.Lock()
		lo, hi = min(lo, l), max(hi, h)
		mu.Unlock()
	})
	return lo, hi, err
}

// quantizeU8 writes clamp(round(x/scale) + zp) to q (division, as ONNX
// Runtime's MlasQuantizeLinear does), in parallel for long inputs. NaN
// becomes zp.
func quantizeU8(ctx context.Context, q []uint8, x []float32, scale float32, zp int32) error {
	return workerpool.For(ctx, len(x), 1<<15, func(s, e int) {
		simd.Quantize(q[s:e], x[s:e], scale, zp, 0, 255, zp)
	})
}

func buildDynamicQuantizeLinear(*Node) (Kernel, error) {
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		if !isFloat(in[0].DType()) {
			return nil, typeErr("x has element type %s, want float", in[0].DType())
		}
		if err := checkLike(ctx, 1+4, in[0]); err != nil {
			return nil, err
		}
		x, err := floats(in[0])
		if err != nil {
			return nil, err
		}
		scale, zp, err := dynQuant(ctx, x)
		if err != nil {
			return nil, err
		}
		q := make([]uint8, len(x))
		if err := quantizeU8(ctx, q, x, scale, zp); err != nil {
			return nil, err
		}
		y, err := tensor.New(in[0].Shape(), q)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{y, tensor.Scalar(scale), tensor.Scalar(uint8(zp))}, nil
	}, nil
}

// qInputs are the operands of an integer product at run time.
type qInputs struct {
	p      *qplan
	a      []uint8
	za, zb []int32
	pack   func(int) (*qmat, error)
}

// prepQ checks A, B and their zero points and plans the product; cst is
// B packed at compile time (or nil).
func prepQ(ctx context.Context, a, b, za, zb tensor.Any, cst []*qmat, outElem int) (*qInputs, error) {
	if b.DType() != numeric.Uint8 && b.DType() != numeric.Int8 {
		return nil, typeErr("B has element type %s, want uint8 or int8", b.DType())
	}
	p, err := planQ(a.Shape(), b.Shape())
	if err != nil {
		return nil, err
	}
	// the int32 accumulators, the output, A as uint8 and its row sums
	if err := checkWork(ctx, 4+outElem, numeric.Int32, p.out); err != nil {
		return nil, err
	}
	codes, shift, err := codesU8(a)
	if err != nil {
		return nil, err
	}
	zav, err := zeroPoints(za, a.DType(), p.aRows, "A's zero point")
	if err != nil {
		return nil, err
	}
	if shift != 0 {
		zav = append([]int32(nil), zav...)
		for i := range zav {
			zav[i] += shift
		}
	}
	zbv, err := zeroPoints(zb, b.DType(), p.n, "B's zero point")
	if err != nil {
		return nil, err
	}
	if len(zbv) != 1 && p.bMats != 1 && zb.Size() != p.n {
		return nil, shapeErr("B's zero point of shape %v for batched B %v", zb.Shape(), b.Shape())
	}
	return &qInputs{p: p, a: codes, za: zav, zb: zbv, pack: bPacker(cst, b, p.k, p.n, false)}, nil
}

func buildMatMulInteger(n *Node) (Kernel, error) {
	cst, err := packConstB(n.Const(1), false)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		q, err := prepQ(ctx, in[0], in[1], opt(in, 2), opt(in, 3), cst, 0)
		if err != nil {
			return nil, err
		}
		acc := make([]int32, prod(q.p.out))
		if err := qrun(ctx, q.p, q.a, q.za, q.zb, acc, q.pack, nil); err != nil {
			return nil, err
		}
		return tensor.New(q.p.out, acc)
	}), nil
}

func buildQLinearMatMul(n *Node) (Kernel, error) {
	cst, err := packConstB(n.Const(3), false)
	if err != nil {
		return nil, err
	}
	deq, err := n.Int(attrDequantize, 0)
	if err != nil {
		return nil, err
	}
	gelu, err := n.Int(attrBiasGelu, 0)
	if err != nil {
		return nil, err
	}
	bias, err := n.Int(attrBias, 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		if len(in) < 7 || in[3] == nil || in[4] == nil || in[6] == nil {
			return nil, typeErr("a, a_scale, b, b_scale and y_scale are required")
		}
		a, sa, za, b, sb, zb, sy, zy := in[0], in[1], in[2], in[3], in[4], in[5], in[6], opt(in, 7)
		if zy == nil {
			zy = tensor.Scalar(uint8(0))
		}
		q, err := prepQ(ctx, a, b, za, zb, cst, 1)
		if err != nil {
			return nil, err
		}
		sav, err := scalesOf(sa, q.p.aRows, "a_scale")
		if err != nil {
			return nil, err
		}
		sbv, err := scalesOf(sb, q.p.n, "b_scale")
		if err != nil {
			return nil, err
		}
		syv, err := scalesOf(sy, 1, "y_scale")
		if err != nil {
			return nil, err
		}
		lo, hi, err := quantRange(zy.DType())
		if err != nil {
			return nil, err
		}
		zyv, err := zeroPoints(zy, zy.DType(), 1, "y_zero_point")
		if err != nil {
			return nil, err
		}
		z := zyv[0]
		// per column: a_scale·b_scale/y_scale, as ONNX Runtime computes it
		mult := make([]float32, q.p.n)
		nn := q.p.n
		flo, fhi := float32(lo-z), float32(hi-z)
		for j := range mult {
			mult[j] = sav[0] * at1(sbv, j) / syv[0]
		}
		// m returns the multipliers of columns [c0, c1) for a row of A
		m := func(aRow, c0, c1 int, buf *[]float32) []float32 {
			if len(sav) == 1 {
				return mult[c0:c1]
			}
			if *buf == nil {
				*buf = make([]float32, c1-c0)
			}
			rm := (*buf)[:c1-c0]
			for j := range rm {
				rm[j] = sav[aRow] * at1(sbv, c0+j) / syv[0]
			}
			return rm
		}
		if deq == 1 {
			return qmmFloat(ctx, q, in, zy.DType(), gelu == 1, bias == 1, func(y []float32, acc []int32, aRow0, r0, r1, c0, c1 int, fix *qfix, s2 float32, z2 int32) {
				if len(sav) == 1 {
					simd.RequantDequantRows(y[r0*nn+c0:], nn, acc[r0*nn+c0:], nn, r1-r0, fix.add[aRow0:aRow0+r1-r0], fix.sub[c0:c1], mult[c0:c1], flo, fhi, z, z2, s2)
					return
				}
				var buf []float32
				for r := r0; r < r1; r++ {
					aRow := aRow0 + r - r0
					simd.RequantDequant(y[r*nn+c0:r*nn+c1], acc[r*nn+c0:r*nn+c1], fix.add[aRow], fix.sub[c0:c1], m(aRow, c0, c1, &buf), flo, fhi, z, z2, s2)
				}
			})
		}
		out := make([]uint8, prod(q.p.out))
		acc := getInt32s(len(out))
		defer putInt32s(acc)
		err = qrun(ctx, q.p, q.a, q.za, q.zb, acc, q.pack, func(r0, r1, aRow0, c0, c1 int, fix *qfix) {
			var buf []float32
			for r := r0; r < r1; r++ {
				aRow := aRow0 + r - r0
				simd.Requant(out[r*nn+c0:r*nn+c1], acc[r*nn+c0:r*nn+c1], fix.add[aRow], fix.sub[c0:c1], m(aRow, c0, c1, &buf), flo, fhi, z)
			}
		})
		if err != nil {
			return nil, err
		}
		sh := q.p.out
		if zy.DType() == numeric.Int8 {
			return tensor.New(sh, unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(out))), len(out)))
		}
		return tensor.New(sh, out)
	}), nil
}

// qmmFloat runs a QLinearMatMul fused with the DequantizeLinear of its
// result (attrDequantize: that node's scale and zero point are inputs
// qmmDQScale and qmmDQScale+1, the zero point of the codes' type zt) and,
// with gelu, the com.microsoft.BiasGelu after it (bias input qmmGelu) or,
// with bias, the addition of input qmmBias (attrBias; float32 results
// only): fin requantizes and dequantizes each block of rows [r0, r1) into
// y, which holds the accumulators in its memory until then.
func qmmFloat(ctx context.Context, q *qInputs, in []tensor.Any, zt numeric.DType, gelu, bias bool, fin func(y []float32, acc []int32, aRow0, r0, r1, c0, c1 int, fix *qfix, s2 float32, z2 int32)) (tensor.Any, error) {
	st := opt(in, qmmDQScale)
	s2, err := scalesOf(st, 1, "the fused DequantizeLinear's scale")
	if err != nil {
		return nil, err
	}
	var z2 int32
	if zt2 := opt(in, qmmDQScale+1); zt2 != nil {
		zv, err := zeroPoints(zt2, zt, 1, "the fused DequantizeLinear's zero point")
		if err != nil {
			return nil, err
		}
		z2 = zv[0]
	}
	var gb []float32
	if gelu {
		if gb, err = geluBias(opt(in, qmmGelu), q.p.n); err != nil {
			return nil, err
		}
	}
	var fb []float32
	if bias {
		if st.DType() != numeric.Float32 {
			return nil, typeErr("the fused bias needs a float32 result, not %s", st.DType())
		}
		if fb, err = biasOf(opt(in, qmmBias), q.p.n); err != nil {
			return nil, err
		}
	}
	if err := checkOut(ctx, numeric.Float32, q.p.out); err != nil {
		return nil, err
	}
	y := newFloats(ctx, prod(q.p.out)) // the kernels store (not add) every accumulator
	if len(y) > 0 {
		acc := unsafe.Slice((*int32)(unsafe.Pointer(&y[0])), len(y))
		nn := q.p.n
		err = qrun(ctx, q.p, q.a, q.za, q.zb, acc, q.pack, func(r0, r1, aRow0, c0, c1 int, fix *qfix) {
			fin(y, acc, aRow0, r0, r1, c0, c1, fix, s2[0], z2)
			if gb != nil && st.DType() == numeric.Float32 {
				for r := r0; r < r1; r++ {
					simd.BiasGelu(y[r*nn+c0:r*nn+c1], y[r*nn+c0:r*nn+c1], gb[c0:c1])
				}
			}
			if fb != nil {
				for r := r0; r < r1; r++ {
					simd.Add(y[r*nn+c0:r*nn+c1], y[r*nn+c0:r*nn+c1], fb[c0:c1])
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	if gb != nil && st.DType() != numeric.Float32 {
		return geluAfter(ctx, st.DType(), q.p.out, y, gb)
	}
	return fromFloats(st.DType(), q.p.out, y)
}

// geluBias checks the bias of a fused BiasGelu: N float values.
func geluBias(b tensor.Any, n int) ([]float32, error) {
	if b == nil || !isFloat(b.DType()) || b.Size() != n || len(b.Shape()) != 1 {
		return nil, shapeErr("the fused BiasGelu's bias %v, want [%d] floats", shapeOf(b), n)
	}
	return floats(b)
}

// shapeOf returns x's shape, nil for a missing input.
func shapeOf(x tensor.Any) []int {
	if x == nil {
		return nil
	}
	return x.Shape()
}

// geluAfter finishes a fused BiasGelu whose input has type dt other than
// float32 as the separate nodes do: y rounded to dt, the GELU of it plus
// the bias in float32, rounded to dt.
func geluAfter(ctx context.Context, dt numeric.DType, shape []int, y, gb []float32) (tensor.Any, error) {
	t, err := fromFloats(dt, shape, y)
	if err != nil {
		return nil, err
	}
	if y, err = floats(t); err != nil {
		return nil, err
	}
	w := len(gb)
	out := make([]float32, len(y))
	err = workerpool.For(ctx, len(y)/max(1, w), max(1, 4096/max(1, w)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			simd.BiasGelu(out[r*w:(r+1)*w], y[r*w:(r+1)*w], gb)
		}
	})
	if err != nil {
		return nil, err
	}
	return fromFloats(dt, shape, out)
}

// floatOut finishes a product in float32: y = float32(acc)·(sa·sb[j]) +
// bias[j], as ONNX Runtime's MatMulIntegerToFloat (the scale product
// rounded to float32 first).
//
// gelu, when not nil, is the bias of a fused com.microsoft.BiasGelu
// (attrBiasGelu) applied to each finished block.
func floatOut(ctx context.Context, q *qInputs, sav, sbv, bias, gelu []float32) ([]float32, error) {
	y := newFloats(ctx, prod(q.p.out)) // the kernels store (not add) every accumulator
	if len(y) == 0 {
		return y, nil
	}
	// the accumulators share y's memory: each block is converted in place
	acc := unsafe.Slice((*int32)(unsafe.Pointer(&y[0])), len(y))
	nn := q.p.n
	mult := make([]float32, nn)
	fill := func(s float32) {
		for j := range mult {
			mult[j] = s * at1(sbv, j)
		}
	}
	fill(sav[0])
	err := qrun(ctx, q.p, q.a, q.za, q.zb, acc, q.pack, func(r0, r1, aRow0, c0, c1 int, fix *qfix) {
		m := mult
		if len(sav) != 1 {
			m = make([]float32, nn)
		}
		var b []float32
		if bias != nil {
			b = bias[c0:c1]
		}
		if len(sav) == 1 {
			simd.AccF32Rows(y[r0*nn+c0:], nn, acc[r0*nn+c0:], nn, r1-r0, fix.add[aRow0:aRow0+r1-r0], fix.sub[c0:c1], m[c0:c1], b)
		}
		for r := r0; r < r1; r++ {
			aRow := aRow0 + r - r0
			if len(sav) != 1 {
				for j := c0; j < c1; j++ {
					m[j] = sav[aRow] * at1(sbv, j)
				}
				simd.AccF32(y[r*nn+c0:r*nn+c1], acc[r*nn+c0:r*nn+c1], fix.add[aRow], fix.sub[c0:c1], m[c0:c1], b)
			}
			if gelu != nil {
				simd.BiasGelu(y[r*nn+c0:r*nn+c1], y[r*nn+c0:r*nn+c1], gelu[c0:c1])
			}
		}
	})
	return y, err
}

// biasOf returns the bias (nil when absent), checking its N values.
func biasOf(b tensor.Any, n int) ([]float32, error) {
	if b == nil {
		return nil, nil
	}
	if !isFloat(b.DType()) || b.Size() != n {
		return nil, shapeErr("bias %s%v, want %d float values", b.DType(), b.Shape(), n)
	}
	return floats(b)
}

func buildMatMulIntegerToFloat(n *Node) (Kernel, error) {
	cst, err := packConstB(n.Const(1), false)
	if err != nil {
		return nil, err
	}
	fused, err := n.Int(attrBiasGelu, 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 4); err != nil {
			return nil, err
		}
		q, err := prepQ(ctx, in[0], in[1], opt(in, 4), opt(in, 5), cst, 4)
		if err != nil {
			return nil, err
		}
		sav, err := scalesOf(in[2], q.p.aRows, "a_scale")
		if err != nil {
			return nil, err
		}
		sbv, err := scalesOf(in[3], q.p.n, "b_scale")
		if err != nil {
			return nil, err
		}
		bias, err := biasOf(opt(in, 6), q.p.n)
		if err != nil {
			return nil, err
		}
		var gb []float32
		dt := in[2].DType()
		if fused == 1 {
			if gb, err = geluBias(opt(in, mmiToFGelu), q.p.n); err != nil {
				return nil, err
			}
		}
		if dt != numeric.Float32 {
			gb = nil // the product is rounded to dt first: geluAfter
		}
		y, err := floatOut(ctx, q, sav, sbv, bias, gb)
		if err != nil {
			return nil, err
		}
		if fused == 1 && dt != numeric.Float32 {
			bg, err := geluBias(opt(in, mmiToFGelu), q.p.n)
			if err != nil {
				return nil, err
			}
			return geluAfter(ctx, dt, q.p.out, y, bg)
		}
		return fromFloats(dt, q.p.out, y)
	}), nil
}

func buildDynamicQuantizeMatMul(n *Node) (Kernel, error) {
	cst, err := packConstB(n.Const(1), false)
	if err != nil {
		return nil, err
	}
	fused, err := n.Int(attrBiasGelu, 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		if !isFloat(in[0].DType()) {
			return nil, typeErr("A has element type %s, want float", in[0].DType())
		}
		if err := checkLike(ctx, 1, in[0]); err != nil {
			return nil, err
		}
		x, err := floats(in[0])
		if err != nil {
			return nil, err
		}
		scale, zp, err := dynQuant(ctx, x)
		if err != nil {
			return nil, err
		}
		qa := getBytes(len(x)) // every code written; only this product reads them
		defer putBytes(qa)
		if err := quantizeU8(ctx, qa, x, scale, zp); err != nil {
			return nil, err
		}
		at, err := tensor.New(in[0].Shape(), qa)
		if err != nil {
			return nil, err
		}
		q, err := prepQ(ctx, at, in[1], tensor.Scalar(uint8(zp)), opt(in, 3), cst, 4)
		if err != nil {
			return nil, err
		}
		sbv, err := scalesOf(in[2], q.p.n, "b_scale")
		if err != nil {
			return nil, err
		}
		bias, err := biasOf(opt(in, 4), q.p.n)
		if err != nil {
			return nil, err
		}
		var gb []float32
		dt := in[0].DType()
		if fused == 1 {
			if gb, err = geluBias(opt(in, dqmmGelu), q.p.n); err != nil {
				return nil, err
			}
		}
		if dt != numeric.Float32 {
			gb = nil // the product is rounded to dt first: geluAfter
		}
		y, err := floatOut(ctx, q, []float32{scale}, sbv, bias, gb)
		if err != nil {
			return nil, err
		}
		if fused == 1 && dt != numeric.Float32 {
			bg, err := geluBias(opt(in, dqmmGelu), q.p.n)
			if err != nil {
				return nil, err
			}
			return geluAfter(ctx, dt, q.p.out, y, bg)
		}
		return fromFloats(dt, q.p.out, y)
	}), nil
}

// buildQGemm makes com.microsoft.QGemm: Y = alpha·(A−za)(B−zb)·sa·sb +
// C·sa·sb (C an int32 bias quantized with scale sa·sb), as float32, or
// requantized with y_scale and y_zero_point when they are given.
func buildQGemm(n *Node) (Kernel, error) {
	alpha, err := n.Float("alpha", 1)
	if err != nil {
		return nil, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return nil, err
	}
	if ta != 0 && ta != 1 || tb != 0 && tb != 1 {
		return nil, attrErr("transA %d, transB %d: want 0 or 1", ta, tb)
	}
	var cst []*qmat
	if b := n.Const(3); b != nil {
		if len(b.Shape()) != 2 {
			return nil, attrErr("B of shape %v, want rank 2", b.Shape())
		}
		if cst, err = packConstB(b, tb == 1); err != nil {
			return nil, err
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 6); err != nil {
			return nil, err
		}
		a, b := in[0], in[3]
		as, bs := a.Shape(), b.Shape()
		if len(as) != 2 || len(bs) != 2 {
			return nil, shapeErr("A %v and B %v, want rank 2", as, bs)
		}
		if ta == 1 {
			t, err := transpose2(a)
			if err != nil {
				return nil, err
			}
			a = t
			as = a.Shape()
		}
		k, nn := bs[0], bs[1]
		if tb == 1 {
			k, nn = nn, k
		}
		if as[1] != k {
			return nil, shapeErr("A %v and B %v (transA %d, transB %d) do not multiply", in[0].Shape(), bs, ta, tb)
		}
		bv := b
		if tb == 1 && cst == nil {
			t, err := transpose2(b)
			if err != nil {
				return nil, err
			}
			bv = t
		}
		q, err := prepQ(ctx, a, reshapeQ(bv, k, nn), in[2], in[5], cst, 4)
		if err != nil {
			return nil, err
		}
		sav, err := scalesOf(in[1], 1, "a_scale")
		if err != nil {
			return nil, err
		}
		sbv, err := scalesOf(in[4], nn, "b_scale")
		if err != nil {
			return nil, err
		}
		var cv []int32
		var cs []int
		if c := opt(in, 6); c != nil {
			ct, ok := c.(*tensor.Tensor[int32])
			if !ok {
				return nil, typeErr("C has element type %s, want int32", c.DType())
			}
			cs = c.Shape()
			if _, err := broadcastShape(cs, q.p.out); err != nil || len(cs) > 2 {
				return nil, shapeErr("C of shape %v does not broadcast to %v", cs, q.p.out)
			}
			cv = ct.Data()
		}
		sy, zy := opt(in, 7), opt(in, 8)
		quant := sy != nil
		var lo, hi, z int32
		var syv float32
		odt := numeric.Float32
		if quant {
			s, err := scalesOf(sy, 1, "y_scale")
			if err != nil {
				return nil, err
			}
			syv = s[0]
			odt = numeric.Uint8
			if zy != nil {
				odt = zy.DType()
				zv, err := zeroPoints(zy, odt, 1, "y_zero_point")
				if err != nil {
					return nil, err
				}
				z = zv[0]
			}
			if lo, hi, err = quantRange(odt); err != nil {
				return nil, err
			}
		}
		cAt := func(r, j int) int32 {
			switch len(cs) {
			case 0:
				return cv[0]
			case 1:
				return cv[j%cs[0]]
			}
			return cv[(r%cs[0])*cs[1]+j%cs[1]]
		}
		acc := make([]int32, prod(q.p.out))
		y := make([]float32, 0)
		if !quant {
			y = make([]float32, len(acc))
		}
		err = qrun(ctx, q.p, q.a, q.za, q.zb, acc, q.pack, func(r0, r1, aRow0, c0, c1 int, fix *qfix) {
			for r := r0; r < r1; r++ {
				row := acc[r*nn : (r+1)*nn]
				add := fix.add[aRow0+r-r0]
				for j := c0; j < c1; j++ {
					v := row[j] + add - fix.sub[j]
					if cv != nil {
						v += cAt(r, j)
					}
					m := alpha * sav[0] * at1(sbv, j)
					if quant {
						row[j] = requant(v, m/syv, z, lo, hi)
					} else {
						y[r*nn+j] = float32(v) * m
					}
				}
			}
		})
		if err != nil {
			return nil, err
		}
		if quant {
			return quantTensor(odt, q.p.out, acc)
		}
		return tensor.New(q.p.out, y)
	}), nil
}

// transpose2 transposes a rank-2 tensor.
func transpose2(x tensor.Any) (tensor.Any, error) {
	s := x.Shape()
	r, c := s[0], s[1]
	switch v := x.(type) {
	case *tensor.Tensor[uint8]:
		return transposeT(v.Data(), r, c)
	case *tensor.Tensor[int8]:
		return transposeT(v.Data(), r, c)
	}
	return nil, typeErr("element type %s, want uint8 or int8", x.DType())
}

func transposeT[T tensor.Numeric](d []T, r, c int) (tensor.Any, error) {
	o := make([]T, len(d))
	for i := range r {
		for j := range c {
			o[j*r+i] = d[i*c+j]
		}
	}
	return tensor.New([]int{c, r}, o)
}

// reshapeQ views x as [k, n] for the product's plan (x already has k·n
// elements in that order).
func reshapeQ(x tensor.Any, k, n int) tensor.Any {
	if s := x.Shape(); len(s) == 2 && s[0] == k && s[1] == n {
		return x
	}
	if v, err := reshape(x, []int{k, n}); err == nil {
		return v
	}
	return x
}
