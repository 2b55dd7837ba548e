package exec

import (
	"context"
	"math"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// The pools: MaxPool (with its Indices output), AveragePool, LpPool, their
// Global forms, MaxUnpool, MaxRoiPool and RoiAlign. Float16 and bfloat16
// inputs are pooled in float32; float32, float64, int8 and uint8 (MaxPool)
// in their own type. Averages and Lp norms accumulate in float64.

func init() {
	Register("", "MaxPool", 1, 0, buildMaxPool)
	Register("", "AveragePool", 1, 0, buildPool(poolAvg))
	Register("", "LpPool", 1, 0, buildPool(poolLp))
	Register("", "GlobalMaxPool", 1, 0, buildGlobalPool(poolMax))
	Register("", "GlobalAveragePool", 1, 0, buildGlobalPool(poolAvg))
	Register("", "GlobalLpPool", 1, 0, buildGlobalPool(poolLp))
	Register("", "MaxUnpool", 9, 0, buildMaxUnpool)
	Register("", "MaxRoiPool", 1, 0, buildMaxRoiPool)
	Register("", "RoiAlign", 10, 0, buildRoiAlign)
}

type poolKind int

const (
	poolMax poolKind = iota
	poolAvg
	poolLp
)

var poolNames = [...]string{"MaxPool", "AveragePool", "LpPool"}

// poolSpec is what a pool kernel needs besides the geometry.
type poolSpec struct {
	kind       poolKind
	p          float64 // LpPool's p
	includePad bool    // AveragePool count_include_pad
	colMajor   bool    // MaxPool storage_order 1
}

func buildPool(kind poolKind) BuildFunc {
	op := poolNames[kind]
	return func(n *Node) (Kernel, error) {
		w, err := readWindow(n, op, true)
		if err != nil {
			return nil, err
		}
		if n.Has("group") || n.Has("output_padding") || n.Has("output_shape") {
			return nil, attrErr("%s has no attribute group, output_padding or output_shape", op)
		}
		sp := poolSpec{kind: kind}
		switch kind {
		case poolAvg:
			c, err := n.Int("count_include_pad", 0)
			if err != nil {
				return nil, err
			}
			sp.includePad = c != 0
		case poolMax:
			so, err := n.Int("storage_order", 0)
			if err != nil {
				return nil, err
			}
			if so != 0 && so != 1 {
				return nil, attrErr("MaxPool storage_order %d, want 0 or 1", so)
			}
			sp.colMajor = so == 1
		case poolLp:
			if sp.p, err = readLpP(n, op); err != nil {
				return nil, err
			}
		}
		// MaxPool's Indices only when the node asks for them.
		outs := n.Proto.GetOutput()
		indices := kind == poolMax && len(outs) > 1 && outs[1] != ""
		return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			xs := x.Shape()
			if len(xs) < 3 {
				return nil, shapeErr("%s input of shape %v, want N×C×D1…", op, xs)
			}
			g, err := w.resolve(xs[2:], nil)
			if err != nil {
				return nil, err
			}
			return runPool(ctx, op, x, g, sp, indices)
		}, nil
	}
}

// readLpP reads an LpPool's p: a float before opset 2, an int after,
// 2 when absent; it must be positive and finite.
func readLpP(n *Node, op string) (float64, error) {
	var p float64
	if n.Opset < 2 {
		f, err := n.Float("p", 2)
		if err != nil {
			return 0, err
		}
		p = float64(f)
	} else {
		i, err := n.Int("p", 2)
		if err != nil {
			return 0, err
		}
		p = float64(i)
	}
	if !(p > 0) || math.IsInf(p, 0) {
		return 0, attrErr("%s p %v, want a positive number", op, p)
	}
	return p, nil
}

// buildGlobalPool pools every spatial position of each channel: a window
// of the whole image.
func buildGlobalPool(kind poolKind) BuildFunc {
	op := "Global" + poolNames[kind]
	return func(n *Node) (Kernel, error) {
		sp := poolSpec{kind: kind, p: 2}
		if kind == poolLp {
			p, err := readLpP(n, op)
			if err != nil {
				return nil, err
			}
			sp.p = p
		}
		return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			xs := x.Shape()
			if len(xs) < 3 {
				return nil, shapeErr("%s input of shape %v, want N×C×D1…", op, xs)
			}
			s := xs[2:]
			for _, d := range s {
				if d == 0 {
					return nil, shapeErr("%s of an empty image %v", op, xs)
				}
			}
			nd := len(s)
			g := &geom{in: s, k: s, s: ones(nd), d: ones(nd), pb: make([]int, nd), pe: make([]int, nd), out: ones(nd)}
			outs, err := runPool(ctx, op, x, g, sp, false)
			if err != nil {
				return nil, err
			}
			return outs[:1], nil
		}, nil
	}
}

