package exec

// broadcastShape returns the multidirectional (NumPy) broadcast of shapes.
func broadcastShape(shapes ...[]int) ([]int, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			switch o := out[off+i]; {
			case d == o:
			case o == 1:
				out[off+i] = d
			case d == 1:
			default:
				return nil, shapeErr("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// bstrides returns the strides of a tensor of shape s read as out (which s
// broadcasts to): 0 along broadcast dims.
func bstrides(s, out []int) []int {
	r := len(out)
	st := make([]int, r)
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 1 {
			st[r-len(s)+i] = acc
		}
		acc *= s[i]
	}
	return st
}

// bcastRuns calls f once per run of the innermost dimension of out with the
// starting offsets into each input (of shapes in) and the run's strides.
func bcastRuns(out []int, in [][]int, f func(o int, offs, strides []int, n int)) {
	if prod(out) == 0 {
		return
	}
	r := len(out)
	sts := make([][]int, len(in))
	for i, s := range in {
		sts[i] = bstrides(s, out)
	}
	if r == 0 {
		f(0, make([]int, len(in)), make([]int, len(in)), 1)
		return
	}
	inner := out[r-1]
	innerSt := make([]int, len(in))
	for i := range in {
		innerSt[i] = sts[i][r-1]
	}
	idx := make([]int, r-1)
	offs := make([]int, len(in))
	for o := 0; o < prod(out); o += inner {
		f(o, offs, innerSt, inner)
		// advance the odometer over dims 0..r-2
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			for i := range offs {
				offs[i] += sts[i][d]
			}
			if idx[d] < out[d] {
				break
			}
			for i := range offs {
				offs[i] -= sts[i][d] * out[d]
			}
			idx[d] = 0
		}
	}
}

// bcastIndex returns, for every element of out, the flat index into a
// tensor of shape s broadcast to out.
func bcastIndex(s, out []int) []int {
	idx := make([]int, 0, prod(out))
	bcastRuns(out, [][]int{s}, func(_ int, offs, st []int, n int) {
		for j := 0; j < n; j++ {
			idx = append(idx, offs[0]+j*st[0])
		}
	})
	return idx
}

// binLoop computes out[i] = f(a[ia], b[ib]) over the broadcast of as and bs.
func binLoop[T, U any](a, b []T, as, bs, os []int, f func(x, y T) U) []U {
	out := make([]U, prod(os))
	if len(a) == len(out) && len(b) == len(out) {
		for i := range out {
			out[i] = f(a[i], b[i])
		}
		return out
	}
	bcastRuns(os, [][]int{as, bs}, func(o int, offs, st []int, n int) {
		ia, ib, sa, sb := offs[0], offs[1], st[0], st[1]
		dst := out[o : o+n]
		switch {
		case sa == 1 && sb == 1:
			x, y := a[ia:ia+n], b[ib:ib+n]
			for j := range dst {
				dst[j] = f(x[j], y[j])
			}
		case sa == 1 && sb == 0:
			x, y := a[ia:ia+n], b[ib]
			for j := range dst {
				dst[j] = f(x[j], y)
			}
		default:
			for j := range dst {
				dst[j] = f(a[ia+j*sa], b[ib+j*sb])
			}
		}
	})
	return out
}
