package exec

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Conv, ConvTranspose, ConvInteger and QLinearConv, and the sliding-window
// geometry they share with the pools (pool.go).
//
// Float convolutions run as im2col (the input patches of one image and
// group laid out as a (C/group·K)×outputs matrix) times the weights with
// the float32 GEMM of internal/gemm, which runs on the worker pool;
// ConvTranspose multiplies first and scatters the columns back (col2im).
// Float16, bfloat16 and float64 inputs are computed in float32. The integer
// convolutions accumulate in int32 with a plain loop over output channels,
// parallel on the worker pool.

func init() {
	Register("", "Conv", 1, 0, buildConv)
	Register("", "ConvTranspose", 1, 0, buildConvTranspose)
	Register("", "ConvInteger", 10, 0, buildConvInteger(false))
	Register("", "QLinearConv", 10, 0, buildQLinearConv)
}

// maxAttr bounds the sizes read from window attributes (kernel, strides,
// dilations, pads, output_shape) so that no shape arithmetic overflows.
const maxAttr = 1 << 31

// window holds the sliding-window attributes of a node.
type window struct {
	op        string
	autoPad   string // NOTSET, SAME_UPPER, SAME_LOWER or VALID
	kernel    []int  // kernel_shape; nil: taken from the weights
	strides   []int  // nil: ones
	dilations []int  // nil: ones
	pads      []int  // begins then ends; nil: zeros
	ceil      bool   // ceil_mode (pools)
	outPad    []int  // output_padding (ConvTranspose)
	outShape  []int  // output_shape (ConvTranspose)
	group     int    // Conv* group
}

// readWindow reads and checks the window attributes of node n; kernel
// says whether kernel_shape is required (the pools).
func readWindow(n *Node, op string, kernel bool) (*window, error) {
	w := &window{op: op}
	var err error
	if w.autoPad, err = n.String("auto_pad", "NOTSET"); err != nil {
		return nil, err
	}
	switch w.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return nil, attrErr("%s auto_pad %q, want NOTSET, SAME_UPPER, SAME_LOWER or VALID", op, w.autoPad)
	}
	ints := func(name string, lo int64) ([]int, error) {
		v, err := n.Ints(name, nil)
		if err != nil || v == nil {
			return nil, err
		}
		r := make([]int, len(v))
		for i, x := range v {
			if x < lo || x > maxAttr {
				return nil, attrErr("%s %s %v: value %d out of range [%d, %d]", op, name, v, x, lo, int64(maxAttr))
			}
			r[i] = int(x)
		}
		return r, nil
	}
	if w.kernel, err = ints("kernel_shape", 1); err != nil {
		return nil, err
	}
	if kernel && w.kernel == nil {
		return nil, attrErr("%s needs attribute kernel_shape", op)
	}
	if kernel && len(w.kernel) == 0 {
		return nil, attrErr("%s kernel_shape is empty", op)
	}
	if w.strides, err = ints("strides", 1); err != nil {
		return nil, err
	}
	if w.dilations, err = ints("dilations", 1); err != nil {
		return nil, err
	}
	if w.pads, err = ints("pads", 0); err != nil {
		return nil, err
	}
	if len(w.pads)%2 != 0 {
		return nil, attrErr("%s pads %v: odd length", op, w.pads)
	}
	if w.pads != nil && w.autoPad != "NOTSET" {
		// ORT and the reference ignore pads under auto_pad; so do we.
		w.pads = nil
	}
	ceil, err := n.Int("ceil_mode", 0)
	if err != nil {
		return nil, err
	}
	w.ceil = ceil != 0
	g, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > maxAttr {
		return nil, attrErr("%s group %d, want at least 1", op, g)
	}
	w.group = int(g)
	if w.outPad, err = ints("output_padding", 0); err != nil {
		return nil, err
	}
	if w.outShape, err = ints("output_shape", 0); err != nil {
		return nil, err
	}
	rank := len(w.kernel)
	for _, a := range []struct {
		name string
		v    []int
		per  int
	}{{"strides", w.strides, 1}, {"dilations", w.dilations, 1}, {"pads", w.pads, 2}, {"output_padding", w.outPad, 1}} {
		if a.v == nil {
			continue
		}
		if rank == 0 {
			rank = len(a.v) / a.per
		}
		if len(a.v) != a.per*rank {
			return nil, attrErr("%s %s %v has %d values for %d spatial dims", op, a.name, a.v, len(a.v), rank)
		}
	}
	return w, nil
}

