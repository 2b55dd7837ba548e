package compute

import (
	"context"
	"fmt"
)

// broadcastShapes returns the NumPy broadcast of shapes a and b: they are
// aligned at the right, and each pair of dimensions must be equal or contain
// a 1. ok is false if they are incompatible.
func broadcastShapes(a, b []int) (out []int, ok bool) {
	n := max(len(a), len(b))
	out = make([]int, n)
	for i := 1; i <= n; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db, db == 1:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastStrides returns, for each axis of out, the stride of shape in
// elements when shape is broadcast to out (0 on broadcast axes).
func broadcastStrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := 1; i <= len(shape); i++ {
		d := shape[len(shape)-i]
		if d != 1 {
			st[len(out)-i] = s
		}
		s *= d
	}
	return st
}

// bcastPlan is a binary broadcast reduced to the fewest axes: runs of
// axes that walk both operands the same way are merged. The last axis is the
// inner run, along which each operand's stride is 0 (broadcast) or 1.
type bcastPlan struct {
	dims   []int // merged output dims; len ≥ 1
	sa, sb []int // strides of a and b along dims
}

// inner returns the length of the innermost run.
func (p *bcastPlan) inner() int { return p.dims[len(p.dims)-1] }

// outer returns the number of inner runs.
func (p *bcastPlan) outer() int { return product(p.dims[:len(p.dims)-1]) }

// planBroadcast merges the axes of out (the broadcast of as and bs).
func planBroadcast(out, as, bs []int) bcastPlan {
	sa := broadcastStrides(as, out)
	sb := broadcastStrides(bs, out)
	var p bcastPlan
	// Walk from the innermost axis outwards, dropping size-1 axes and merging
	// an axis into the group on its right when both strides continue it.
	for i := len(out) - 1; i >= 0; i-- {
		d := out[i]
		if d == 1 {
			continue
		}
		if g := len(p.dims) - 1; g >= 0 && sa[i] == p.sa[g]*p.dims[g] && sb[i] == p.sb[g]*p.dims[g] {
			p.dims[g] *= d
			continue
		}
		p.dims = append(p.dims, d)
		p.sa = append(p.sa, sa[i])
		p.sb = append(p.sb, sb[i])
	}
	if len(p.dims) == 0 {
		p.dims, p.sa, p.sb = []int{1}, []int{0}, []int{0}
	}
	reverse(p.dims)
	reverse(p.sa)
	reverse(p.sb)
	return p
}

func reverse(s []int) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// binKernel computes dst[i] = f(a[i], b[i]) for one run. len(a) and len(b)
// are each either len(dst) or 1 (a broadcast scalar).
type binKernel[T any] func(dst, a, b []T)

// runBroadcast applies kern over the broadcast of a (shape as) and b (shape
// bs) into dst (shape out, contiguous). cost is the relative work per
// element (1 for memory-bound kernels) and sets the chunk size.
func runBroadcast[T any](ctx context.Context, out, as, bs []int, dst, a, b []T, cost int, kern binKernel[T]) error {
	n := len(dst)
	if n == 0 {
		return ctx.Err()
	}
	grain := max(1, grainMem/cost)
	// Fast path: same shape, or one side a single element.
	if len(a) == n && len(b) == n || len(a) == 1 && len(b) == n || len(a) == n && len(b) == 1 || len(a) == 1 && len(b) == 1 {
		return parallel(ctx, n, grain, cost, func(lo, hi int) {
			kern(dst[lo:hi], sub(a, lo, hi), sub(b, lo, hi))
		})
	}
	p := planBroadcast(out, as, bs)
	inner, outer := p.inner(), p.outer()
	// outer > 1 here: a single merged axis would have hit the fast path.
	ia, ib := p.sa[len(p.sa)-1], p.sb[len(p.sb)-1]
	od := p.dims[:len(p.dims)-1]
	osa, osb := p.sa[:len(od)], p.sb[:len(od)]
	return parallel(ctx, outer, rowGrain(inner, grain), inner*cost, func(lo, hi int) {
		// Decompose the first row index into per-axis counters, then step.
		idx := make([]int, len(od))
		aoff, boff := 0, 0
		r := lo
		for ax := len(od) - 1; ax >= 0; ax-- {
			idx[ax] = r % od[ax]
			r /= od[ax]
			aoff += idx[ax] * osa[ax]
			boff += idx[ax] * osb[ax]
		}
		for row := lo; row < hi; row++ {
			kern(dst[row*inner:(row+1)*inner], runOf(a, aoff, ia, inner), runOf(b, boff, ib, inner))
			for ax := len(od) - 1; ax >= 0; ax-- {
				idx[ax]++
				aoff += osa[ax]
				boff += osb[ax]
				if idx[ax] < od[ax] {
					break
				}
				aoff -= od[ax] * osa[ax]
				boff -= od[ax] * osb[ax]
				idx[ax] = 0
			}
		}
	})
}

// sub returns x[lo:hi], or x itself when x is a single broadcast element.
func sub[T any](x []T, lo, hi int) []T {
	if len(x) == 1 {
		return x
	}
	return x[lo:hi]
}

// runOf returns the run of n elements starting at off with inner stride st
// (1: contiguous, 0: one broadcast element).
func runOf[T any](x []T, off, st, n int) []T {
	if st == 0 {
		return x[off : off+1]
	}
	return x[off : off+n]
}

// broadcastOp checks a and b's shapes and returns the broadcast shape.
func broadcastOp(op string, as, bs []int) ([]int, error) {
	out, ok := broadcastShapes(as, bs)
	if !ok {
		return nil, shapeErr(op, fmt.Sprintf("shapes %v and %v do not broadcast", as, bs), as, bs)
	}
	return out, nil
}
