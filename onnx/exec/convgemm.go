package exec

import (
	"context"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// Conv with weights packed once: when a Conv's weights are float32
// constants (with any BatchNormalization or per-channel op folded in),
// Compile packs each group's weights into the GEMM micro-kernel's layout
// after the graph is compiled (counted against the budget with the other
// constants), and the runs multiply by them without packing them again.
// A 1×1 convolution multiplies the input as it is; any other writes its
// im2col matrix block by block straight in the layout of the GEMM's B
// panels, so the columns are written once and not copied again.

// packWeights packs the weights of a Conv step's fusion f for its groups,
// within the compile's budget; it leaves f.packed nil when it cannot.
func (c *compiler) packWeights(f *fusion) {
	w := f.w
	if w == nil {
		w = f.wc
	}
	if w == nil || f.group < 1 || f.m%f.group != 0 || f.m == 0 {
		return
	}
	per := len(w) / f.m // C/group · kernel size
	if f.wRank == 4 && f.group > 1 && per == f.wKernel {
		return // depthwise (one input channel per group): no GEMM
	}
	mg := f.m / f.group
	limit := c.cfg.budget.Bytes() - c.decoded
	if int64(len(w))*4+(1<<20) > limit {
		return
	}
	packed := make([]*gemm.PackedA, f.group)
	var bytes int64
	for gi := range f.group {
		p, err := gemm.PackA(w[gi*mg*per:(gi+1)*mg*per], per, mg, per)
		if err != nil {
			return
		}
		packed[gi] = p
		bytes += p.Bytes()
	}
	if bytes > limit {
		return
	}
	c.decoded += bytes
	f.packed = packed
	f.w = nil // the packed copy is the one runs read; f.b keeps the folded bias
}

// im2colPacked writes the im2col columns of the outer window positions
// o0 ≤ o < o1 (each g.out[last] columns) of x (c channels) into dst in the
// layout gemm.PackedA.MulPacked reads: K blocks of kc rows, each a run of
// nr-column panels. dst must hold PackedBLen of the block's columns.
func im2colPacked(ctx context.Context, x []float32, c int, g *geom, dst []float32, o0, o1, nr, kc int) error {
	K, inSp := prod(g.k), prod(g.in)
	nd := len(g.in)
	sl, nl := g.s[nd-1], g.out[nd-1]
	w := (o1 - o0) * nl // columns
	np := (w + nr - 1) / nr
	rows := c * K
	base0 := o0 * nl
	grain := max(1, (1<<14)/max(w, 1))
	return workerpool.For(ctx, rows, grain, func(lo, hi int) {
		kk, idx := make([]int, nd), make([]int, nd)
		for r := lo; r < hi; r++ {
			ch := r / K
			kernelIndex(g.k, r%K, kk)
			q := r / kc
			kq := min(kc, rows-q*kc)
			row := dst[q*kc*np*nr+(r-q*kc)*nr:]
			src := x[ch*inSp : (ch+1)*inSp]
			// panel returns the part of row holding columns [j, j+cnt)
			// (within one panel).
			panel := func(j, cnt int) []float32 {
				o := (j/nr)*kq*nr + j%nr
				return row[o : o+cnt]
			}
			next := 0 // columns before next are written
			zero := func(to int) {
				for next < to {
					cnt := min(to-next, nr-next%nr)
					clear(panel(next, cnt))
					next += cnt
				}
			}
			g.runsIn(kk, idx, o0, o1, func(c0, img0, n int) {
				j := c0 - base0
				zero(j)
				for n > 0 {
					cnt := min(n, nr-j%nr)
					d := panel(j, cnt)
					if sl == 1 {
						copy(d, src[img0:img0+cnt])
					} else {
						for t := range d {
							d[t] = src[img0+t*sl]
						}
					}
					j += cnt
					img0 += cnt * sl
					n -= cnt
				}
				next = j
			})
			zero(np * nr) // and the last panel's padding columns
		}
	})
}

// convEpi is what a Conv adds to its GEMM's result: the bias (nil:
// none), the residual (nil: none, else shaped like the output), then Relu.
type convEpi struct {
	bias, res []float32
	relu      bool
}

// apply finishes rows r0 ≤ r < r1 (output channels ch0+r), columns
// [j0, j1) of one image's output plane block c (row stride ld), whose
// column j is position p0+j of the plane; off is the plane block's offset
// in the output.
func (e *convEpi) apply(c []float32, ld, ch0, off, r0, r1, j0, j1 int) {
	for r := r0; r < r1; r++ {
		row := c[r*ld+j0 : r*ld+j1]
		var b float32
		if e.bias != nil {
			b = e.bias[ch0+r]
		}
		var res []float32
		if e.res != nil {
			o := off + r*ld + j0
			res = e.res[o : o+len(row)]
		}
		simd.BiasResRelu(row, res, b, e.relu)
	}
}

// convPacked runs a float32 Conv (not depthwise) with packed weights pa
// (one per group): y (nb×m×outSp) is overwritten, and finished with epi
// tile by tile as the GEMM completes them. per is the number of outer
// window positions per im2col block.
func convPacked(ctx context.Context, pa []*gemm.PackedA, xv, y []float32, nb, c, m, group int, g *geom, per int, epi *convEpi) error {
	cg, mg := c/group, m/group
	inSp, outSp := prod(g.in), prod(g.out)
	nl := max(g.out[len(g.out)-1], 1)
	outer := outSp / nl
	var col []float32
	if !g.pointwise() {
		nr, _ := pa[0].PackedB()
		n := pa[0].PackedBLen(min(per, outer)*nl + nr)
		buf := colPool.Get().(*[]float32)
		defer colPool.Put(buf)
		if cap(*buf) < n {
			*buf = make([]float32, n)
		}
		col = (*buf)[:n]
	}
	for b := range nb {
		for gi := range group {
			xg := xv[(b*c+gi*cg)*inSp : (b*c+(gi+1)*cg)*inSp]
			yg := y[(b*m+gi*mg)*outSp : (b*m+(gi+1)*mg)*outSp]
			yoff, ch0 := (b*m+gi*mg)*outSp, gi*mg
			if col == nil {
				fin := func(r0, r1, j0, j1 int) { epi.apply(yg, outSp, ch0, yoff, r0, r1, j0, j1) }
				if err := pa[gi].MulB(ctx, xg, outSp, outSp, yg, outSp, fin); err != nil {
					return err
				}
				continue
			}
			nr, kc := pa[gi].PackedB()
			for o0 := 0; o0 < outer; o0 += per {
				o1 := min(o0+per, outer)
				if err := im2colPacked(ctx, xg, cg, g, col, o0, o1, nr, kc); err != nil {
					return err
				}
				cb := yg[o0*nl:]
				fin := func(r0, r1, j0, j1 int) { epi.apply(cb, outSp, ch0, yoff+o0*nl, r0, r1, j0, j1) }
				if err := pa[gi].MulPacked(ctx, col, (o1-o0)*nl, cb, outSp, fin); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
