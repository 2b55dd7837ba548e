package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
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
