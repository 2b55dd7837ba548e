package exec

import (
	"context"
	"fmt"
	"math"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/layers/core"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register(onnx.MicrosoftDomain, "MatMulNBits", 1, 0, buildMatMulNBits)
	Register(onnx.MicrosoftDomain, "GatherBlockQuantized", 1, 0, buildGatherBlockQuantized)
	Register("", "DequantizeLinear", 10, 0, buildDequantizeLinear)
	Register("", "QuantizeLinear", 10, 0, buildQuantizeLinear)
}

// buildMatMulNBits wraps layers/core.MatMulNBits. When B, scales and the
// optional zero points, g_idx and bias are initializers the layer is built
// once, at compile time (B is referenced, not copied); otherwise the weights
// are passed on every call. float16 A is computed in float32, as ONNX
// Runtime does, and the result rounded back.
func buildMatMulNBits(n *Node) (Kernel, error) {
	var attrs core.MatMulNBitsAttrs
	for _, a := range []struct {
		name string
		dst  *int
		def  int64
	}{{"K", &attrs.K, -1}, {"N", &attrs.N, -1}, {"bits", &attrs.Bits, 4}, {"block_size", &attrs.BlockSize, -1}, {"accuracy_level", &attrs.AccuracyLevel, 0}} {
		v, err := n.Int(a.name, a.def)
		if err != nil {
			return nil, err
		}
		if v < 0 || v > math.MaxInt32 {
			return nil, attrErr("attribute %s = %d (missing or out of range)", a.name, v)
		}
		*a.dst = int(v)
	}
	if n.NumInputs() < 3 || n.Proto.GetInput()[1] == "" || n.Proto.GetInput()[2] == "" {
		return nil, attrErr("inputs %q, want at least A, B and scales", n.Proto.GetInput())
	}
	allConst := true
	for i := 1; i < n.NumInputs(); i++ {
		if n.Proto.GetInput()[i] != "" && n.Const(i) == nil {
			allConst = false
		}
	}
	var layer *core.MatMulNBits[float32]
	if allConst {
		b, ok := n.Const(1).(*tensor.Tensor[uint8])
		if !ok {
			return nil, attrErr("B has element type %s, want uint8", n.Const(1).DType())
		}
		scales, err := f32Tensor(n.Const(2))
		if err != nil {
			return nil, err
		}
		var zp tensor.Any
		if z := n.Const(3); z != nil {
			if zp = z; isFloat(z.DType()) {
				if zp, err = f32Tensor(z); err != nil {
					return nil, err
				}
			}
		}
		var gIdx *tensor.Tensor[int32]
		if g := n.Const(4); g != nil {
			if gIdx, ok = g.(*tensor.Tensor[int32]); !ok {
				return nil, attrErr("g_idx has element type %s, want int32", g.DType())
			}
		}
		var bias *tensor.Tensor[float32]
		if bb := n.Const(5); bb != nil {
			if bias, err = f32Tensor(bb); err != nil {
				return nil, err
			}
			bias = bias.Copy() // the layer's bias is a trainable parameter
		}
		var opts []core.MatMulNBitsOption
		if n.cfg.exactScales {
			opts = append(opts, core.WithExactScales())
		}
		layer, err = core.NewMatMulNBitsONNX(n.Name, engine, numeric.Float32Ops{}, attrs, b, scales, zp, gIdx, bias, opts...)
		if err != nil {
			return nil, attrWrap(err, "")
		}
	} else {
		// A layer whose weights come in at run time; its own weights are
		// never used (ForwardAny with weight inputs).
		var err error
		layer, err = dummyNBits(n.Name, attrs, n.cfg.budget)
		if err != nil {
			return nil, attrWrap(err, "")
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		if s := in[0].Shape(); len(s) > 0 {
			os := append(s[:len(s)-1:len(s)-1], attrs.N)
			if err := checkWork(ctx, 4+in[0].DType().Size(), in[0].DType(), os); err != nil {
				return nil, err
			}
		}
		a, err := f32Tensor(in[0])
		if err != nil {
			return nil, err
		}
		var y *tensor.Tensor[float32]
		if allConst {
			y, err = layer.Forward(ctx, a)
		} else {
			args := []tensor.Any{a}
			for i := 1; i < len(in); i++ {
				v := in[i]
				if v != nil && isFloat(v.DType()) {
					if v, err = f32Tensor(v); err != nil {
						return nil, err
					}
				}
				args = append(args, v)
			}
			for len(args) < 6 {
				args = append(args, nil)
			}
			y, err = layer.ForwardAny(ctx, args...)
		}
		if err != nil {
			return nil, err
		}
		if in[0].DType() == numeric.Float32 {
			return y, nil
		}
		return fromFloats(in[0].DType(), y.Shape(), y.Data())
	}), nil
}

