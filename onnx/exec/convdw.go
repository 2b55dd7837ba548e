package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// depthwise2D computes a 2-D convolution whose groups have one input
// channel each (cg = 1: depthwise, with mg output channels per input
// channel) straight from the image, without im2col: per output plane and
// kernel tap, one multiply-add over the output row's positions that read
// the image. x is nb×c×H×W, w is (c·mg)×1×kh×kw, y (nb×c·mg×OH×OW) is
// overwritten; each output plane is finished with epi once computed.
func depthwise2D(ctx context.Context, x, w, y []float32, nb, c, mg int, g *geom, epi *convEpi) error {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	KH, KW := g.k[0], g.k[1]
	sh, sw, dh, dw := g.s[0], g.s[1], g.d[0], g.d[1]
	m := c * mg
	// Per kernel column: the output columns [lo, hi) whose tap reads the image.
	oLo, oHi := make([]int, KW), make([]int, KW)
	for kw := range KW {
		b := kw*dw - g.pb[1] // image column of output column 0
		lo := 0
		if b < 0 {
			lo = (-b + sw - 1) / sw
		}
		hi := 0
		if top := W - 1 - b; top >= 0 {
			hi = min(OW, top/sw+1)
		}
		oLo[kw], oHi[kw] = lo, max(lo, hi)
	}
	grain := max(1, (1<<15)/max(1, OH*OW*KH*KW))
	return workerpool.For(ctx, nb*m, grain, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			b, oc := pl/m, pl%m
			src := x[(b*c+oc/mg)*H*W : (b*c+oc/mg+1)*H*W]
			wk := w[oc*KH*KW : (oc+1)*KH*KW]
			dst := y[pl*OH*OW : (pl+1)*OH*OW]
			clear(dst)
			for oh := range OH {
				row := dst[oh*OW : (oh+1)*OW]
				for kh := range KH {
					ih := oh*sh + kh*dh - g.pb[0]
					if ih < 0 || ih >= H {
						continue
					}
					in := src[ih*W : (ih+1)*W]
					for kw := range KW {
						wv := wk[kh*KW+kw]
						l, h := oLo[kw], oHi[kw]
						if l >= h {
							continue
						}
						off := kw*dw - g.pb[1]
						if sw == 1 {
							s := in[l+off : h+off]
							d := row[l:h]
							for i, v := range s {
								d[i] += wv * v
							}
							continue
						}
						for ow := l; ow < h; ow++ {
							row[ow] += wv * in[ow*sw+off]
						}
					}
				}
			}
			epi.apply(dst, OH*OW, oc, pl*OH*OW, 0, 1, 0, OH*OW)
		}
	})
}