// runPool pools x (N×C×spatial) over geometry g; with indices it also
// returns MaxPool's Indices output.
func runPool(ctx context.Context, op string, x tensor.Any, g *geom, sp poolSpec, indices bool) ([]tensor.Any, error) {
	xs := x.Shape()
	os := append([]int{xs[0], xs[1]}, g.out...)
	extra := int64(0)
	if indices {
		extra += 8 * int64(prod(os))
	}
	switch x.DType() {
	case numeric.Float16Type, numeric.BFloat16Type:
		extra += 4*int64(x.Size()) + 4*int64(prod(os))
	case numeric.Float32, numeric.Float64:
	case numeric.Int8, numeric.Uint8:
		if sp.kind != poolMax {
			return nil, typeErr("%s of %s, want a float type", op, x.DType())
		}
	default:
		return nil, typeErr("%s of %s is not supported", op, x.DType())
	}
	if err := checkExtra(ctx, x.DType(), os, extra); err != nil {
		return nil, err
	}
	var idx []int64
	if indices {
		idx = make([]int64, prod(os))
	}
	if u, ok := x.(*tensor.Tensor[uint8]); ok && !indices && sp.kind == poolMax && len(g.in) == 2 {
		d, err := maxPool2DU8(ctx, u.Data(), xs[0]*xs[1], g)
		if err != nil {
			return nil, err
		}
		y, err := tensor.New(os, d)
		return []tensor.Any{y}, err
	}
	var y tensor.Any
	var err error
	switch t := x.(type) {
	case *tensor.Tensor[float32]:
		y, err = poolTo(ctx, t.Data(), os, g, sp, idx, func(d []float32) (tensor.Any, error) { return tensor.New(os, d) })
	case *tensor.Tensor[float64]:
		y, err = poolTo(ctx, t.Data(), os, g, sp, idx, func(d []float64) (tensor.Any, error) { return tensor.New(os, d) })
	case *tensor.Tensor[int8]:
		y, err = poolTo(ctx, t.Data(), os, g, sp, idx, func(d []int8) (tensor.Any, error) { return tensor.New(os, d) })
	case *tensor.Tensor[uint8]:
		y, err = poolTo(ctx, t.Data(), os, g, sp, idx, func(d []uint8) (tensor.Any, error) { return tensor.New(os, d) })
	default:
		xv, ferr := floats(x)
		if ferr != nil {
			return nil, ferr
		}
		y, err = poolTo(ctx, xv, os, g, sp, idx, func(d []float32) (tensor.Any, error) { return fromFloats(x.DType(), os, d) })
	}
	if err != nil {
		return nil, err
	}
	if !indices {
		return []tensor.Any{y}, nil
	}
	it, err := tensor.New(os, idx)
	if err != nil {
		return nil, err
	}
	return []tensor.Any{y, it}, nil
}

// lowest returns the smallest value of T (−Inf for floats).
func lowest[T real]() T {
	var z T
	switch any(z).(type) {
	case float32:
		return T(math.Inf(-1))
	case float64:
		return T(math.Inf(-1))
	case int8:
		m := -128
		return T(m)
	}
	return 0
}