func dummyNBits(name string, a core.MatMulNBitsAttrs, limit budget.Limit) (*core.MatMulNBits[float32], error) {
	if a.K <= 0 || a.N <= 0 || a.BlockSize <= 0 || a.Bits <= 0 || a.Bits > 8 {
		return nil, fmt.Errorf("bad attributes %+v", a)
	}
	kb := (a.K + a.BlockSize - 1) / a.BlockSize
	blob := a.BlockSize * a.Bits / 8
	// B and the scales, then the layer's packed copy of them
	if err := limit.CheckElems(fmt.Sprintf("weights of N=%d, K=%d, block_size %d", a.N, a.K, a.BlockSize), 2*(blob+4), a.N, kb); err != nil {
		return nil, err
	}
	b, err := tensor.New([]int{a.N, kb, blob}, make([]uint8, a.N*kb*blob))
	if err != nil {
		return nil, err
	}
	s, err := tensor.New([]int{a.N, kb}, make([]float32, a.N*kb))
	if err != nil {
		return nil, err
	}
	return core.NewMatMulNBitsONNX(name, engine, numeric.Float32Ops{}, a, b, s, nil, nil, nil)
}

// codes returns the integer codes of a quantized tensor as int32 and its
// logical shape. typ is the ONNX element type (Undefined when unknown: uint8
// is then taken as packed when bits < 8).
func codesOf(x tensor.Any, typ onnx.DataType, bits int) ([]int32, []int, error) {
	s := x.Shape()
	switch v := x.(type) {
	case *tensor.Tensor[int8]:
		return convSlice[int8, int32](v.Data()), s, nil
	case *tensor.Tensor[uint8]:
		if typ == onnx.Uint4 || bits == 8 {
			return convSlice[uint8, int32](v.Data()), s, nil
		}
		// packed uint8: each byte holds 8/bits codes, low bits first
		per := 8 / bits
		d := v.Data()
		out := make([]int32, len(d)*per)
		mask := uint8(1<<bits - 1)
		for i, b := range d {
			for j := 0; j < per; j++ {
				out[i*per+j] = int32(b >> (j * bits) & mask)
			}
		}
		if len(s) == 0 {
			return nil, nil, shapeErr("packed data must have rank ≥ 1")
		}
		ls := append([]int(nil), s...)
		ls[len(ls)-1] *= per
		return out, ls, nil
	case *tensor.Tensor[int32]:
		return v.Data(), s, nil
	case *tensor.Tensor[int16]:
		return convSlice[int16, int32](v.Data()), s, nil
	}
	return nil, nil, typeErr("quantized data of element type %s", x.DType())
}

