package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/tensor"
)

// maxPool2DU8 is 2-D MaxPool over uint8 codes (what a QDQ graph's MaxPool
// becomes once fused: qdqconv.go): per output row the column maxima of
// the window's image rows, then the maxima of each window's columns. The
// padding never wins (every window reads the image: resolve checks it).
func maxPool2DU8(ctx context.Context, x []uint8, planes int, g *geom) ([]uint8, error) {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	y := make([]uint8, planes*OH*OW)
	cLo, cHi := make([]int, OW), make([]int, OW)
	for ow := range OW {
		cLo[ow], cHi[ow] = span(ow*g.s[1]-g.pb[1], g.d[1], g.k[1], 0, W)
	}
	dh, dw := g.d[0], g.d[1]
	grain := max(1, (1<<14)/max(1, OH*OW*g.k[0]*g.k[1]))
	return y, workerpool.For(ctx, planes, grain, func(lo, hi int) {
		colMax := make([]uint8, W)
		for pl := lo; pl < hi; pl++ {
			src := x[pl*H*W : (pl+1)*H*W]
			dst := y[pl*OH*OW : (pl+1)*OH*OW]
			for oh := range OH {
				hs := oh*g.s[0] - g.pb[0]
				rlo, rhi := span(hs, dh, g.k[0], 0, H)
				if rlo >= rhi {
					clear(dst[oh*OW : (oh+1)*OW])
					continue
				}
				copy(colMax, src[(hs+rlo*dh)*W:(hs+rlo*dh+1)*W])
				for kh := rlo + 1; kh < rhi; kh++ {
					r := src[(hs+kh*dh)*W : (hs+kh*dh+1)*W]
					simd.MaxU8(colMax, r)
				}
				row := dst[oh*OW : (oh+1)*OW]
				ow0 := 0
				if g.k[1] == 3 && dw == 1 {
					// windows inside the image: three columns
					for ; ow0 < len(row) && cLo[ow0] != 0; ow0++ {
						ws := ow0*g.s[1] - g.pb[1]
						best := uint8(0)
						for kw := cLo[ow0]; kw < cHi[ow0]; kw++ {
							best = max(best, colMax[ws+kw])
						}
						row[ow0] = best
					}
					for ; ow0 < len(row) && cHi[ow0] == 3; ow0++ {
						ws := ow0*g.s[1] - g.pb[1]
						c := colMax[ws : ws+3]
						row[ow0] = max(c[0], c[1], c[2])
					}
				}
				for ow := ow0; ow < len(row); ow++ {
					ws := ow*g.s[1] - g.pb[1]
					best := uint8(0)
					for kw := cLo[ow]; kw < cHi[ow]; kw++ {
						best = max(best, colMax[ws+kw*dw])
					}
					row[ow] = best
				}
			}
		}
	})
}

// maxPoolNHWC is 2-D MaxPool of uint8 or int8 codes x [N, H, W, C] over
// window w: per output row the maxima of the window's image rows (runs
// of W·C bytes), then per output position those of its columns (runs of
// C bytes).
func maxPoolNHWC(ctx context.Context, x tensor.Any, w *window) (tensor.Any, error) {
	xs := x.Shape()
	if len(xs) != 4 {
		return nil, shapeErr("MaxPool NHWC input %v, want 4 dims", xs)
	}
	g, err := w.resolve(xs[1:3], nil)
	if err != nil {
		return nil, err
	}
	nb, c := xs[0], xs[3]
	os := []int{nb, g.out[0], g.out[1], c}
	if err := checkExtra(ctx, x.DType(), os, int64(xs[2]*c)); err != nil {
		return nil, err
	}
	switch v := x.(type) {
	case *tensor.Tensor[uint8]:
		y, err := maxPoolRows(ctx, v.Data(), newBytes(ctx, prod(os)), nb, c, g, simd.MaxU8)
		if err != nil {
			return nil, err
		}
		return tensor.New(os, y)
	case *tensor.Tensor[int8]:
		y, err := maxPoolRows(ctx, v.Data(), make([]int8, prod(os)), nb, c, g, func(d, s []int8) {
			s = s[:len(d)]
			for i := range d {
				d[i] = max(d[i], s[i])
			}
		})
		if err != nil {
			return nil, err
		}
		return tensor.New(os, y)
	}
	return nil, typeErr("MaxPool NHWC of %s, want uint8 or int8", x.DType())
}

// maxPoolRows pools nb NHWC images x of c channels over g into y with maxInto
// (dst[i] = max(dst[i], src[i])). Every window reads the image (resolve
// checks it), so the padding never wins.
func maxPoolRows[T uint8 | int8](ctx context.Context, x, y []T, nb, c int, g *geom, maxInto func(dst, src []T)) ([]T, error) {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	row := W * c
	grain := max(1, (1<<14)/max(1, OW*c*g.k[0]*g.k[1]))
	return y, workerpool.For(ctx, nb*OH, grain, func(lo, hi int) {
		colMax := make([]T, row)
		for i := lo; i < hi; i++ {
			b, oh := i/OH, i%OH
			src := x[b*H*row : (b+1)*H*row]
			dst := y[i*OW*c : (i+1)*OW*c]
			hs := oh*g.s[0] - g.pb[0]
			rlo, rhi := span(hs, g.d[0], g.k[0], 0, H)
			if rlo >= rhi {
				clear(dst)
				continue
			}
			maxRun(colMax, src, hs+rlo*g.d[0], g.d[0], rhi-rlo, row, maxInto)
			for ow := range OW {
				ws := ow*g.s[1] - g.pb[1]
				clo, chi := span(ws, g.d[1], g.k[1], 0, W)
				d := dst[ow*c : (ow+1)*c]
				if clo >= chi {
					clear(d)
					continue
				}
				maxRun(d, colMax, ws+clo*g.d[1], g.d[1], chi-clo, c, maxInto)
			}
		}
	})
}

// maxRun sets dst to the element-wise maximum of the n runs of w values of
// src that start at runs first, first+step, … (n ≥ 1).
func maxRun[T uint8 | int8](dst, src []T, first, step, n, w int, maxInto func(dst, src []T)) {
	copy(dst, src[first*w:(first+1)*w])
	for k := 1; k < n; k++ {
		p := first + k*step
		maxInto(dst, src[p*w:(p+1)*w])
	}
}
