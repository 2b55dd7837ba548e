package exec

import (
	"context"
	"slices"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Ops on the order of elements: ArgMax, ArgMin, TopK, Unique and CumSum.
// NaN sorts above every number, as in NumPy.

func init() {
	Register("", "ArgMax", 1, 0, buildArg(true))
	Register("", "ArgMin", 1, 0, buildArg(false))
	Register("", "TopK", 1, 0, buildTopK)
	Register("", "Unique", 11, 0, buildUnique)
	Register("", "CumSum", 11, 0, buildCumSum)
}

// cmpT orders a and b: -1, 0 or 1, NaN above every number and equal to
// itself.
func cmpT[T num](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	case a != a && b != b:
		return 0
	case a != a:
		return 1
	}
	return -1
}

// axisLanes splits shape s at axis a into [outer, n, inner].
func axisLanes(s []int, a int) (outer, n, inner int) {
	return prod(s[:a]), s[a], prod(s[a+1:])
}

// axisOrFlat gives Compress and Unique the shape they work on and its
// normalized axis: x's shape along axis, or x flattened to 1-D (axis 0)
// without the attribute. A scalar has no axis to work along.
func axisOrFlat(x tensor.Any, hasAxis bool, axis int64, op string) ([]int, int, error) {
	s := x.Shape()
	if !hasAxis {
		s = []int{x.Size()}
	}
	a, err := normAxis(axis, max(len(s), 1))
	if err != nil {
		return nil, 0, err
	}
	if len(s) == 0 {
		return nil, 0, shapeErr("%s of a scalar along an axis", op)
	}
	return s, a, nil
}

func buildArg(isMax bool) BuildFunc {
	return func(n *Node) (Kernel, error) {
		axis, err := n.Int("axis", 0)
		if err != nil {
			return nil, err
		}
		keep, err := n.Int("keepdims", 1)
		if err != nil {
			return nil, err
		}
		last, err := n.Int("select_last_index", 0)
		if err != nil {
			return nil, err
		}
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			s := in[0].Shape()
			a, err := normAxis(axis, len(s))
			if err != nil {
				return nil, err
			}
			outer, dim, inner := axisLanes(s, a)
			if dim == 0 {
				return nil, shapeErr("ArgMax/ArgMin along an empty axis of %v", s)
			}
			os := append([]int(nil), s...)
			os[a] = 1
			if keep == 0 {
				os = append(os[:a], os[a+1:]...)
			}
			if err := checkWork(ctx, 8+workBytes(in[0].DType()), numeric.Int64, s); err != nil {
				return nil, err
			}
			k, w, _, err := typedArgs("ArgMax", in[0])
			if err != nil {
				return nil, err
			}
			return tensor.New(os, k.argK(w[0], outer, dim, inner, isMax, last != 0))
		}), nil
	}
}

// argK returns the index of the maximum (minimum) of each lane of x viewed
// as [outer, n, inner]: the first (last) of equal ones; NaN is the maximum.
func (typed[T]) argK(x tensor.Any, outer, n, inner int, isMax, last bool) []int64 {
	v := elemsOf[T](x)
	out := make([]int64, outer*inner)
	for o := range outer {
		for j := range inner {
			base := o*n*inner + j
			best := 0
			for i := 1; i < n; i++ {
				c := cmpT(v[base+i*inner], v[base+best*inner])
				if !isMax {
					c = -c
				}
				if c > 0 || c == 0 && last {
					best = i
				}
			}
			out[o*inner+j] = int64(best)
		}
	}
	return out
}