func buildGatherBlockQuantized(n *Node) (Kernel, error) {
	ga, err := n.Int("gather_axis", 0)
	if err != nil {
		return nil, err
	}
	qa, err := n.Int("quantize_axis", 1)
	if err != nil {
		return nil, err
	}
	bs, err := n.Int("block_size", 128)
	if err != nil {
		return nil, err
	}
	bits, err := n.Int("bits", 4)
	if err != nil {
		return nil, err
	}
	if bs < 16 || bs&(bs-1) != 0 {
		return nil, attrErr("block_size %d, want a power of two ≥ 16", bs)
	}
	if bits != 2 && bits != 4 && bits != 8 {
		return nil, attrErr("bits %d, want 2, 4 or 8", bits)
	}
	dtyp := n.ConstType(0)
	if dtyp == onnx.Undefined {
		dtyp = onnx.Uint8
	}
	zptyp := n.ConstType(3)
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		packed := dtyp == onnx.Uint8
		// the codes (up to four per packed byte) as int32
		if err := checkLike(ctx, 4*4, in[0]); err != nil {
			return nil, err
		}
		b := int(bits)
		if !packed {
			b = 8
		}
		codes, ls, err := codesOf(in[0], dtyp, b)
		if err != nil {
			return nil, err
		}
		r := len(ls)
		g, err := normAxis(ga, r)
		if err != nil {
			return nil, err
		}
		q, err := normAxis(qa, r)
		if err != nil {
			return nil, err
		}
		if packed && (g != 0 || q != r-1) {
			return nil, shapeErr("uint8 data needs gather_axis 0 and quantize_axis %d, got %d and %d", r-1, g, q)
		}
		scales := in[2]
		ss := scales.Shape()
		if len(ss) != r {
			return nil, shapeErr("scales of shape %v for data of logical shape %v", ss, ls)
		}
		for d := range ss {
			want := ls[d]
			if d == q {
				want = (ls[d] + int(bs) - 1) / int(bs)
			}
			if ss[d] != want {
				return nil, shapeErr("scales of shape %v for data of logical shape %v and block_size %d", ss, ls, bs)
			}
		}
		sv, err := floats(scales)
		if err != nil {
			return nil, err
		}
		zdef := int32(0)
		if packed {
			zdef = 1 << (bits - 1)
		}
		var zv []int32
		if z := opt(in, 3); z != nil {
			zt := zptyp
			if zt == onnx.Undefined {
				zt = dtyp
			}
			var zs []int
			if zv, zs, err = codesOf(z, zt, b); err != nil {
				return nil, err
			}
			// packed zero points are padded per row
			if len(zs) != r || prod(zs[:r-1]) != prod(ss[:r-1]) || zs[r-1] < ss[r-1] {
				return nil, shapeErr("zero_points of shape %v for scales %v", z.Shape(), ss)
			}
			if zs[r-1] != ss[r-1] {
				rows, w := prod(zs[:r-1]), zs[r-1]
				trim := make([]int32, 0, len(sv))
				for i := 0; i < rows; i++ {
					trim = append(trim, zv[i*w:i*w+ss[r-1]]...)
				}
				zv = trim
			}
		}
		idx, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		dim := int64(ls[g])
		os := append(append(append([]int(nil), ls[:g]...), in[1].Shape()...), ls[g+1:]...)
		if err := checkWork(ctx, 4+scales.DType().Size(), scales.DType(), os); err != nil {
			return nil, err
		}
		outer, inner := prod(ls[:g]), prod(ls[g+1:])
		out := make([]float32, 0, prod(os))
		lst, sst := tensor.Strides(ls), tensor.Strides(ss)
		coord := make([]int, r)
		for o := 0; o < outer; o++ {
			for _, ix := range idx {
				if ix < -dim || ix >= dim {
					return nil, &Error{Msg: fmt.Sprintf("index %d out of range [%d, %d)", ix, -dim, dim), Err: tensor.ErrIndex}
				}
				if ix < 0 {
					ix += dim
				}
				base := (o*int(dim) + int(ix)) * inner
				for e := 0; e < inner; e++ {
					flat := base + e
					si := 0
					for d := 0; d < r; d++ {
						coord[d] = flat / lst[d] % ls[d]
						c := coord[d]
						if d == q {
							c /= int(bs)
						}
						si += c * sst[d]
					}
					zp := zdef
					if zv != nil {
						zp = zv[si]
					}
					out = append(out, float32(codes[flat]-zp)*sv[si])
				}
			}
		}
		return fromFloats(scales.DType(), os, out)
	}), nil
}