// geom is a window's geometry over one input: per spatial dim the input
// size, the kernel size, stride, dilation, begin and end pads and the
// number of window positions (the output size).
type geom struct {
	in, k, s, d, pb, pe, out []int
}

func ones(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = 1
	}
	return r
}

// resolve computes the geometry of w over an input of spatial dims in with
// kernel dims k (nil: kernel_shape).
func (w *window) resolve(in, k []int) (*geom, error) {
	nd := len(in)
	if nd == 0 {
		return nil, shapeErr("%s input has no spatial dims", w.op)
	}
	if k == nil {
		k = w.kernel
	}
	if len(k) != nd {
		return nil, shapeErr("%s kernel %v for %d spatial dims %v", w.op, k, nd, in)
	}
	g := &geom{in: in, k: k, s: w.strides, d: w.dilations, pb: make([]int, nd), pe: make([]int, nd), out: make([]int, nd)}
	for _, a := range [][]int{w.strides, w.dilations, w.outPad} {
		if a != nil && len(a) != nd {
			return nil, shapeErr("%s attributes are for %d spatial dims, input has %d (%v)", w.op, len(a), nd, in)
		}
	}
	if w.pads != nil && len(w.pads) != 2*nd {
		return nil, shapeErr("%s pads %v are for %d spatial dims, input has %d (%v)", w.op, w.pads, len(w.pads)/2, nd, in)
	}
	if g.s == nil {
		g.s = ones(nd)
	}
	if g.d == nil {
		g.d = ones(nd)
	}
	for i := range nd {
		dk := (k[i]-1)*g.d[i] + 1
		switch w.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			g.out[i] = (in[i] + g.s[i] - 1) / g.s[i]
			total := max(0, (g.out[i]-1)*g.s[i]+dk-in[i])
			g.pb[i] = total / 2
			if w.autoPad == "SAME_LOWER" {
				g.pb[i] = total - total/2
			}
			g.pe[i] = total - g.pb[i]
			continue
		case "NOTSET":
			if w.pads != nil {
				g.pb[i], g.pe[i] = w.pads[i], w.pads[i+nd]
			}
		}
		span := in[i] + g.pb[i] + g.pe[i] - dk
		if span < 0 {
			return nil, shapeErr("%s kernel %v (dilated extent %d) is larger than the padded input (%d) in spatial dim %d of %v", w.op, k, dk, in[i]+g.pb[i]+g.pe[i], i, in)
		}
		g.out[i] = span/g.s[i] + 1
		if w.ceil && span%g.s[i] != 0 {
			g.out[i]++
			// The last window must start inside the input or its begin padding.
			if (g.out[i]-1)*g.s[i] >= in[i]+g.pb[i] {
				g.out[i]--
			}
		}
	}
	return g, nil
}

// runs visits one row of the im2col matrix of g: the kernel offset kk
// (one index per spatial dim) at every window position. For each maximal
// run of window positions along the last dim that falls inside the image,
// fn gets the index of its first position (in the flattened positions),
// the flattened image offset it reads, and the run's length; consecutive
// positions of a run read the image s[last] elements apart. Positions that
// fall in the padding are not visited. idx is scratch of len(in)-1.
func (g *geom) runs(kk, idx []int, fn func(c0, img0, n int)) {
	outer := 1
	for _, d := range g.out[:len(g.out)-1] {
		outer *= d
	}
	g.runsIn(kk, idx, 0, outer, fn)
}

// runsIn is runs over the outer positions (window positions less the last
// dim) o0 ≤ o < o1 only; c0 still counts from position 0.
func (g *geom) runsIn(kk, idx []int, o0, o1 int, fn func(c0, img0, n int)) {
	nd := len(g.in)
	last := nd - 1
	nl, il, sl := g.out[last], g.in[last], g.s[last]
	b := kk[last]*g.d[last] - g.pb[last] // image coordinate of position 0
	// positions j with 0 <= j*sl+b < il
	lo := 0
	if b < 0 {
		lo = (-b + sl - 1) / sl
	}
	hi := nl
	if top := il - 1 - b; top < 0 {
		hi = 0
	} else {
		hi = min(hi, top/sl+1)
	}
	if lo >= hi {
		return
	}
	for i, r := last-1, o0; i >= 0; i-- {
		idx[i] = r % g.out[i]
		r /= g.out[i]
	}
	for o := o0; o < o1; o++ {
		off, ok := 0, true
		for i := range last {
			p := idx[i]*g.s[i] + kk[i]*g.d[i] - g.pb[i]
			if p < 0 || p >= g.in[i] {
				ok = false
				break
			}
			off = off*g.in[i] + p
		}
		if ok {
			fn(o*nl+lo, off*il+lo*sl+b, hi-lo)
		}
		for i := last - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < g.out[i] {
				break
			}
			idx[i] = 0
		}
	}
}