func buildTopK(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	largest, err := n.Int("largest", 1)
	if err != nil {
		return nil, err
	}
	kAttr, err := n.Int("k", -1)
	if err != nil {
		return nil, err
	}
	if n.Opset < 10 && kAttr < 0 {
		return nil, attrErr("k = %d", kAttr)
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		k := kAttr
		if n.Opset >= 10 {
			if err := need(in, 2); err != nil {
				return nil, err
			}
			kv, err := ints(in[1])
			if err != nil {
				return nil, err
			}
			if len(kv) != 1 {
				return nil, shapeErr("k of shape %v, want one value", in[1].Shape())
			}
			k = kv[0]
		}
		s := in[0].Shape()
		a, err := normAxis(axis, len(s))
		if err != nil {
			return nil, err
		}
		if k < 0 || k > int64(s[a]) {
			return nil, shapeErr("k = %d for an axis of %d", k, s[a])
		}
		os := append([]int(nil), s...)
		os[a] = int(k)
		if err := checkWork(ctx, 8+workBytes(in[0].DType()), in[0].DType(), os); err != nil {
			return nil, err
		}
		if err := checkLike(ctx, 8, in[0]); err != nil {
			return nil, err
		}
		kr, w, dt, err := typedArgs("TopK", in[0])
		if err != nil {
			return nil, err
		}
		outer, dim, inner := axisLanes(s, a)
		vals, idx, err := kr.topKK(w[0], os, outer, dim, inner, int(k), largest != 0)
		if err != nil {
			return nil, err
		}
		v, err := narrow(dt, vals, nil)
		if err != nil {
			return nil, err
		}
		it, err := tensor.New(os, idx)
		if err != nil {
			return nil, err
		}
		return []tensor.Any{v, it}, nil
	}, nil
}

// topKK returns the k largest (smallest) elements of each lane of x viewed
// as [outer, n, inner], sorted, equal ones in index order, as a tensor of
// shape os, and their indices.
func (typed[T]) topKK(x tensor.Any, os []int, outer, n, inner, k int, largest bool) (tensor.Any, []int64, error) {
	v := elemsOf[T](x)
	vals := make([]T, outer*k*inner)
	idx := make([]int64, outer*k*inner)
	lane := make([]ranked[T], n)
	top := make([]ranked[T], 0, n)
	before := func(a, b ranked[T]) int {
		c := cmpT(a.v, b.v)
		if largest {
			c = -c
		}
		if c == 0 {
			c = a.i - b.i
		}
		return c
	}
	for o := range outer {
		for j := range inner {
			base := o*n*inner + j
			for i := range lane {
				lane[i] = ranked[T]{v[base+i*inner], i}
			}
			top = topRanked(top[:0], lane, k, before)
			for i, e := range top {
				at := (o*k+i)*inner + j
				vals[at], idx[at] = e.v, int64(e.i)
			}
		}
	}
	t, err := tensor.New(os, vals)
	return t, idx, err
}

// ranked is an element of a lane and its index there.
type ranked[T num] struct {
	v T
	i int
}

// topRanked appends to dst the first k elements of lane in the strict
// order before (lane may be reordered). Small k keep a sorted buffer (n log
// k comparisons), larger ones sort the lane.
func topRanked[T num](dst, lane []ranked[T], k int, before func(a, b ranked[T]) int) []ranked[T] {
	if k == 0 {
		return dst
	}
	if k*8 >= len(lane) {
		slices.SortFunc(lane, before)
		return append(dst, lane[:k]...)
	}
	for _, e := range lane {
		if len(dst) == k && before(e, dst[k-1]) > 0 {
			continue
		}
		at, _ := slices.BinarySearchFunc(dst, e, before)
		if len(dst) < k {
			dst = append(dst, e)
		}
		copy(dst[at+1:], dst[at:])
		dst[at] = e
	}
	return dst
}

func buildCumSum(n *Node) (Kernel, error) {
	excl, err := n.Int("exclusive", 0)
	if err != nil {
		return nil, err
	}
	rev, err := n.Int("reverse", 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		av, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		if len(av) != 1 {
			return nil, shapeErr("axis of shape %v, want a scalar", in[1].Shape())
		}
		s := in[0].Shape()
		a, err := normAxis(av[0], len(s))
		if err != nil {
			return nil, err
		}
		k, x, dt, err := typedInput(ctx, "CumSum", in[0])
		if err != nil {
			return nil, err
		}
		outer, dim, inner := axisLanes(s, a)
		v, err := k.cumSumK(x, outer, dim, inner, excl != 0, rev != 0)
		return narrow(dt, v, err)
	}), nil
}

