package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/internal/simd"
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
	if KW == 3 && sh == 1 && sw == 1 {
		return depthwiseFlat(ctx, x, w, y, nb, c, mg, g, epi, grain)
	}
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
					// With three kernel columns, the output columns all
					// three read (il ≤ ow < ir) take the three taps in one
					// pass; the loop below does the rest of each tap's range.
					il, ir := 0, 0
					if KW == 3 {
						il, ir = max(oLo[0], oLo[1], oLo[2]), min(oHi[0], oHi[1], oHi[2])
						ir = max(il, ir)
						w0, w1, w2 := wk[kh*3], wk[kh*3+1], wk[kh*3+2]
						off := -g.pb[1]
						if il < ir && (sw == 1 || sw == 2) {
							simd.Tap3(row[il:ir], in[il*sw+off:], sw, dw, w0, w1, w2)
						} else {
							for ow := il; ow < ir; ow++ {
								p := ow*sw + off
								row[ow] += w0*in[p] + w1*in[p+dw] + w2*in[p+2*dw]
							}
						}
					}
					for kw := range KW {
						wv := wk[kh*KW+kw]
						off := kw*dw - g.pb[1]
						l, h := oLo[kw], oHi[kw]
						if il < ir { // [il, ir) is done: the parts before and after it
							tapRange(row, in, wv, l, il, sw, off)
							tapRange(row, in, wv, ir, h, sw, off)
							continue
						}
						tapRange(row, in, wv, l, h, sw, off)
					}
				}
			}
			epi.apply(dst, OH*OW, oc, pl*OH*OW, 0, 1, 0, OH*OW)
		}
	})
}

// tapRange adds wv·in[ow·sw+off] to row[ow] for l ≤ ow < h.
func tapRange(row, in []float32, wv float32, l, h, sw, off int) {
	if l >= h {
		return
	}
	if sw == 1 {
		s := in[l+off : h+off]
		d := row[l:h]
		for i, v := range s {
			d[i] += wv * v
		}
		return
	}
	for ow := l; ow < h; ow++ {
		row[ow] += wv * in[ow*sw+off]
	}
}

// depthwiseFlat is depthwise2D for three kernel columns and stride 1:
// each input plane is copied into a zero-padded plane of row length Wp,
// so that an output plane laid out with that row length (the last
// columns of each row unused) is KH passes of simd.Tap3 over the whole
// plane, whatever its width; the rows are then copied out.
func depthwiseFlat(ctx context.Context, x, w, y []float32, nb, c, mg int, g *geom, epi *convEpi, grain int) error {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	KH, dh, dw := g.k[0], g.d[0], g.d[1]
	Wp := W + g.pb[1] + g.pe[1]
	Hp := H + g.pb[0] + g.pe[0]
	m := c * mg
	return workerpool.For(ctx, nb*m, grain, func(lo, hi int) {
		// the taps of the unused columns of the last rows read up to
		// 2·dw past the padded plane
		xp := make([]float32, Hp*Wp+2*dw)
		acc := make([]float32, OH*Wp)
		cur := -1
		for pl := lo; pl < hi; pl++ {
			b, oc := pl/m, pl%m
			if ic := b*c + oc/mg; ic != cur {
				cur = ic
				src := x[ic*H*W : (ic+1)*H*W]
				for ih := range H {
					o := (ih+g.pb[0])*Wp + g.pb[1]
					copy(xp[o:o+W], src[ih*W:(ih+1)*W])
				}
			}
			wk := w[oc*KH*3 : (oc+1)*KH*3]
			clear(acc)
			for kh := range KH {
				simd.Tap3(acc, xp[kh*dh*Wp:], 1, dw, wk[kh*3], wk[kh*3+1], wk[kh*3+2])
			}
			dst := y[pl*OH*OW : (pl+1)*OH*OW]
			for oh := range OH {
				copy(dst[oh*OW:(oh+1)*OW], acc[oh*Wp:oh*Wp+OW])
			}
			epi.apply(dst, OH*OW, oc, pl*OH*OW, 0, 1, 0, OH*OW)
		}
	})
}