// kernelIndex sets kk to the multi-index of flattened kernel offset r.
func kernelIndex(k []int, r int, kk []int) {
	for i := len(k) - 1; i >= 0; i-- {
		kk[i] = r % k[i]
		r /= k[i]
	}
}

// im2col fills col (C·K rows, one per channel and kernel offset, of
// prod(g.out) columns) from x (C channels of prod(g.in) elements), with
// zeros where a window reads the padding. Rows are filled in parallel.
func im2col[T any](ctx context.Context, x []T, c int, g *geom, col []T) error {
	outer := prod(g.out) / max(g.out[len(g.out)-1], 1)
	return im2colBlock(ctx, x, c, g, col, 0, outer)
}

// im2colBlock fills col with the im2col columns of the outer window
// positions o0 ≤ o < o1 (each g.out[last] columns): C·K rows of
// (o1−o0)·g.out[last] columns.
func im2colBlock[T any](ctx context.Context, x []T, c int, g *geom, col []T, o0, o1 int) error {
	K, inSp := prod(g.k), prod(g.in)
	nd := len(g.in)
	sl, nl := g.s[nd-1], g.out[nd-1]
	w := (o1 - o0) * nl // columns
	base := o0 * nl
	grain := max(1, (1<<14)/max(w, 1))
	return workerpool.For(ctx, c*K, grain, func(lo, hi int) {
		kk, idx := make([]int, nd), make([]int, nd)
		for r := lo; r < hi; r++ {
			ch := r / K
			kernelIndex(g.k, r%K, kk)
			row := col[r*w : (r+1)*w]
			src := x[ch*inSp : (ch+1)*inSp]
			next := 0 // row[:next] is written
			g.runsIn(kk, idx, o0, o1, func(c0, img0, n int) {
				c0 -= base
				clear(row[next:c0])
				dst := row[c0 : c0+n]
				next = c0 + n
				if sl == 1 {
					copy(dst, src[img0:img0+n])
					return
				}
				for j := range dst {
					dst[j] = src[img0+j*sl]
				}
			})
			clear(row[next:])
		}
	})
}

// colBlock returns how many outer window positions (rows of g.out's last
// dim) Conv turns into im2col columns and multiplies at once: about 256K
// values, so that the block stays in cache between im2col and the GEMM's
// packing, but at least 1024 columns, below which the GEMM runs slower.
func colBlock(rows int, g *geom) (outerPerBlock int) {
	nl := max(g.out[len(g.out)-1], 1)
	return max(1, (1<<18)/max(rows*nl, 1), (1024+nl-1)/nl)
}

// colPool recycles im2col buffers between calls.
var colPool = sync.Pool{New: func() any { return new([]float32) }}

// pointwise reports whether g is a 1×…×1 window with unit strides and no
// padding: then the im2col matrix is the input itself.
func (g *geom) pointwise() bool {
	for i := range g.in {
		if g.k[i] != 1 || g.s[i] != 1 || g.pb[i] != 0 || g.pe[i] != 0 {
			return false
		}
	}
	return true
}

// checkExtra checks an output of element type dt and the given shape
// against the run's budget together with extra bytes of scratch (a
// negative extra, from an overflowed size, fails).
func checkExtra(ctx context.Context, dt numeric.DType, shape []int, extra int64) error {
	if err := checkOut(ctx, dt, shape); err != nil {
		return err // the output alone is too large (or its size overflows)
	}
	n := int64(max(prod(shape), 1)) // no overflow: the output fits the budget
	if extra < 0 {
		extra = math.MaxInt64 - n
	}
	per := int64(dt.Size()) + extra/n + 1
	if per > math.MaxInt32 {
		per = math.MaxInt32
	}
	return checkWork(ctx, int(per), dt, shape)
}