// cumSumK is the running sum of each lane of x viewed as [outer, n,
// inner], in T, from the end when reverse, without the element itself when
// exclusive.
func (typed[T]) cumSumK(x tensor.Any, outer, n, inner int, exclusive, reverse bool) (tensor.Any, error) {
	v := elemsOf[T](x)
	out := make([]T, len(v))
	for o := range outer {
		for j := range inner {
			base := o*n*inner + j
			var acc T
			for t := range n {
				i := t
				if reverse {
					i = n - 1 - t
				}
				at := base + i*inner
				if exclusive {
					out[at] = acc
					acc += v[at]
				} else {
					acc += v[at]
					out[at] = acc
				}
			}
		}
	}
	return tensor.New(x.Shape(), out)
}

func buildUnique(n *Node) (Kernel, error) {
	sorted, err := n.Int("sorted", 1)
	if err != nil {
		return nil, err
	}
	hasAxis := n.Has("axis")
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		s, a, err := axisOrFlat(x, hasAxis, axis, "Unique")
		if err != nil {
			return nil, err
		}
		// the outputs are at most the input, plus four index tables
		if err := checkLike(ctx, x.DType().Size()+4*8, x); err != nil {
			return nil, err
		}
		k, w, _, err := typedArgs("Unique", x)
		if err != nil {
			return nil, err
		}
		outer, dim, inner := axisLanes(s, a)
		cmpElem := k.cmpK(w[0])
		cmpItem := func(p, q int) int {
			for o := range outer {
				for j := range inner {
					if c := cmpElem((o*dim+p)*inner+j, (o*dim+q)*inner+j); c != 0 {
						return c
					}
				}
			}
			return 0
		}
		order := make([]int, dim)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, cmpItem)
		var first, counts []int64 // per unique item
		inverse := make([]int64, dim)
		for i, it := range order {
			if i == 0 || cmpItem(order[i-1], it) != 0 {
				first = append(first, int64(it))
				counts = append(counts, 0)
			}
			counts[len(counts)-1]++
			inverse[it] = int64(len(first) - 1)
		}
		if sorted == 0 { // by first occurrence
			u := make([]int, len(first))
			for i := range u {
				u[i] = i
			}
			slices.SortFunc(u, func(p, q int) int { return int(first[p] - first[q]) })
			rank := make([]int64, len(u))
			f, c := make([]int64, len(u)), make([]int64, len(u))
			for r, g := range u {
				rank[g] = int64(r)
				f[r], c[r] = first[g], counts[g]
			}
			first, counts = f, c
			for i, g := range inverse {
				inverse[i] = rank[g]
			}
		}
		ys := append([]int(nil), s...)
		ys[a] = len(first)
		y, err := move(ctx, []tensor.Any{x}, ys, func(emit func(int, int, int)) {
			for o := range outer {
				for _, it := range first {
					emit(0, (o*dim+int(it))*inner, inner)
				}
			}
		})
		if err != nil {
			return nil, err
		}
		outs := []tensor.Any{y}
		for _, v := range [][]int64{first, inverse, counts} {
			t, err := tensor.New([]int{len(v)}, v)
			if err != nil {
				return nil, err
			}
			outs = append(outs, t)
		}
		return outs, nil
	}, nil
}

// cmpK returns the order (cmpT) of x's elements at two flat offsets.
func (typed[T]) cmpK(x tensor.Any) func(i, j int) int {
	v := elemsOf[T](x)
	return func(i, j int) int { return cmpT(v[i], v[j]) }
}
