package exec

import (
	"context"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// qconv is a 2-D QLinearConv whose weights, scales, zero points and bias
// are initializers: the weights are packed once for qgemm.I8 (VPDPBUSD
// where the CPU has it) as the K×M matrix B[(ky·kw + kx)·C + c][m] =
// W[m][c][ky][kx], so that each row of A, one output position, is the
// window read from the image in NHWC order: for every kernel row one run
// of kw·C contiguous bytes. An NCHW image is transposed to NHWC once per
// run; the products are requantized row by row (simd.Requant) and, for an
// NCHW output, transposed back. Inside a QDQ CNN the fused integer ops
// pass NHWC codes to each other (qnhwc.go) and neither transpose runs.
//
// Σ_k (a−za)(b−zb) = Σ a·b' − t·Σa − za·Σb' + K·za·t with b' the packed
// codes (b − off) and t = zb − off the same for every channel: the last
// two terms and the bias are folded into one value per channel (sub),
// −t·Σa into one per row (computed only when t ≠ 0).
type qconv struct {
	w        *window
	ws       []int // weight shape [M, C, kh, kw]
	b        *qgemm.I8
	t        int32 // zb − off
	xzp      int32 // x's zero point in x's codes
	yzp      int32
	xDT      numeric.DType
	outDT    numeric.DType
	lo, hi   float32   // the code range less y's zero point
	mult     []float32 // per channel: x_scale·w_scale/y_scale
	bias     []int32   // per channel (nil: none)
	colSum   []int32
	kRow, kk int // kw·C; K (b holds K rounded up to a multiple of 4)
	// bw is b with each kernel row padded by zero weights to kRowW bytes,
	// a multiple of 4 (b itself where kRow is one), for the products that
	// read the windows in place from the image (qgemm.I8.MulU8Win)
	bw    *qgemm.I8
	kRowW int

	inNHWC, outNHWC bool // the layouts of x and y (attrNHWC)
}

// newQConv returns the fast form of QLinearConv node n when its inputs
// allow it (2-D, one group, constant parameters, the same weight zero
// point for every channel), else nil (the general kernel runs).
func newQConv(n *Node, w *window) *qconv {
	wt := n.Const(3)
	if wt == nil || w.group != 1 || len(wt.Shape()) != 4 {
		return nil
	}
	for _, i := range []int{1, 2, 4, 6, 7} {
		if n.NumInputs() <= i || n.Const(i) == nil {
			return nil
		}
	}
	if n.NumInputs() > 5 && n.Proto.GetInput()[5] != "" && n.Const(5) == nil {
		return nil
	}
	if n.NumInputs() > 8 && n.Proto.GetInput()[8] != "" && n.Const(8) == nil {
		return nil
	}
	ws := wt.Shape()
	m, c, kh, kw := ws[0], ws[1], ws[2], ws[3]
	xdt := n.Const(2).DType()
	if xdt != numeric.Uint8 && xdt != numeric.Int8 {
		return nil
	}
	xzp, err := convZeroPoints("QLinearConv", "x_zero_point", n.Const(2), xdt, 1, false)
	if err != nil {
		return nil
	}
	wzp, err := convZeroPoints("QLinearConv", "w_zero_point", opt([]tensor.Any{n.Const(5)}, 0), wt.DType(), m, true)
	if err != nil {
		return nil
	}
	for _, z := range wzp {
		if z != wzp[0] {
			return nil
		}
	}
	yzpT := n.Const(7)
	if yzpT.DType() != numeric.Int8 && yzpT.DType() != numeric.Uint8 {
		return nil
	}
	yzp, err := convZeroPoints("QLinearConv", "y_zero_point", yzpT, yzpT.DType(), 1, false)
	if err != nil {
		return nil
	}
	xs, err1 := convScales("QLinearConv", "x_scale", n.Const(1), 1, false)
	wsc, err2 := convScales("QLinearConv", "w_scale", n.Const(4), m, true)
	ys, err3 := convScales("QLinearConv", "y_scale", n.Const(6), 1, false)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	q := &qconv{w: w, ws: ws, xDT: xdt, xzp: xzp[0], yzp: yzp[0], outDT: yzpT.DType(), kRow: kw * c, kk: c * kh * kw}
	var off int32
	// K padded with zero weights (the padding of each row of A is never
	// read as data), so that the kernels take rows of A in place
	kPad := (q.kk + 3) &^ 3
	// wAt is element (k, j) of the K×M weight matrix, k < K
	var wAt func(k, j int) int8
	switch d := wt.(type) {
	case *tensor.Tensor[int8]:
		v := d.Data()
		wAt = func(k, j int) int8 {
			ky, r := k/q.kRow, k%q.kRow
			kx, ci := r/c, r%c
			return v[((j*c+ci)*kh+ky)*kw+kx]
		}
	case *tensor.Tensor[uint8]:
		v := d.Data()
		off = 128
		wAt = func(k, j int) int8 {
			ky, r := k/q.kRow, k%q.kRow
			kx, ci := r/c, r%c
			return int8(v[((j*c+ci)*kh+ky)*kw+kx] ^ 0x80)
		}
	default:
		return nil
	}
	q.b = qgemm.PackI8(kPad, m, func(k, j int) int8 {
		if k >= q.kk {
			return 0
		}
		return wAt(k, j)
	})
	q.t = wzp[0] - off
	lo, hi, _ := quantRange(q.outDT)
	q.lo, q.hi = float32(lo-q.yzp), float32(hi-q.yzp)
	q.mult = make([]float32, m)
	for j := range q.mult {
		q.mult[j] = xs[0] * at1(wsc, j) / ys[0]
	}
	if b := n.Const(8); b != nil {
		if b.DType() != numeric.Int32 || b.Dims() != 1 || b.Size() != m {
			return nil
		}
		q.bias = b.(*tensor.Tensor[int32]).Data()
	}
	q.colSum = q.b.ColSums()
	q.kRowW = (q.kRow + 3) &^ 3
	q.bw = q.b
	if q.kRowW != q.kRow {
		q.bw = qgemm.PackI8(kh*q.kRowW, m, func(k, j int) int8 {
			ky, r := k/q.kRowW, k%q.kRowW
			if r >= q.kRow {
				return 0
			}
			return wAt(ky*q.kRow+r, j)
		})
	}
	return q
}

// run computes the convolution of x (int8 or uint8): [N, C, H, W] in,
// [N, M, OH, OW] out, or [N, H, W, C] in where q.inNHWC and [N, OH, OW, M]
// out where q.outNHWC (attrNHWC). The rows of the product, output
// positions, are cut into chunks of rowsPer within one image; each chunk
// is gathered (im2row; a 1×1 convolution of stride 1 reads the NHWC image
// in place), multiplied, requantized and stored.
func (q *qconv) run(ctx context.Context, x tensor.Any) (tensor.Any, error) {
	if x.DType() != q.xDT {
		return nil, typeErr("QLinearConv of %s input, its zero point %s", x.DType(), q.xDT)
	}
	xs := x.Shape()
	if q.inNHWC {
		if len(xs) != 4 {
			return nil, shapeErr("QLinearConv NHWC input %v, want 4 dims", xs)
		}
		xs = []int{xs[0], xs[3], xs[1], xs[2]}
	}
	nb, c, sp, g, err := convGeom(q.w, xs, q.ws)
	if err != nil {
		return nil, err
	}
	if len(sp) != 2 {
		return nil, shapeErr("QLinearConv input %v, want 2 spatial dims for its 4-D weights", x.Shape())
	}
	m := q.ws[0]
	os := []int{nb, m, g.out[0], g.out[1]}
	if q.outNHWC {
		os = []int{nb, g.out[0], g.out[1], m}
	}
	inSp, outSp := sp[0]*sp[1], g.out[0]*g.out[1]
	if err := checkExtra(ctx, q.outDT, os, 2*int64(x.Size())+int64(outSp)*int64(q.kk+5*m)); err != nil {
		return nil, err
	}
	codes, shift, err := codesU8(x)
	if err != nil {
		return nil, err
	}
	za := q.xzp + shift
	// the sub term per channel: za·Σb' − K·za·t − bias
	sub := make([]int32, m)
	for j := range sub {
		sub[j] = za*q.colSum[j] - int32(q.kk)*za*q.t
		if q.bias != nil {
			sub[j] -= q.bias[j]
		}
	}
	img := codes // NHWC
	if !q.inNHWC {
		img = getBytes(nb*inSp*c + qconvSlack)
		defer putBytes(img)
		blocks := (inSp + 63) / 64
		err := workerpool.For(ctx, nb*blocks, max(1, 16384/(64*max(c, 1))), func(lo, hi int) { // ≥ 16 KB a chunk
			for i := lo; i < hi; i++ {
				b, blk := i/blocks, i%blocks
				p0, p1 := blk*64, min((blk+1)*64, inSp)
				if c == 3 {
					// an image's three planes (16-byte tiles would be mostly empty)
					src := codes[b*c*inSp : (b+1)*c*inSp]
					r, g, bl := src[p0:p1], src[inSp+p0:inSp+p1], src[2*inSp+p0:2*inSp+p1]
					d := img[(b*inSp+p0)*3 : (b*inSp+p1)*3]
					for j := range r {
						d[3*j], d[3*j+1], d[3*j+2] = r[j], g[j], bl[j]
					}
					continue
				}
				transposeBytes(img[(b*inSp+p0)*c:], c, codes[b*c*inSp+p0:], inSp, c, p1-p0)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	out := newBytes(ctx, nb*m*outSp)
	direct := q.kk == q.b.K() && q.ws[2] == 1 && q.ws[3] == 1 && g.s[0] == 1 && g.s[1] == 1 &&
		g.pb[0] == 0 && g.pb[1] == 0 && g.pe[0] == 0 && g.pe[1] == 0
	// the other convolutions of more than one tap read their windows in
	// place where they lie inside the image (qgemm's windowed kernels),
	// where the products need no sum of each row (t = 0) and a kernel row
	// is one run of the image (a strided 1×1 convolution's rows are short
	// runs one image row long: im2row and the plain kernel were faster)
	win := qconvWindows && !direct && q.t == 0 && g.d[1] == 1 && q.ws[2]*q.ws[3] > 1
	rowsPer := qconvRows(nb, outSp)
	var mulErr error
	var once sync.Once
	per := (outSp + rowsPer - 1) / rowsPer // chunks per image
	lda := q.b.K()
	// the products run on the goroutine of their chunk when the chunks
	// keep every worker busy (splitting them again costs more than it gives)
	mulCtx := ctx
	if nb*per >= workerpool.Workers() {
		mulCtx = workerpool.Inline(ctx)
	}
	err = workerpool.For(ctx, nb*per, 1, func(lo, hi int) {
		col := getBytes(rowsPer*max(lda, q.bw.K()) + im2rowSlack)
		acc := getInt32s(2 * rowsPer * m) // the second half for winRows's border rows
		res := getBytes(rowsPer * m)
		adds := getInt32s(rowsPer)
		var wins []qgemm.Win
		var brs [][2]int
		defer putBytes(col)
		defer putInt32s(acc)
		defer putBytes(res)
		defer putInt32s(adds)
		for ch := lo; ch < hi; ch++ {
			b := ch / per
			p0 := ch % per * rowsPer
			p1 := min(p0+rowsPer, outSp)
			bimg := img[b*inSp*c : (b+1)*inSp*c]
			rows := p1 - p0
			if win {
				wins, brs = q.winRows(wins, brs, acc, m, rowsPer, col, img[b*inSp*c:], c, sp, g, za, p0, p1)
				dst := res
				if q.outNHWC {
					dst = out[(b*outSp+p0)*m : (b*outSp+p1)*m]
				}
				simd.RequantRows(dst, m, acc, m, rows, nil, sub, q.mult, q.lo, q.hi, q.yzp)
				if !q.outNHWC {
					transposeBytes(out[b*m*outSp+p0:], outSp, res, m, rows, m)
				}
				continue
			}
			a, ld := col, lda
			if direct {
				a, ld = bimg[p0*c:p1*c], c
			} else {
				q.im2row(col, lda, q.kRow, bimg, c, sp, g, za, p0, p1)
			}
			if err := q.b.MulU8(mulCtx, acc, m, a, ld, rows); err != nil {
				once.Do(func() { mulErr = err })
				return
			}
			dst := res
			if q.outNHWC {
				dst = out[(b*outSp+p0)*m : (b*outSp+p1)*m]
			}
			var add []int32 // −t·Σa per row, where t ≠ 0
			if q.t != 0 {
				add = adds[:rows]
				for r := range add {
					add[r] = -q.t * simd.SumU8(a[r*ld:r*ld+q.kk])
				}
			}
			simd.RequantRows(dst, m, acc, m, rows, add, sub, q.mult, q.lo, q.hi, q.yzp)
			if !q.outNHWC {
				// res is rows×M; the image's output is M×outSp
				transposeBytes(out[b*m*outSp+p0:], outSp, res, m, rows, m)
			}
		}
	})
	if err == nil {
		err = mulErr
	}
	if err != nil {
		return nil, err
	}
	if q.outDT == numeric.Int8 {
		o := make([]int8, len(out))
		for i, v := range out {
			o[i] = int8(v)
		}
		return tensor.New(os, o)
	}
	return tensor.New(os, out)
}

// qconvWindows turns the in-place windowed products on (tests compare
// both paths).
var qconvWindows = true

// qconvSlack is the number of bytes after an image the convolution
// transposed itself, for the windowed products whose kernel rows are padded
// (they read up to 3 bytes past a window).
const qconvSlack = 4

// winRows computes the products of the output positions p0 ≤ p < p1 of
// one image into acc (rows ldc apart) with q.bw: the positions whose
// window lies inside the image (x, the image's NHWC codes and whatever
// follows them in its buffer) read it in place (lda the stride between
// output positions, one run per kernel row); the others, at the borders,
// are gathered into consecutive rows of col by im2row and multiplied as one
// block into the rows of acc from spare on, then moved to their rows (so
// that the kernel runs on 6 rows at a time there too). acc needs
// spare + (the number of border positions) rows; ws and bs are scratch for
// the blocks of rows and the border ranges, returned for reuse.
func (q *qconv) winRows(ws []qgemm.Win, bs [][2]int, acc []int32, ldc, spare int, col, x []uint8, c int, sp []int, g *geom, za int32, p0, p1 int) ([]qgemm.Win, [][2]int) {
	kh, kw := q.ws[2], q.ws[3]
	h, w, ow := sp[0], sp[1], g.out[1]
	kWin := q.bw.K()
	lda, stride := g.s[1]*c, g.d[0]*w*c
	// output columns [oxa, oxb) read no padding horizontally
	oxa := (g.pb[1] + g.s[1] - 1) / g.s[1]
	oxb := max(oxa, min(ow, (w-kw+g.pb[1])/g.s[1]+1))
	ws, bs = ws[:0], bs[:0]
	nb := 0 // border rows gathered
	border := func(a, b int) {
		if a >= b {
			return
		}
		q.im2row(col[nb*kWin:], kWin, q.kRowW, x, c, sp, g, za, a, b)
		nb += b - a
		if n := len(bs) - 1; n >= 0 && bs[n][1] == a {
			bs[n][1] = b
			return
		}
		bs = append(bs, [2]int{a, b})
	}
	for p := p0; p < p1; {
		oy := p / ow
		end := min(p1, (oy+1)*ow)
		iy0 := oy*g.s[0] - g.pb[0]
		a, b := max(p, oy*ow+oxa), min(end, oy*ow+oxb)
		if iy0 < 0 || iy0+(kh-1)*g.d[0] >= h || a >= b {
			border(p, end)
			p = end
			continue
		}
		border(p, a)
		o := (iy0*w + (a-oy*ow)*g.s[1] - g.pb[1]) * c
		if o+(b-a-1)*lda+(kh-1)*stride+q.kRowW <= len(x) {
			ws = append(ws, qgemm.Win{A: x[o:], Lda: lda, Rows: b - a, Segs: kh, Stride: stride, Row: a - p0})
		} else {
			border(a, b) // the padded last run would read past the buffer
		}
		border(b, end)
		p = end
	}
	if nb > 0 {
		ws = append(ws, qgemm.Win{A: col, Lda: kWin, Rows: nb, Segs: 1, Stride: kWin, Row: spare})
	}
	q.bw.MulU8Win(acc, ldc, ws)
	r := spare
	for _, br := range bs {
		n := br[1] - br[0]
		copy(acc[(br[0]-p0)*ldc:(br[1]-p0)*ldc], acc[r*ldc:(r+n)*ldc])
		r += n
	}
	return ws, bs
}

// qconvRows is the number of output positions per chunk of a convolution
// of nb images of outSp positions: at most 60 (ten calls of the 6-row
// kernel), the image cut into chunks of equal size, and at least as many
// chunks as workers.
func qconvRows(nb, outSp int) int {
	chunks := (outSp + 59) / 60
	if w := workerpool.Workers(); nb*chunks < w {
		chunks = min(outSp, (w+nb-1)/nb)
	}
	return max(1, (outSp+chunks-1)/max(chunks, 1))
}

// im2rowSlack is the number of bytes im2row may write past the last row
// of col.
const im2rowSlack = 32

// im2row writes the rows p0 ≤ p < p1 of the NHWC im2col matrix of image
// x (NHWC, c channels, spatial dims sp) into col (row stride lda, and
// im2rowSlack bytes after the last row): for each output position, kernel
// row ky at offset ky·kStride (kStride ≥ kw·c), the kw·c bytes the window
// reads, za where it reads the padding. The other bytes of a row up to
// lda are left unspecified.
func (q *qconv) im2row(col []uint8, lda, kStride int, x []uint8, c int, sp []int, g *geom, za int32, p0, p1 int) {
	kh, kw, kRow := q.ws[2], q.ws[3], q.kRow
	h, w, ow := sp[0], sp[1], g.out[1]
	pad := uint8(za)
	dh, dw := g.d[0], g.d[1]
	short := kRow <= im2rowSlack
	oy, ox := p0/ow, p0%ow
	for p := p0; p < p1; p++ {
		base := (p - p0) * lda
		iy0, ix0 := oy*g.s[0]-g.pb[0], ox*g.s[1]-g.pb[1]
		inside := dw == 1 && ix0 >= 0 && ix0+kw <= w // each kernel row one run of the image row
		for ky := range kh {
			d := base + ky*kStride
			iy := iy0 + ky*dh
			if iy < 0 || iy >= h {
				fillBytes(col[d:d+kRow], pad)
				continue
			}
			o := (iy*w + ix0) * c
			if inside {
				if short && o+im2rowSlack <= len(x) {
					// one 32-byte move (a memmove call costs more for the
					// short rows of a first layer); what it writes past
					// the row is written again after it, or is the slack
					// after the last row
					*(*[im2rowSlack]uint8)(col[d:]) = *(*[im2rowSlack]uint8)(x[o:])
				} else {
					copy(col[d:d+kRow], x[o:o+kRow])
				}
				continue
			}
			for kx := range kw {
				ix := ix0 + kx*dw
				dd := col[d+kx*c : d+(kx+1)*c]
				if ix < 0 || ix >= w {
					fillBytes(dd, pad)
				} else {
					copy(dd, x[(iy*w+ix)*c:(iy*w+ix+1)*c])
				}
			}
		}
		if ox++; ox == ow {
			ox, oy = 0, oy+1
		}
	}
}

// fillBytes sets every byte of d to v, 32 bytes a store where it can.
func fillBytes(d []uint8, v uint8) {
	var pat [32]uint8
	for i := range pat {
		pat[i] = v
	}
	i := 0
	for ; i+32 <= len(d); i += 32 {
		*(*[32]uint8)(d[i:]) = pat
	}
	for ; i < len(d); i++ {
		d[i] = v
	}
}

// transposeBytes writes the r×n matrix src (rows lds apart) transposed
// (n×r, rows ldd apart) into dst, through 16×16 tiles.
func transposeBytes(dst []uint8, ldd int, src []uint8, lds, r, n int) {
	const bs = 16
	var tile [bs][bs]uint8
	for i0 := 0; i0 < r; i0 += bs {
		ni := min(bs, r-i0)
		for j0 := 0; j0 < n; j0 += bs {
			nj := min(bs, n-j0)
			if ni == bs && nj == bs {
				// whole tiles move as [16]byte values, without memmove calls
				for i := range bs {
					o := (i0+i)*lds + j0
					tile[i] = [bs]uint8(src[o : o+bs])
				}
				for j := range bs {
					var row [bs]uint8
					for i := range bs {
						row[i] = tile[i][j]
					}
					o := (j0+j)*ldd + i0
					*(*[bs]uint8)(dst[o : o+bs]) = row
				}
				continue
			}
			for i := range ni {
				copy(tile[i][:nj], src[(i0+i)*lds+j0:(i0+i)*lds+j0+nj])
			}
			for j := range nj {
				var row [bs]uint8
				for i := range bs {
					row[i] = tile[i][j]
				}
				copy(dst[(j0+j)*ldd+i0:(j0+j)*ldd+i0+ni], row[:ni])
			}
		}
	}
}

// newBytes returns a byte buffer of n elements for a kernel's output (its
// contents are undefined: the kernel must write every byte): in a Run, the
// bytes of a float32 buffer from the Program's arena (newFloats), which
// recycles them once the run drops the value.
func newBytes(ctx context.Context, n int) []uint8 {
	f := newFloats(ctx, (n+3)/4)
	return unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(f))), n)
}

// bytePool recycles the byte scratch of integer convolutions.
var bytePool sync.Pool

// getBytes returns a slice of n bytes with unspecified contents.
func getBytes(n int) []uint8 {
	if p, ok := bytePool.Get().(*[]uint8); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]uint8, n)
}

// putBytes returns s to the pool.
func putBytes(s []uint8) { bytePool.Put(&s) }