// scaleIndex returns, for every element of x (shape xs), the index of its
// scale: per tensor (scale of size 1), per axis (1-D scale) or blocked
// (scale of x's rank, block_size along axis).
func scaleIndex(xs, ss []int, axis int64, bs int64) ([]int, error) {
	n := prod(xs)
	idx := make([]int, n)
	if prod(ss) == 1 && (len(ss) <= 1) && bs == 0 {
		return idx, nil
	}
	a, err := normAxis(axis, len(xs))
	if err != nil {
		return nil, err
	}
	xst := tensor.Strides(xs)
	if len(ss) == 1 && bs == 0 {
		if ss[0] != xs[a] {
			return nil, shapeErr("scale of shape %v for axis %d of %v", ss, a, xs)
		}
		for i := range idx {
			idx[i] = i / xst[a] % xs[a]
		}
		return idx, nil
	}
	if len(ss) != len(xs) || bs <= 0 {
		return nil, shapeErr("scale of shape %v for input %v (block_size %d)", ss, xs, bs)
	}
	for d := range ss {
		want := xs[d]
		if d == a {
			want = (xs[d] + int(bs) - 1) / int(bs)
		}
		if ss[d] != want {
			return nil, shapeErr("scale of shape %v for input %v, axis %d, block_size %d", ss, xs, a, bs)
		}
	}
	sst := tensor.Strides(ss)
	for i := range idx {
		si := 0
		for d := range xs {
			c := i / xst[d] % xs[d]
			if d == a {
				c /= int(bs)
			}
			si += c * sst[d]
		}
		idx[i] = si
	}
	return idx, nil
}

func buildDequantizeLinear(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	bs, err := n.Int("block_size", 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, scale := in[0], in[1]
		if y, ok, err := dequantizeFast(ctx, x, scale, opt(in, 2)); ok || err != nil {
			return y, err
		}
		// codes, scale index, float32 values, output
		if err := checkWork(ctx, 4+8+4+scale.DType().Size(), scale.DType(), x.Shape()); err != nil {
			return nil, err
		}
		codes, xs, err := codesOf(x, onnx.Uint4, 8) // never packed
		if err != nil {
			return nil, err
		}
		idx, err := scaleIndex(xs, scale.Shape(), axis, bs)
		if err != nil {
			return nil, err
		}
		sv, err := floats(scale)
		if err != nil {
			return nil, err
		}
		var zv []int32
		if z := opt(in, 2); z != nil {
			if z.DType() != x.DType() || prod(z.Shape()) != prod(scale.Shape()) {
				return nil, shapeErr("zero point %s%v for input %s and scale %v", z.DType(), z.Shape(), x.DType(), scale.Shape())
			}
			if zv, _, err = codesOf(z, onnx.Uint4, 8); err != nil {
				return nil, err
			}
		}
		out := make([]float32, len(codes))
		for i, c := range codes {
			zp := int32(0)
			if zv != nil {
				zp = zv[idx[i]]
			}
			out[i] = float32(c-zp) * sv[idx[i]]
		}
		return fromFloats(scale.DType(), xs, out)
	}), nil
}

func buildQuantizeLinear(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	bs, err := n.Int("block_size", 0)
	if err != nil {
		return nil, err
	}
	odt, err := n.Int("output_dtype", 0)
	if err != nil {
		return nil, err
	}
	outType := onnx.DataType(odt)
	if zt := n.ConstType(2); zt != onnx.Undefined {
		outType = zt
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, scale := in[0], in[1]
		if y, ok, err := quantizeFast(ctx, x, scale, opt(in, 2), outType); ok || err != nil {
			return y, err
		}
		// float32 values, scale index, int64 codes, output
		if err := checkLike(ctx, 4+8+8+2, x); err != nil {
			return nil, err
		}
		typ := outType
		if z := opt(in, 2); z != nil && typ == onnx.Undefined {
			switch z.DType() {
			case numeric.Int8:
				typ = onnx.Int8
			case numeric.Int16:
				typ = onnx.Int16
			default:
				typ = onnx.Uint8
			}
		}
		if typ == onnx.Undefined {
			typ = onnx.Uint8
		}
		var lo, hi float32
		switch typ {
		case onnx.Uint8:
			lo, hi = 0, 255
		case onnx.Int8:
			lo, hi = -128, 127
		case onnx.Uint4:
			lo, hi = 0, 15
		case onnx.Int4:
			lo, hi = -8, 7
		case onnx.Int16:
			lo, hi = -32768, 32767
		default:
			return nil, typeErr("QuantizeLinear to %s is not supported", typ)
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		xs := x.Shape()
		idx, err := scaleIndex(xs, scale.Shape(), axis, bs)
		if err != nil {
			return nil, err
		}
		sv, err := floats(scale)
		if err != nil {
			return nil, err
		}
		var zv []int32
		if z := opt(in, 2); z != nil {
			if prod(z.Shape()) != prod(scale.Shape()) {
				return nil, shapeErr("zero point of shape %v for scale %v", z.Shape(), scale.Shape())
			}
			if zv, _, err = codesOf(z, onnx.Uint4, 8); err != nil {
				return nil, err
			}
		}
		out := make([]int64, len(xv))
		for i, v := range xv {
			q := float32(math.RoundToEven(float64(v / sv[idx[i]])))
			if zv != nil {
				q += float32(zv[idx[i]])
			}
			out[i] = int64(max(lo, min(q, hi)))
		}
		dt, _ := dtypeOf(typ)
		return intsAs(dt, xs, out)
	}), nil
}