// convShapes checks X and W of a convolution (W is M×C/group×k… for Conv,
// C×M/group×k… for ConvTranspose) and returns N, C and the spatial dims.
func convShapes(w *window, xs, ws []int, transpose bool) (n, c int, sp []int, err error) {
	if len(xs) < 3 {
		return 0, 0, nil, shapeErr("%s input of shape %v, want N×C×D1…", w.op, xs)
	}
	if len(ws) != len(xs) {
		return 0, 0, nil, shapeErr("%s weights of shape %v for input %v: ranks differ", w.op, ws, xs)
	}
	n, c, sp = xs[0], xs[1], xs[2:]
	if w.kernel != nil && !equalInts(w.kernel, ws[2:]) {
		return 0, 0, nil, shapeErr("%s kernel_shape %v, but weights have shape %v", w.op, w.kernel, ws)
	}
	if c%w.group != 0 {
		return 0, 0, nil, shapeErr("%s group %d does not divide the %d input channels", w.op, w.group, c)
	}
	if transpose {
		if ws[0] != c {
			return 0, 0, nil, shapeErr("%s weights of shape %v for %d input channels", w.op, ws, c)
		}
	} else {
		if ws[1]*w.group != c {
			return 0, 0, nil, shapeErr("%s weights of shape %v with group %d for %d input channels (want %d per group)", w.op, ws, w.group, c, c/w.group)
		}
		if ws[0]%w.group != 0 {
			return 0, 0, nil, shapeErr("%s group %d does not divide the %d output channels", w.op, w.group, ws[0])
		}
	}
	for _, d := range ws[2:] {
		if d < 1 {
			return 0, 0, nil, shapeErr("%s weights of shape %v: empty kernel", w.op, ws)
		}
	}
	return n, c, sp, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// convGeom checks a (non-transposed) convolution's input and weight
// shapes and resolves its geometry: batch, input channels, input spatial
// shape and the window over it.
func convGeom(w *window, xs, ws []int) (nb, c int, sp []int, g *geom, err error) {
	if nb, c, sp, err = convShapes(w, xs, ws, false); err != nil {
		return 0, 0, nil, nil, err
	}
	if g, err = w.resolve(sp, ws[2:]); err != nil {
		return 0, 0, nil, nil, err
	}
	return nb, c, sp, g, nil
}

// convBias returns bias input b (nil or m values) as float32.
func convBias(op string, b tensor.Any, m int) ([]float32, error) {
	if b == nil {
		return nil, nil
	}
	if b.Size() != m || b.Dims() != 1 {
		return nil, shapeErr("%s bias of shape %v for %d output channels", op, b.Shape(), m)
	}
	return floats(b)
}

func buildConv(n *Node) (Kernel, error) {
	w, err := readWindow(n, "Conv", false)
	if err != nil {
		return nil, err
	}
	f := newConvFusion(n)
	f.group = w.group
	n.fuse = f
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, wt := in[0], in[1]
		if !isFloat(x.DType()) || x.DType() != wt.DType() {
			return nil, typeErr("Conv of %s and %s, want one float type", x.DType(), wt.DType())
		}
		xs, ws := x.Shape(), wt.Shape()
		nb, c, sp, g, err := convGeom(w, xs, ws)
		if err != nil {
			return nil, err
		}
		m := ws[0]
		bias, err := convBias("Conv", opt(in, 2), m)
		if err != nil {
			return nil, err
		}
		if f.b != nil { // folded
			bias = f.b
		}
		os := append([]int{nb, m}, g.out...)
		cg, mg, K := c/w.group, m/w.group, prod(ws[2:])
		inSp, outSp := prod(sp), prod(g.out)
		extra := int64(4) * int64(prod(os)) // float32 result
		if !g.pointwise() && !(cg == 1 && len(sp) == 2 && w.group > 1) {
			// one block of the im2col matrix
			nl := int64(max(g.out[len(g.out)-1], 1))
			extra += 4 * int64(cg) * int64(K) * (min(int64(colBlock(cg*K, g))*nl, int64(outSp)) + 64) // + the GEMM's panel rounding
		}
		if x.DType() != numeric.Float32 {
			extra += 4 * int64(x.Size()+wt.Size())
		}
		if err := checkExtra(ctx, x.DType(), os, extra); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		wv, err := floats(wt)
		if err != nil {
			return nil, err
		}
		if f.w != nil {
			wv = f.w
		}
		y := newFloats(ctx, prod(os))
		nl := g.out[len(g.out)-1]
		outer := outSp / max(nl, 1)
		per := colBlock(cg*K, g) // outer positions per im2col block
		var col []float32
		depthwise := cg == 1 && len(sp) == 2 && w.group > 1 // one input channel per group
		var res []float32
		if x.DType() == numeric.Float32 {
			res = f.residual(in, os)
		}
		unfused := f.res >= 0 && res == nil // a residual the fused pass cannot add
		packed := f.packed != nil && !depthwise && x.DType() == numeric.Float32 && outSp > 0
		if packed {
			epi := &convEpi{bias: bias, res: res, relu: f.relu && !unfused}
			if err := convPacked(ctx, f.packed, xv, y, nb, c, m, w.group, g, per, epi); err != nil {
				return nil, err
			}
			bias = nil // applied
		}
		if !g.pointwise() && outSp > 0 && !depthwise && !packed {
			n := cg * K * min(per, outer) * nl
			buf := colPool.Get().(*[]float32)
			defer colPool.Put(buf)
			if cap(*buf) < n {
				*buf = make([]float32, n)
			}
			col = (*buf)[:n]
		}
		if depthwise {
			epi := &convEpi{bias: bias, res: res, relu: f.relu && !unfused}
			if err := depthwise2D(ctx, xv, wv, y, nb, c, mg, g, epi); err != nil {
				return nil, err
			}
			bias = nil // applied
		}
		for b := range nb {
			for gi := range w.group {
				if depthwise || packed {
					break
				}
				xg := xv[(b*c+gi*cg)*inSp : (b*c+(gi+1)*cg)*inSp]
				yg := y[(b*m+gi*mg)*outSp : (b*m+(gi+1)*mg)*outSp]
				wg := wv[gi*mg*cg*K : (gi+1)*mg*cg*K]
				if col == nil { // pointwise: the input is the im2col matrix
					if err := gemm.Sgemm(ctx, false, false, mg, outSp, cg*K, 1, wg, cg*K, xg, outSp, 0, yg, outSp); err != nil {
						return nil, err
					}
					continue
				}
				for o0 := 0; o0 < outer; o0 += per {
					o1 := min(o0+per, outer)
					cols := (o1 - o0) * nl
					if err := im2colBlock(ctx, xg, cg, g, col, o0, o1); err != nil {
						return nil, err
					}
					if err := gemm.Sgemm(ctx, false, false, mg, cols, cg*K, 1, wg, cg*K, col[:cg*K*cols], cols, 0, yg[o0*nl:], outSp); err != nil {
						return nil, err
					}
				}
			}
		}
		if unfused {
			if err := convEpilogue(ctx, y, bias, nil, false, nb, m, outSp); err != nil {
				return nil, err
			}
			yt, err := fromFloats(x.DType(), os, y)
			if err != nil {
				return nil, err
			}
			return f.unfused(ctx, yt, in)
		}
		if !packed && !depthwise {
			if err := convEpilogue(ctx, y, bias, res, f.relu, nb, m, outSp); err != nil {
				return nil, err
			}
		}
		return fromFloats(x.DType(), os, y)
	}), nil
}