// poolT pools each of the N·C planes of x in parallel. Window positions in
// the padding are skipped (MaxPool, LpPool, and AveragePool without
// count_include_pad) or count as zeros in the average (count_include_pad:
// positions within the padded extent count). MaxPool ignores NaNs unless
// the whole window is NaN, as ONNX Runtime does; idx gets each maximum's
// flat index in x (the first maximum, spatial dims row- or column-major).
func poolT[T real](ctx context.Context, x []T, os []int, g *geom, sp poolSpec, idx []int64) ([]T, error) {
	if len(g.in) == 2 && idx == nil && (sp.kind == poolMax || sp.kind == poolAvg) {
		if xf, ok := any(x).([]float32); ok && sp.kind == poolMax {
			y, err := maxPool2D(ctx, xf, os[0]*os[1], g)
			return any(y).([]T), err
		}
		return pool2D(ctx, x, os[0]*os[1], g, sp)
	}
	planes := os[0] * os[1]
	inSp, outSp := prod(g.in), prod(g.out)
	y := make([]T, planes*outSp)
	nd := len(g.in)
	rowStride := make([]int, nd) // row-major strides of the image
	colStride := make([]int, nd) // column-major strides
	r, c := 1, 1
	for i := nd - 1; i >= 0; i-- {
		rowStride[i] = r
		r *= g.in[i]
	}
	for i := range nd {
		colStride[i] = c
		c *= g.in[i]
	}
	K := prod(g.k)
	low := lowest[T]()
	grain := max(1, (1<<14)/max(1, outSp*K))
	err := workerpool.For(ctx, planes, grain, func(lo, hi int) {
		o := make([]int, nd)
		kk, klo, khi := make([]int, nd), make([]int, nd), make([]int, nd)
		start := make([]int, nd)
		for pl := lo; pl < hi; pl++ {
			src := x[pl*inSp : (pl+1)*inSp]
			dst := y[pl*outSp : (pl+1)*outSp]
			clear(o)
			for oi := range dst {
				for i := range nd {
					start[i] = o[i]*g.s[i] - g.pb[i]
				}
				// Per dim, the kernel offsets [klo, khi) that read the input,
				// and how many read the padded extent (count_include_pad).
				padded, empty := 1, false
				for i := range nd {
					klo[i], khi[i] = span(start[i], g.d[i], g.k[i], 0, g.in[i])
					plo, phi := span(start[i], g.d[i], g.k[i], -g.pb[i], g.in[i]+g.pe[i])
					padded *= phi - plo
					empty = empty || klo[i] >= khi[i]
				}
				best, bestAt, found := low, -1, false
				sum, cnt := 0.0, 0
				if sp.includePad {
					cnt = padded
				}
				copy(kk, klo)
				for !empty {
					off, cm := 0, 0
					for i := range nd {
						p := start[i] + kk[i]*g.d[i]
						off += p * rowStride[i]
						cm += p * colStride[i]
					}
					v := src[off]
					switch sp.kind {
					case poolMax:
						if v > best || !found && v == v {
							best, found = v, true
							bestAt = off
							if sp.colMajor {
								bestAt = cm
							}
						}
					case poolAvg:
						sum += float64(v)
						if !sp.includePad {
							cnt++
						}
					case poolLp:
						sum += math.Pow(math.Abs(float64(v)), sp.p)
					}
					i := nd - 1
					for ; i >= 0; i-- {
						if kk[i]++; kk[i] < khi[i] {
							break
						}
						kk[i] = klo[i]
					}
					empty = i < 0
				}
				switch sp.kind {
				case poolMax:
					if !found { // every position in the padding, or all NaN
						best = low
					}
					dst[oi] = best
					if idx != nil {
						if bestAt >= 0 {
							idx[pl*outSp+oi] = int64(pl*inSp + bestAt)
						} else {
							idx[pl*outSp+oi] = -1
						}
					}
				case poolAvg:
					if cnt > 0 {
						dst[oi] = T(sum / float64(cnt))
					} else {
						dst[oi] = T(math.NaN())
					}
				case poolLp:
					dst[oi] = T(math.Pow(sum, 1/sp.p))
				}
				for i := nd - 1; i >= 0; i-- {
					if o[i]++; o[i] < g.out[i] {
						break
					}
					o[i] = 0
				}
			}
		}
	})
	return y, err
}