// perTensor8 returns the scale and zero point of a per-tensor float32
// quantization to uint8 or int8 codes of element type dt (z nil: 0), or
// ok false when it is not one.
func perTensor8(scale, z tensor.Any, dt numeric.DType) (float32, int32, bool) {
	st, isF := scale.(*tensor.Tensor[float32])
	if !isF || st.Size() != 1 || (z != nil && (z.Size() != 1 || z.DType() != dt)) {
		return 0, 0, false
	}
	var zp int32
	switch v := z.(type) {
	case *tensor.Tensor[uint8]:
		zp = int32(v.Data()[0])
	case *tensor.Tensor[int8]:
		zp = int32(v.Data()[0])
	}
	return st.Data()[0], zp, true
}

// dequantizeFast is DequantizeLinear's per-tensor path for uint8 and int8
// codes and a float32 scale: (code − zp)·scale.
func dequantizeFast(ctx context.Context, x, scale, z tensor.Any) (tensor.Any, bool, error) {
	if x.DType() != numeric.Uint8 && x.DType() != numeric.Int8 {
		return nil, false, nil
	}
	s, zp, ok := perTensor8(scale, z, x.DType())
	if !ok {
		return nil, false, nil
	}
	if err := checkOut(ctx, numeric.Float32, x.Shape()); err != nil {
		return nil, true, err
	}
	out := make([]float32, x.Size())
	var err error
	switch v := x.(type) {
	case *tensor.Tensor[uint8]:
		d := v.Data()
		err = workerpool.For(ctx, len(d), 1<<15, func(a, b int) { simd.DequantizeU8(out[a:b], d[a:b], zp, s) })
	case *tensor.Tensor[int8]:
		d := v.Data()
		err = workerpool.For(ctx, len(d), 1<<15, func(a, b int) { simd.DequantizeI8(out[a:b], d[a:b], zp, s) })
	}
	if err != nil {
		return nil, true, err
	}
	y, err := tensor.New(x.Shape(), out)
	return y, true, err
}

// quantizeFast is QuantizeLinear's per-tensor path from float32 to uint8 or
// int8: clamp(round(x/scale) + zp), ties to even.
func quantizeFast(ctx context.Context, x, scale, z tensor.Any, typ onnx.DataType) (tensor.Any, bool, error) {
	xt, ok := x.(*tensor.Tensor[float32])
	if !ok {
		return nil, false, nil
	}
	dt := numeric.Uint8
	switch {
	case typ == onnx.Int8 || (typ == onnx.Undefined && z != nil && z.DType() == numeric.Int8):
		dt = numeric.Int8
	case typ != onnx.Uint8 && typ != onnx.Undefined:
		return nil, false, nil
	case z != nil && z.DType() != numeric.Uint8:
		return nil, false, nil
	}
	s, zp, ok := perTensor8(scale, z, dt)
	if !ok {
		return nil, false, nil
	}
	if err := checkOut(ctx, dt, x.Shape()); err != nil {
		return nil, true, err
	}
	lo, hi, _ := quantRange(dt)
	xv := xt.Data()
	out := newBytes(ctx, len(xv)) // every code written
	err := workerpool.For(ctx, len(xv), 1<<15, func(a, b int) {
		simd.Quantize(out[a:b], xv[a:b], s, zp, lo, hi, lo)
	})
	if err != nil {
		return nil, true, err
	}
	var y tensor.Any
	if dt == numeric.Int8 {
		y, err = tensor.New(x.Shape(), unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(out))), len(out)))
	} else {
		y, err = tensor.New(x.Shape(), out)
	}
	return y, true, err
}