// addBias adds bias[m] to every element of channel m of y (nb×m×sp).
func addBias(y, bias []float32, nb, m, sp int) {
	if bias == nil {
		return
	}
	for b := range nb {
		for j := range m {
			row := y[(b*m+j)*sp : (b*m+j+1)*sp]
			v := bias[j]
			for i := range row {
				row[i] += v
			}
		}
	}
}

// transposeGeom computes the geometry of ConvTranspose: g.in holds the
// output's spatial dims (the image col2im writes), g.out the input's (the
// window positions), following the ONNX rules for pads, auto_pad,
// output_padding and output_shape.
func (w *window) transposeGeom(sp, k []int) (*geom, error) {
	nd := len(sp)
	if len(k) != nd {
		return nil, shapeErr("%s kernel %v for %d spatial dims", w.op, k, nd)
	}
	for _, a := range [][]int{w.strides, w.dilations, w.outPad} {
		if a != nil && len(a) != nd {
			return nil, shapeErr("%s attributes are for %d spatial dims, input has %d (%v)", w.op, len(a), nd, sp)
		}
	}
	if w.pads != nil && len(w.pads) != 2*nd {
		return nil, shapeErr("%s pads %v are for %d spatial dims, input has %d (%v)", w.op, w.pads, len(w.pads)/2, nd, sp)
	}
	if w.outShape != nil && len(w.outShape) != nd && len(w.outShape) != nd+2 {
		return nil, shapeErr("%s output_shape %v for %d spatial dims", w.op, w.outShape, nd)
	}
	g := &geom{out: sp, k: k, s: w.strides, d: w.dilations, in: make([]int, nd), pb: make([]int, nd), pe: make([]int, nd)}
	if g.s == nil {
		g.s = ones(nd)
	}
	if g.d == nil {
		g.d = ones(nd)
	}
	for i := range nd {
		op := 0
		if w.outPad != nil {
			op = w.outPad[i]
			if op >= g.s[i] && op >= g.d[i] {
				return nil, shapeErr("%s output_padding %v must be smaller than the stride or the dilation", w.op, w.outPad)
			}
		}
		full := g.s[i]*(sp[i]-1) + op + (k[i]-1)*g.d[i] + 1
		var total int
		switch {
		case w.outShape != nil:
			g.in[i] = w.outShape[len(w.outShape)-nd+i]
			total = max(0, full-g.in[i])
		case w.autoPad == "SAME_UPPER" || w.autoPad == "SAME_LOWER":
			g.in[i] = sp[i] * g.s[i]
			total = max(0, full-g.in[i])
		default:
			if w.pads != nil && w.autoPad == "NOTSET" {
				g.pb[i], g.pe[i] = w.pads[i], w.pads[i+nd]
			}
			g.in[i] = full - g.pb[i] - g.pe[i]
			if g.in[i] < 0 {
				return nil, shapeErr("%s pads %v exceed the output extent %d in spatial dim %d", w.op, w.pads, full, i)
			}
			continue
		}
		if w.autoPad == "SAME_UPPER" {
			g.pb[i] = total / 2
		} else {
			g.pb[i] = total - total/2
		}
		g.pe[i] = total - g.pb[i]
	}
	return g, nil
}