// pool2D is poolT for 2-D max and average pooling without indices, the
// pools of CNNs: each window's row and column ranges are clipped to the
// image once per output row and column, and the taps are read along
// contiguous input rows. The results are poolT's.
func pool2D[T real](ctx context.Context, x []T, planes int, g *geom, sp poolSpec) ([]T, error) {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	y := make([]T, planes*OH*OW)
	// Per output column: the kernel columns that read the image, and how
	// many lie in the padded extent.
	cLo, cHi, cPad := make([]int, OW), make([]int, OW), make([]int, OW)
	for ow := range OW {
		ws := ow*g.s[1] - g.pb[1]
		cLo[ow], cHi[ow] = span(ws, g.d[1], g.k[1], 0, W)
		plo, phi := span(ws, g.d[1], g.k[1], -g.pb[1], W+g.pe[1])
		cPad[ow] = phi - plo
	}
	low := lowest[T]()
	dh, dw := g.d[0], g.d[1]
	grain := max(1, (1<<14)/max(1, OH*OW*g.k[0]*g.k[1]))
	err := workerpool.For(ctx, planes, grain, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			src := x[pl*H*W : (pl+1)*H*W]
			dst := y[pl*OH*OW : (pl+1)*OH*OW]
			for oh := range OH {
				hs := oh*g.s[0] - g.pb[0]
				rlo, rhi := span(hs, dh, g.k[0], 0, H)
				plo, phi := span(hs, dh, g.k[0], -g.pb[0], H+g.pe[0])
				row := dst[oh*OW : (oh+1)*OW]
				for ow := range OW {
					ws := ow*g.s[1] - g.pb[1]
					klo, khi := cLo[ow], cHi[ow]
					switch sp.kind {
					case poolMax:
						best, found := low, false
						for kh := rlo; kh < rhi; kh++ {
							r := src[(hs+kh*dh)*W:]
							for kw := klo; kw < khi; kw++ {
								if v := r[ws+kw*dw]; v > best || !found && v == v {
									best, found = v, true
								}
							}
						}
						if !found {
							best = low
						}
						row[ow] = best
					case poolAvg:
						sum := 0.0
						for kh := rlo; kh < rhi; kh++ {
							r := src[(hs+kh*dh)*W:]
							for kw := klo; kw < khi; kw++ {
								sum += float64(r[ws+kw*dw])
							}
						}
						cnt := max(0, rhi-rlo) * max(0, khi-klo)
						if sp.includePad {
							cnt = (phi - plo) * cPad[ow]
						}
						if cnt > 0 {
							row[ow] = T(sum / float64(cnt))
						} else {
							row[ow] = T(math.NaN())
						}
					}
				}
			}
		}
	})
	return y, err
}

// maxPool2D is pool2D's max pooling for float32, separable: per output
// row the maximum over the window's rows is taken for every column
// (skipping NaNs, from −Inf: what pool2D gives), then over each window's
// columns of that row, both with simd.MaxInto; a NaN reaching an output
// sends it back to a NaN-skipping loop.
func maxPool2D(ctx context.Context, x []float32, planes int, g *geom) ([]float32, error) {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	y := newFloats(ctx, planes*OH*OW)
	cLo, cHi := make([]int, OW), make([]int, OW)
	for ow := range OW {
		cLo[ow], cHi[ow] = span(ow*g.s[1]-g.pb[1], g.d[1], g.k[1], 0, W)
	}
	dh, dw := g.d[0], g.d[1]
	low := float32(math.Inf(-1))
	grain := max(1, (1<<14)/max(1, OH*OW*g.k[0]*g.k[1]))
	err := workerpool.For(ctx, planes, grain, func(lo, hi int) {
		col := make([]float32, W)
		win := make([]float32, max(0, W-(g.k[1]-1)*dw))
		for pl := lo; pl < hi; pl++ {
			src := x[pl*H*W : (pl+1)*H*W]
			dst := y[pl*OH*OW : (pl+1)*OH*OW]
			for oh := range OH {
				hs := oh*g.s[0] - g.pb[0]
				rlo, rhi := span(hs, dh, g.k[0], 0, H)
				// MaxInto propagates NaN where pool2D skips it: a NaN in
				// the result sends that output back to the NaN-skipping
				// loop.
				if rlo < rhi {
					copy(col, src[(hs+rlo*dh)*W:(hs+rlo*dh+1)*W])
				} else {
					for i := range col {
						col[i] = low
					}
				}
				for kh := rlo + 1; kh < rhi; kh++ {
					simd.MaxInto(col, src[(hs+kh*dh)*W:(hs+kh*dh+1)*W])
				}
				// win[j]: the maximum over the whole window starting at
				// column j, for the windows inside the image.
				simd.MaxWindow(win, col, g.k[1], dw)
				row := dst[oh*OW : (oh+1)*OW]
				for ow := range row {
					ws := ow*g.s[1] - g.pb[1]
					var best float32
					if ws >= 0 && ws < len(win) {
						best = win[ws]
					} else {
						best = low
						for kw := cLo[ow]; kw < cHi[ow]; kw++ {
							best = max(best, col[ws+kw*dw])
						}
					}
					if best != best {
						best = low
						for kh := rlo; kh < rhi; kh++ {
							r := src[(hs+kh*dh)*W:]
							for kw := cLo[ow]; kw < cHi[ow]; kw++ {
								if v := r[ws+kw*dw]; v > best {
									best = v
								}
							}
						}
					}
					row[ow] = best
				}
			}
		}
	})
	return y, err
}

