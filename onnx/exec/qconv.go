package exec

import (
	"context"
	"sync"

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
// of kw·C contiguous bytes. The image is transposed to NHWC once per run,
// the products are requantized row by row (simd.Requant) and transposed
// back to NCHW.
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
	kRow, kk int // kw·C; K
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
	switch d := wt.(type) {
	case *tensor.Tensor[int8]:
		v := d.Data()
		q.b = qgemm.PackI8(q.kk, m, func(k, j int) int8 {
			ky, r := k/q.kRow, k%q.kRow
			kx, ci := r/c, r%c
			return v[((j*c+ci)*kh+ky)*kw+kx]
		})
	case *tensor.Tensor[uint8]:
		v := d.Data()
		off = 128
		q.b = qgemm.PackI8(q.kk, m, func(k, j int) int8 {
			ky, r := k/q.kRow, k%q.kRow
			kx, ci := r/c, r%c
			return int8(v[((j*c+ci)*kh+ky)*kw+kx] ^ 0x80)
		})
	default:
		return nil
	}
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
	return q
}

// run computes the convolution of x (int8 or uint8 [N, C, H, W]).
func (q *qconv) run(ctx context.Context, x tensor.Any) (tensor.Any, error) {
	if x.DType() != q.xDT {
		return nil, typeErr("QLinearConv of %s input, its zero point %s", x.DType(), q.xDT)
	}
	nb, c, sp, g, err := convGeom(q.w, x.Shape(), q.ws)
	if err != nil {
		return nil, err
	}
	if len(sp) != 2 {
		return nil, shapeErr("QLinearConv input %v, want 2 spatial dims for its 4-D weights", x.Shape())
	}
	m := q.ws[0]
	os := []int{nb, m, g.out[0], g.out[1]}
	inSp, outSp := sp[0]*sp[1], g.out[0]*g.out[1]
	if err := checkExtra(ctx, q.outDT, os, int64(x.Size())+int64(outSp)*int64(q.kk+5*m)); err != nil {
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
	out := make([]uint8, nb*m*outSp)
	nhwc := getBytes(inSp * c)
	defer putBytes(nhwc)
	direct := q.ws[2] == 1 && q.ws[3] == 1 && g.s[0] == 1 && g.s[1] == 1 && g.pb[0] == 0 && g.pb[1] == 0 && g.pe[0] == 0 && g.pe[1] == 0
	const rowsPer = 64
	var mulErr error
	var once sync.Once
	chunks := (outSp + rowsPer - 1) / rowsPer
	lda := (q.kk + 3) &^ 3
	for b := range nb {
		img := codes[b*c*inSp : (b+1)*c*inSp]
		err := workerpool.For(ctx, (inSp+63)/64, max(1, 4096/max(c, 1)), func(lo, hi int) {
			p0, p1 := lo*64, min(hi*64, inSp)
			transposeBytes(nhwc[p0*c:], c, img[p0:], inSp, c, p1-p0)
		})
		if err != nil {
			return nil, err
		}
		ob := out[b*m*outSp : (b+1)*m*outSp]
		err = workerpool.For(ctx, chunks, 1, func(lo, hi int) {
			col := getBytes(rowsPer * lda)
			acc := getInt32s(rowsPer * m)
			res := getBytes(rowsPer * m)
			defer putBytes(col)
			defer putInt32s(acc)
			defer putBytes(res)
			for ch := lo; ch < hi; ch++ {
				p0, p1 := ch*rowsPer, min((ch+1)*rowsPer, outSp)
				a, ld := col, lda
				if direct {
					a, ld = nhwc[p0*c:p1*c], c
				} else {
					q.im2row(col, lda, nhwc, c, sp, g, za, p0, p1)
				}
				rows := p1 - p0
				if err := q.b.MulU8(ctx, acc, m, a, ld, rows); err != nil {
					once.Do(func() { mulErr = err })
					return
				}
				for r := range rows {
					add := int32(0)
					if q.t != 0 {
						add = -q.t * simd.SumU8(a[r*ld:r*ld+q.kk])
					}
					simd.Requant(res[r*m:(r+1)*m], acc[r*m:(r+1)*m], add, sub, q.mult, q.lo, q.hi, q.yzp)
				}
				// res is rows×M; out is M×outSp
				transposeBytes(ob[p0:], outSp, res, m, rows, m)
			}
		})
		if err == nil {
			err = mulErr
		}
		if err != nil {
			return nil, err
		}
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

// im2row writes the rows p0 ≤ p < p1 of the NHWC im2col matrix of image
// x (NHWC, c channels, spatial dims sp) into col (row stride lda): for
// each output position, kernel row by kernel row, the kw·c bytes the
// window reads, za where it reads the padding.
func (q *qconv) im2row(col []uint8, lda int, x []uint8, c int, sp []int, g *geom, za int32, p0, p1 int) {
	kh, kw := q.ws[2], q.ws[3]
	h, w, ow := sp[0], sp[1], g.out[1]
	pad := uint8(za)
	dh, dw := g.d[0], g.d[1]
	for p := p0; p < p1; p++ {
		oy, ox := p/ow, p%ow
		row := col[(p-p0)*lda : (p-p0)*lda+q.kk]
		iy0, ix0 := oy*g.s[0]-g.pb[0], ox*g.s[1]-g.pb[1]
		for ky := range kh {
			dst := row[ky*q.kRow : (ky+1)*q.kRow]
			iy := iy0 + ky*dh
			if iy < 0 || iy >= h {
				fillBytes(dst, pad)
				continue
			}
			src := x[iy*w*c : (iy+1)*w*c]
			if dw == 1 && ix0 >= 0 && ix0+kw <= w {
				copy(dst, src[ix0*c:(ix0+kw)*c])
				continue
			}
			for kx := range kw {
				ix := ix0 + kx*dw
				d := dst[kx*c : (kx+1)*c]
				if ix < 0 || ix >= w {
					fillBytes(d, pad)
				} else {
					copy(d, src[ix*c:(ix+1)*c])
				}
			}
		}
	}
}

func fillBytes(d []uint8, v uint8) {
	for i := range d {
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