func buildConvTranspose(n *Node) (Kernel, error) {
	w, err := readWindow(n, "ConvTranspose", false)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x, wt := in[0], in[1]
		if !isFloat(x.DType()) || x.DType() != wt.DType() {
			return nil, typeErr("ConvTranspose of %s and %s, want one float type", x.DType(), wt.DType())
		}
		xs, ws := x.Shape(), wt.Shape()
		nb, c, sp, err := convShapes(w, xs, ws, true)
		if err != nil {
			return nil, err
		}
		g, err := w.transposeGeom(sp, ws[2:])
		if err != nil {
			return nil, err
		}
		cg, mg, K := c/w.group, ws[1], prod(ws[2:])
		m := mg * w.group
		bias, err := convBias("ConvTranspose", opt(in, 2), m)
		if err != nil {
			return nil, err
		}
		os := append([]int{nb, m}, g.in...)
		inSp, outSp := prod(sp), prod(g.in)
		extra := 4*int64(prod(os)) + 4*int64(mg)*int64(K)*int64(inSp)
		if x.DType() != numeric.Float32 {
			extra += 4 * int64(x.Size()+wt.Size())
		}
		if err := checkExtra(ctx, x.DType(), os, extra); err != nil {
			return nil, err
		}
		xv, err := floats(x)
		if err != nil {
			return nil, err
		}
		wv, err := floats(wt)
		if err != nil {
			return nil, err
		}
		y := make([]float32, prod(os))
		col := make([]float32, mg*K*inSp)
		nd := len(sp)
		sl := g.s[nd-1]
		for b := range nb {
			for gi := range w.group {
				xg := xv[(b*c+gi*cg)*inSp : (b*c+(gi+1)*cg)*inSp]
				wg := wv[gi*cg*mg*K : (gi+1)*cg*mg*K]
				// col (mg·K × inSp) = wgᵀ (wg is cg × mg·K) · xg (cg × inSp)
				if err := gemm.Sgemm(ctx, true, false, mg*K, inSp, cg, 1, wg, mg*K, xg, inSp, 0, col, inSp); err != nil {
					return nil, err
				}
				yg := y[(b*m+gi*mg)*outSp : (b*m+(gi+1)*mg)*outSp]
				err := workerpool.For(ctx, mg, 1, func(lo, hi int) {
					kk, idx := make([]int, nd), make([]int, nd)
					for j := lo; j < hi; j++ {
						dst := yg[j*outSp : (j+1)*outSp]
						for r := range K {
							kernelIndex(g.k, r, kk)
							row := col[(j*K+r)*inSp : (j*K+r+1)*inSp]
							g.runs(kk, idx, func(c0, img0, n int) {
								src := row[c0 : c0+n]
								for t, v := range src {
									dst[img0+t*sl] += v
								}
							})
						}
					}
				})
				if err != nil {
					return nil, err
				}
			}
		}
		addBias(y, bias, nb, m, outSp)
		return fromFloats(x.DType(), os, y)
	}), nil
}