// poolTo pools x into a tensor of x's type.
func poolTo[T real](ctx context.Context, x []T, os []int, g *geom, sp poolSpec, idx []int64, wrap func([]T) (tensor.Any, error)) (tensor.Any, error) {
	y, err := poolT(ctx, x, os, g, sp, idx)
	if err != nil {
		return nil, err
	}
	return wrap(y)
}

// span returns the kernel offsets [lo, hi) of a window starting at start
// with dilation d and k taps whose positions start+j·d lie in [a, b).
func span(start, d, k, a, b int) (lo, hi int) {
	// start + j·d >= a  ⇔  j >= ceil((a−start)/d)
	if start < a {
		lo = (a - start + d - 1) / d
	}
	// start + j·d < b  ⇔  j <= floor((b−1−start)/d)
	if top := b - 1 - start; top < 0 {
		hi = 0
	} else {
		hi = min(k, top/d+1)
	}
	return min(lo, k), max(hi, min(lo, k))
}

func buildMaxUnpool(n *Node) (Kernel, error) {
	w, err := readWindow(n, "MaxUnpool", true)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, it := in[0], in[1]
		xs := x.Shape()
		if len(xs) < 3 {
			return nil, shapeErr("MaxUnpool input of shape %v, want N×C×D1…", xs)
		}
		if it.DType() != numeric.Int64 || !tensor.SameShape(it.Shape(), xs) {
			return nil, shapeErr("MaxUnpool indices %s%v for input %v, want int64 of the input's shape", it.DType(), it.Shape(), xs)
		}
		sp := xs[2:]
		nd := len(sp)
		if len(w.kernel) != nd {
			return nil, shapeErr("MaxUnpool kernel_shape %v for %d spatial dims", w.kernel, nd)
		}
		wt := &window{op: "MaxUnpool", strides: w.strides, pads: w.pads, autoPad: "NOTSET"}
		g, err := wt.transposeGeom(sp, w.kernel)
		if err != nil {
			return nil, err
		}
		os := append([]int{xs[0], xs[1]}, g.in...)
		idx := it.(*tensor.Tensor[int64]).Data()
		if osT := opt(in, 2); osT != nil {
			// The indices address the unpadded result (pads are ignored);
			// it is placed at the origin of an output of output_shape.
			wt.pads = nil
			gi, err := wt.transposeGeom(sp, w.kernel)
			if err != nil {
				return nil, err
			}
			inferred := append([]int{xs[0], xs[1]}, gi.in...)
			v, err := ints(osT)
			if err != nil {
				return nil, err
			}
			if len(v) != len(xs) {
				return nil, shapeErr("MaxUnpool output_shape %v for input %v", v, xs)
			}
			for i, d := range v {
				if d < 0 || d > maxAttr || (i < 2 && int(d) != xs[i]) {
					return nil, shapeErr("MaxUnpool output_shape %v for input %v", v, xs)
				}
				os[i] = int(d)
			}
			if !equalInts(os, inferred) {
				if idx, err = reindex(idx, inferred, os); err != nil {
					return nil, err
				}
			}
		}
		y, err := newTensor(ctx, x.DType(), os)
		if err != nil {
			return nil, err
		}
		total := int64(prod(os))
		for _, i := range idx {
			if i < 0 || i >= total {
				return nil, shapeErr("MaxUnpool index %d out of range for output %v", i, os)
			}
		}
		if err := scatterAny(x, y, idx); err != nil {
			return nil, err
		}
		return y, nil
	}), nil
}

// reindex maps flat indices into shape from to the same coordinates in
// shape to; a coordinate outside either is an error.
func reindex(idx []int64, from, to []int) ([]int64, error) {
	total := int64(prod(from))
	r := make([]int64, len(idx))
	for k, i := range idx {
		if i < 0 || i >= total {
			return nil, shapeErr("MaxUnpool index %d out of range for the unpooled shape %v", i, from)
		}
		var o, mul int64 = 0, 1
		for d := len(from) - 1; d >= 0; d-- {
			c := i % int64(from[d])
			i /= int64(from[d])
			if c >= int64(to[d]) {
				return nil, shapeErr("MaxUnpool index %d falls outside output_shape %v", idx[k], to)
			}
			o += c * mul
			mul *= int64(to[d])
		}
		r[k] = o
	}
	return r, nil
}

// scatterAny sets y.flat[idx[i]] = x.flat[i] (x and y share a type).
func scatterAny(x, y tensor.Any, idx []int64) error {
	switch xv := x.(type) {
	case *tensor.Tensor[float32]:
		scatter(xv.Data(), y.(*tensor.Tensor[float32]).Data(), idx)
	case *tensor.Tensor[float64]:
		scatter(xv.Data(), y.(*tensor.Tensor[float64]).Data(), idx)
	case *tensor.Tensor[numeric.Float16]:
		scatter(xv.Data(), y.(*tensor.Tensor[numeric.Float16]).Data(), idx)
	case *tensor.Tensor[numeric.BFloat16]:
		scatter(xv.Data(), y.(*tensor.Tensor[numeric.BFloat16]).Data(), idx)
	case *tensor.Tensor[int8]:
		scatter(xv.Data(), y.(*tensor.Tensor[int8]).Data(), idx)
	case *tensor.Tensor[uint8]:
		scatter(xv.Data(), y.(*tensor.Tensor[uint8]).Data(), idx)
	case *tensor.Tensor[int16]:
		scatter(xv.Data(), y.(*tensor.Tensor[int16]).Data(), idx)
	case *tensor.Tensor[int32]:
		scatter(xv.Data(), y.(*tensor.Tensor[int32]).Data(), idx)
	case *tensor.Tensor[int64]:
		scatter(xv.Data(), y.(*tensor.Tensor[int64]).Data(), idx)
	default:
		return typeErr("element type %s is not supported", x.DType())
	}
	return nil
}

func scatter[T any](x, y []T, idx []int64) {
	for i, j := range idx {
		y[j] = x[i]
	}
}

// roiInputs checks X (N×C×H×W, float) and rois (R×cols) and returns them
// as float32.
func roiInputs(op string, x, rois tensor.Any, cols int) (xv, rv []float32, err error) {
	if !isFloat(x.DType()) || x.Dims() != 4 {
		return nil, nil, shapeErr("%s input %s%v, want a float N×C×H×W tensor", op, x.DType(), x.Shape())
	}
	if rois.DType() != x.DType() || rois.Dims() != 2 || rois.Shape()[1] != cols {
		return nil, nil, shapeErr("%s rois %s%v, want %s[num_rois, %d]", op, rois.DType(), rois.Shape(), x.DType(), cols)
	}
	if xv, err = floats(x); err != nil {
		return nil, nil, err
	}
	rv, err = floats(rois)
	return xv, rv, err
}