// convZeroPoints returns zero point input zp (nil: 0) as int32 values: one,
// or one per channel (n) when perChannel.
func convZeroPoints(op, name string, zp tensor.Any, want numeric.DType, n int, perChannel bool) ([]int32, error) {
	if zp == nil {
		return []int32{0}, nil
	}
	if zp.DType() != want {
		return nil, typeErr("%s %s of type %s, want %s like its tensor", op, name, zp.DType(), want)
	}
	if zp.Size() != 1 && (!perChannel || zp.Size() != n || zp.Dims() != 1) {
		return nil, shapeErr("%s %s of shape %v, want a scalar%s", op, name, zp.Shape(), map[bool]string{true: fmt.Sprintf(" or %d values", n)}[perChannel])
	}
	v, err := ints(zp)
	if err != nil {
		return nil, err
	}
	return convSlice[int64, int32](v), nil
}

// convScales returns scale input s as float32: one, or n when perChannel.
func convScales(op, name string, s tensor.Any, n int, perChannel bool) ([]float32, error) {
	if s.DType() != numeric.Float32 {
		return nil, typeErr("%s %s of type %s, want float32", op, name, s.DType())
	}
	if s.Size() != 1 && (!perChannel || s.Size() != n || s.Dims() != 1) {
		return nil, shapeErr("%s %s of shape %v, want a scalar%s", op, name, s.Shape(), map[bool]string{true: fmt.Sprintf(" or %d values", n)}[perChannel])
	}
	return floats(s)
}

// int8s returns an int8 or uint8 tensor's values as int32 less zero point zp.
func int8s(t tensor.Any, zp int32) []int32 {
	r := make([]int32, t.Size())
	switch v := t.(type) {
	case *tensor.Tensor[uint8]:
		for i, x := range v.Data() {
			r[i] = int32(x) - zp
		}
	case *tensor.Tensor[int8]:
		for i, x := range v.Data() {
			r[i] = int32(x) - zp
		}
	}
	return r
}