func buildMaxRoiPool(n *Node) (Kernel, error) {
	ps, err := n.Ints("pooled_shape", nil)
	if err != nil {
		return nil, err
	}
	if len(ps) != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > maxAttr || ps[1] > maxAttr {
		return nil, attrErr("MaxRoiPool pooled_shape %v, want two positive sizes", ps)
	}
	scale, err := n.Float("spatial_scale", 1)
	if err != nil {
		return nil, err
	}
	ph, pw := int(ps[0]), int(ps[1])
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		xv, rv, err := roiInputs("MaxRoiPool", in[0], in[1], 5)
		if err != nil {
			return nil, err
		}
		xs := in[0].Shape()
		nb, c, h, w := xs[0], xs[1], xs[2], xs[3]
		nr := in[1].Shape()[0]
		os := []int{nr, c, ph, pw}
		if err := checkExtra(ctx, in[0].DType(), os, 4*int64(prod(os))); err != nil {
			return nil, err
		}
		y := make([]float32, prod(os))
		for r := range nr {
			roi := rv[r*5 : r*5+5]
			b := int(roi[0])
			if float64(b) != float64(roi[0]) || b < 0 || b >= nb {
				return nil, shapeErr("MaxRoiPool roi %d has batch index %v for a batch of %d", r, roi[0], nb)
			}
			x0 := int(math.Round(float64(roi[1] * scale)))
			y0 := int(math.Round(float64(roi[2] * scale)))
			x1 := int(math.Round(float64(roi[3] * scale)))
			y1 := int(math.Round(float64(roi[4] * scale)))
			rh, rw := max(y1-y0+1, 1), max(x1-x0+1, 1)
			bh, bw := float64(rh)/float64(ph), float64(rw)/float64(pw)
			for ch := range c {
				plane := xv[(b*c+ch)*h*w : (b*c+ch+1)*h*w]
				out := y[(r*c+ch)*ph*pw : (r*c+ch+1)*ph*pw]
				for i := range ph {
					hs := min(max(int(math.Floor(float64(i)*bh))+y0, 0), h)
					he := min(max(int(math.Ceil(float64(i+1)*bh))+y0, 0), h)
					for j := range pw {
						ws := min(max(int(math.Floor(float64(j)*bw))+x0, 0), w)
						we := min(max(int(math.Ceil(float64(j+1)*bw))+x0, 0), w)
						if he <= hs || we <= ws {
							out[i*pw+j] = 0
							continue
						}
						m := float32(math.Inf(-1))
						for yy := hs; yy < he; yy++ {
							for xx := ws; xx < we; xx++ {
								if v := plane[yy*w+xx]; v > m {
									m = v
								}
							}
						}
						out[i*pw+j] = m
					}
				}
			}
		}
		return fromFloats(in[0].DType(), os, y)
	}), nil
}