// buildConvInteger builds ConvInteger (inputs x, w, x_zero_point,
// w_zero_point; int32 output) and, with q, QLinearConv (x, x_scale,
// x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B), which
// requantizes the int32 sums (plus the int32 bias) to y's type as ONNX
// Runtime does: acc·(x_scale·w_scale/y_scale) in float32, clamped to the
// type's range less the zero point, rounded half to even, plus the zero
// point. The padding holds x's zero point (it adds nothing).
func buildConvInteger(q bool) BuildFunc {
	op := "ConvInteger"
	if q {
		op = "QLinearConv"
	}
	return func(n *Node) (Kernel, error) {
		w, err := readWindow(n, op, false)
		if err != nil {
			return nil, err
		}
		var qc *qconv // the fast form, where the weights allow it
		if q {
			qc = newQConv(n, w)
		}
		if qc != nil {
			return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
				if err := need(in, 8); err != nil {
					return nil, err
				}
				return qc.run(ctx, in[0])
			}), nil
		}
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			var x, wt, xzpT, wzpT, xsT, wsT, ysT, yzpT, bT tensor.Any
			if q {
				if err := need(in, 8); err != nil {
					return nil, err
				}
				x, xsT, xzpT, wt, wsT, wzpT, ysT, yzpT, bT = in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], opt(in, 8)
			} else {
				if err := need(in, 2); err != nil {
					return nil, err
				}
				x, wt, xzpT, wzpT = in[0], in[1], opt(in, 2), opt(in, 3)
			}
			for _, t := range []tensor.Any{x, wt} {
				if dt := t.DType(); dt != numeric.Int8 && dt != numeric.Uint8 {
					return nil, typeErr("%s of %s and %s, want int8 or uint8", op, x.DType(), wt.DType())
				}
			}
			xs, ws := x.Shape(), wt.Shape()
			nb, c, sp, g, err := convGeom(w, xs, ws)
			if err != nil {
				return nil, err
			}
			m := ws[0]
			xzp, err := convZeroPoints(op, "x_zero_point", xzpT, x.DType(), 1, false)
			if err != nil {
				return nil, err
			}
			wzp, err := convZeroPoints(op, "w_zero_point", wzpT, wt.DType(), m, true)
			if err != nil {
				return nil, err
			}
			outDT := numeric.Int32
			var scale []float32
			var yzp []int32
			var bias []int32
			if q {
				if yzpT.DType() != numeric.Int8 && yzpT.DType() != numeric.Uint8 {
					return nil, typeErr("%s y_zero_point of type %s, want int8 or uint8", op, yzpT.DType())
				}
				outDT = yzpT.DType()
				if yzp, err = convZeroPoints(op, "y_zero_point", yzpT, outDT, 1, false); err != nil {
					return nil, err
				}
				xsc, err := convScales(op, "x_scale", xsT, 1, false)
				if err != nil {
					return nil, err
				}
				wsc, err := convScales(op, "w_scale", wsT, m, true)
				if err != nil {
					return nil, err
				}
				ysc, err := convScales(op, "y_scale", ysT, 1, false)
				if err != nil {
					return nil, err
				}
				scale = make([]float32, m)
				for j := range scale {
					scale[j] = xsc[0] * wsc[j%len(wsc)] / ysc[0]
				}
				if bT != nil {
					if bT.DType() != numeric.Int32 || bT.Dims() != 1 || bT.Size() != m {
						return nil, shapeErr("%s bias %s%v, want int32[%d]", op, bT.DType(), bT.Shape(), m)
					}
					bias = bT.(*tensor.Tensor[int32]).Data()
				}
			}
			os := append([]int{nb, m}, g.out...)
			cg, mg, K := c/w.group, m/w.group, prod(ws[2:])
			inSp, outSp := prod(sp), prod(g.out)
			extra := 4*int64(prod(os)) + 4*int64(cg)*int64(K)*int64(outSp) + 4*int64(x.Size()+wt.Size())
			if err := checkExtra(ctx, outDT, os, extra); err != nil {
				return nil, err
			}
			xv := int8s(x, xzp[0])
			wv := int8s(wt, 0)
			for j := range m {
				z := wzp[j%len(wzp)]
				row := wv[j*cg*K : (j+1)*cg*K]
				for i := range row {
					row[i] -= z
				}
			}
			acc := make([]int32, prod(os))
			col := make([]int32, cg*K*outSp)
			for b := range nb {
				for gi := range w.group {
					xg := xv[(b*c+gi*cg)*inSp : (b*c+(gi+1)*cg)*inSp]
					if err := im2col(ctx, xg, cg, g, col); err != nil {
						return nil, err
					}
					yg := acc[(b*m+gi*mg)*outSp : (b*m+(gi+1)*mg)*outSp]
					wg := wv[gi*mg*cg*K : (gi+1)*mg*cg*K]
					grain := max(1, (1<<16)/max(1, cg*K*outSp))
					err := workerpool.For(ctx, mg, grain, func(lo, hi int) {
						for j := lo; j < hi; j++ {
							dst := yg[j*outSp : (j+1)*outSp]
							for p, wvv := range wg[j*cg*K : (j+1)*cg*K] {
								if wvv == 0 {
									continue
								}
								src := col[p*outSp : (p+1)*outSp]
								for t, v := range src {
									dst[t] += wvv * v
								}
							}
						}
					})
					if err != nil {
						return nil, err
					}
				}
			}
			if !q {
				return tensor.New(os, acc)
			}
			lo, hi := int32(-128), int32(127)
			if outDT == numeric.Uint8 {
				lo, hi = 0, 255
			}
			z := yzp[0]
			fmin, fmax := float32(lo-z), float32(hi-z)
			requant := func(j int, v int32) int32 {
				if bias != nil {
					v += bias[j]
				}
				f := float32(v) * scale[j]
				f = min(max(f, fmin), fmax)
				return int32(math.RoundToEven(float64(f))) + z
			}
			if outDT == numeric.Uint8 {
				out := make([]uint8, len(acc))
				for i, v := range acc {
					out[i] = uint8(requant(i/outSp%m, v))
				}
				return tensor.New(os, out)
			}
			out := make([]int8, len(acc))
			for i, v := range acc {
				out[i] = int8(requant(i/outSp%m, v))
			}
			return tensor.New(os, out)
		}), nil
	}
}