// buildRoiAlign builds RoiAlign as ONNX Runtime computes it: each output
// bin averages (or, mode max, takes the largest of) sampling_ratio² (or
// ceil(bin size)²) bilinear samples; in max mode a sample is the largest
// of its four weighted neighbours. Opset 16's coordinate_transformation_mode
// half_pixel shifts the roi by half a pixel; output_half_pixel (opset 10's
// only behaviour) does not, and makes every roi at least 1×1.
func buildRoiAlign(n *Node) (Kernel, error) {
	mode, err := n.String("mode", "avg")
	if err != nil {
		return nil, err
	}
	if mode != "avg" && mode != "max" {
		return nil, attrErr("RoiAlign mode %q, want avg or max", mode)
	}
	ctm := "output_half_pixel"
	if n.Opset >= 16 {
		if ctm, err = n.String("coordinate_transformation_mode", "half_pixel"); err != nil {
			return nil, err
		}
		if ctm != "half_pixel" && ctm != "output_half_pixel" {
			return nil, attrErr("RoiAlign coordinate_transformation_mode %q, want half_pixel or output_half_pixel", ctm)
		}
	}
	oh, err := n.Int("output_height", 1)
	if err != nil {
		return nil, err
	}
	ow, err := n.Int("output_width", 1)
	if err != nil {
		return nil, err
	}
	sr, err := n.Int("sampling_ratio", 0)
	if err != nil {
		return nil, err
	}
	scale, err := n.Float("spatial_scale", 1)
	if err != nil {
		return nil, err
	}
	if oh < 1 || ow < 1 || oh > maxAttr || ow > maxAttr || sr < 0 || sr > 1<<16 {
		return nil, attrErr("RoiAlign output_height %d, output_width %d, sampling_ratio %d: want positive sizes and a ratio ≥ 0", oh, ow, sr)
	}
	ph, pw := int(oh), int(ow)
	half := ctm == "half_pixel"
	isMax := mode == "max"
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		xv, rv, err := roiInputs("RoiAlign", in[0], in[1], 4)
		if err != nil {
			return nil, err
		}
		bi, err := ints(in[2])
		if err != nil {
			return nil, err
		}
		xs := in[0].Shape()
		nb, c, h, w := xs[0], xs[1], xs[2], xs[3]
		nr := in[1].Shape()[0]
		if len(bi) != nr || in[2].Dims() != 1 {
			return nil, shapeErr("RoiAlign batch_indices of shape %v for %d rois", in[2].Shape(), nr)
		}
		os := []int{nr, c, ph, pw}
		if err := checkExtra(ctx, in[0].DType(), os, 4*int64(prod(os))); err != nil {
			return nil, err
		}
		y := make([]float32, prod(os))
		off := 0.0
		if half {
			off = 0.5
		}
		for r := range nr {
			b := bi[r]
			if b < 0 || b >= int64(nb) {
				return nil, shapeErr("RoiAlign roi %d has batch index %d for a batch of %d", r, b, nb)
			}
			roi := rv[r*4 : r*4+4]
			sx := float64(roi[0])*float64(scale) - off
			sy := float64(roi[1])*float64(scale) - off
			rw := float64(roi[2])*float64(scale) - off - sx
			rh := float64(roi[3])*float64(scale) - off - sy
			if !half {
				rw, rh = max(rw, 1), max(rh, 1)
			}
			bh, bw := rh/float64(ph), rw/float64(pw)
			gh, gw := int(sr), int(sr)
			if sr == 0 {
				gh, gw = int(math.Ceil(rh/float64(ph))), int(math.Ceil(rw/float64(pw)))
			}
			gh, gw = max(gh, 0), max(gw, 0)
			if gh > 1<<16 || gw > 1<<16 || ph*pw*gh*gw > 1<<26 || ph*pw*gh*gw*c > 1<<30 {
				return nil, shapeErr("RoiAlign roi %d %v gives %d×%d samples per bin", r, roi, gh, gw)
			}
			cnt := float64(max(gh*gw, 1))
			// The sample positions and weights, shared by the channels.
			samples := make([]roiSample, 0, ph*pw*gh*gw)
			for i := range ph {
				for j := range pw {
					for iy := range gh {
						yy := sy + float64(i)*bh + (float64(iy)+0.5)*bh/float64(gh)
						for ix := range gw {
							xx := sx + float64(j)*bw + (float64(ix)+0.5)*bw/float64(gw)
							samples = append(samples, bilinearSample(yy, xx, h, w))
						}
					}
				}
			}
			for ch := range c {
				plane := xv[(int(b)*c+ch)*h*w : (int(b)*c+ch+1)*h*w]
				out := y[(r*c+ch)*ph*pw : (r*c+ch+1)*ph*pw]
				k := 0
				for o := range out {
					acc, first := 0.0, true
					for range gh * gw {
						s := samples[k]
						k++
						var v float64
						if !s.zero {
							if isMax {
								v = max(s.wgt[0]*float64(plane[s.pos[0]]), s.wgt[1]*float64(plane[s.pos[1]]),
									s.wgt[2]*float64(plane[s.pos[2]]), s.wgt[3]*float64(plane[s.pos[3]]))
							} else {
								for q := range 4 {
									v += s.wgt[q] * float64(plane[s.pos[q]])
								}
							}
						}
						if isMax {
							if first || v > acc {
								acc = v
							}
							first = false
						} else {
							acc += v
						}
					}
					if !isMax {
						acc /= cnt
					}
					out[o] = float32(acc)
				}
			}
		}
		return fromFloats(in[0].DType(), os, y)
	}), nil
}

// roiSample is one bilinear sample of RoiAlign: four plane offsets and
// their weights, or zero.
type roiSample struct {
	pos  [4]int
	wgt  [4]float64
	zero bool
}

// bilinearSample returns the four neighbours of (y, x) in an h×w plane and
// their bilinear weights, as ONNX Runtime's RoiAlign computes them: a point
// more than one pixel outside the plane is zero; one within a pixel of it
// is clamped to the border.
func bilinearSample(y, x float64, h, w int) (s roiSample) {
	if y < -1 || y > float64(h) || x < -1 || x > float64(w) {
		s.zero = true
		return s
	}
	y, x = max(y, 0), max(x, 0)
	yl, xl := int(y), int(x)
	yh, xh := yl+1, xl+1
	if yl >= h-1 {
		yl, yh, y = h-1, h-1, float64(h-1)
	}
	if xl >= w-1 {
		xl, xh, x = w-1, w-1, float64(w-1)
	}
	ly, lx := y-float64(yl), x-float64(xl)
	hy, hx := 1-ly, 1-lx
	s.pos = [4]int{yl*w + xl, yl*w + xh, yh*w + xl, yh*w + xh}
	s.wgt = [4]float64{hy * hx, hy * lx, ly * hx, ly * lx}
	return s
}
