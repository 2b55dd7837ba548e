package exec

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Einsum and Det, computed in float64 and converted to the input type.
//
// Einsum contracts its inputs pairwise, left to right: each pair becomes
// one batched matrix product over the labels both share (batch labels when
// still needed later, contracted ones otherwise), after each input has had
// its repeated labels reduced to their diagonal and the labels no one else
// needs summed out. What remains is summed and transposed to the output.

func init() {
	Register("", "Einsum", 12, 0, buildEinsum)
	Register("", "Det", 11, 0, buildDet)
}

// einsumEngineWork is the number of multiply-adds from which a float32
// contraction goes through the engine's MatMul.
const einsumEngineWork = 1 << 14

// eterm is a dense float64 tensor whose dims carry einsum labels.
type eterm struct {
	labels []int
	shape  []int
	data   []float64
}

// einsumSpec is a parsed equation: each input's labels (ellipsis dims as
// labels ≥ 128, counted from the right), and the output's.
type einsumSpec struct {
	in  [][]int
	out []int
}

const ellipsisLabel = 128 // label of the last ellipsis dim; earlier ones count up

// parseEinsum parses eq for inputs of the given ranks.
func parseEinsum(eq string, ranks []int) (*einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, attrErr("equation %q has %d inputs, the node %d", eq, len(terms), len(ranks))
	}
	sp := &einsumSpec{}
	ell := -1 // ellipsis rank
	for i, t := range terms {
		labels, err := einsumTerm(eq, t, ranks[i], &ell)
		if err != nil {
			return nil, err
		}
		sp.in = append(sp.in, labels)
	}
	ell = max(ell, 0)
	if explicit {
		out, err := einsumTerm(eq, rhs, -1, &ell)
		if err != nil {
			return nil, err
		}
		seen := map[int]bool{}
		for _, l := range out {
			if seen[l] {
				return nil, attrErr("equation %q repeats an output label", eq)
			}
			seen[l] = true
			found := false
			for _, in := range sp.in {
				found = found || slices.Contains(in, l)
			}
			if !found {
				return nil, attrErr("equation %q: output label %s is in no input", eq, labelName(l))
			}
		}
		sp.out = out
		return sp, nil
	}
	count := map[int]int{}
	for _, in := range sp.in {
		for _, l := range in {
			count[l]++
		}
	}
	for j := ell - 1; j >= 0; j-- {
		sp.out = append(sp.out, ellipsisLabel+j)
	}
	var letters []int
	for l, c := range count {
		if c == 1 && l < ellipsisLabel {
			letters = append(letters, l)
		}
	}
	slices.Sort(letters)
	sp.out = append(sp.out, letters...)
	return sp, nil
}

func labelName(l int) string {
	if l >= ellipsisLabel {
		return "..."
	}
	return string(rune(l))
}

// einsumTerm parses one term for a tensor of rank r (-1: the output, whose
// ellipsis has rank *ell), setting *ell from the first ellipsis seen.
func einsumTerm(eq, t string, r int, ell *int) ([]int, error) {
	pre, post, hasEll := strings.Cut(t, "...")
	if strings.Contains(post, ".") || strings.Contains(pre, ".") {
		return nil, attrErr("equation %q: bad ellipsis in %q", eq, t)
	}
	for _, c := range pre + post {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return nil, attrErr("equation %q: bad label %q", eq, c)
		}
	}
	n := len(pre) + len(post)
	e := 0
	if hasEll {
		if r < 0 {
			e = max(*ell, 0)
		} else {
			e = r - n
			if e < 0 {
				return nil, shapeErr("equation %q: term %q for an input of rank %d", eq, t, r)
			}
			*ell = max(*ell, e)
		}
	} else if r >= 0 && n != r {
		return nil, shapeErr("equation %q: term %q for an input of rank %d", eq, t, r)
	}
	var labels []int
	for _, c := range pre {
		labels = append(labels, int(c))
	}
	for j := e - 1; j >= 0; j-- {
		labels = append(labels, ellipsisLabel+j)
	}
	for _, c := range post {
		labels = append(labels, int(c))
	}
	return labels, nil
}

func buildEinsum(n *Node) (Kernel, error) {
	eq, err := n.String("equation", "")
	if err != nil {
		return nil, err
	}
	if eq == "" {
		return nil, attrErr("equation is required")
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, max(len(in), 1)); err != nil {
			return nil, err
		}
		ranks := make([]int, len(in))
		for i, x := range in {
			ranks[i] = x.Dims()
			if x.DType() != in[0].DType() {
				return nil, typeErr("Einsum of %s and %s", in[0].DType(), x.DType())
			}
		}
		sp, err := parseEinsum(eq, ranks)
		if err != nil {
			return nil, err
		}
		size := map[int]int{}
		for i, x := range in {
			for d, l := range sp.in[i] {
				dim := x.Shape()[d]
				switch old, ok := size[l]; {
				case !ok || old == 1 && l >= ellipsisLabel:
					size[l] = dim
				case old != dim && !(dim == 1 && l >= ellipsisLabel):
					return nil, shapeErr("equation %q: label %s has sizes %d and %d", eq, labelName(l), old, dim)
				}
			}
		}
		terms := make([]*eterm, len(in))
		for i, x := range in {
			if err := checkLike(ctx, 8, x); err != nil {
				return nil, err
			}
			f, err := cast(x, numeric.Float64, false)
			if err != nil {
				return nil, err
			}
			terms[i] = &eterm{labels: sp.in[i], shape: x.Shape(), data: f.(*tensor.Tensor[float64]).Data()}
		}
		res, err := einsum(ctx, terms, sp.out, size, isFloat(in[0].DType()) && in[0].DType() != numeric.Float64)
		if err != nil {
			return nil, err
		}
		t, err := tensor.New(res.shape, res.data)
		if err != nil {
			return nil, err
		}
		return cast(t, in[0].DType(), false)
	}), nil
}

// einsum contracts terms to the labels out.
// With f32 (float32 or narrower inputs), large products go through the
// float32 engine's MatMul.
func einsum(ctx context.Context, terms []*eterm, out []int, size map[int]int, f32 bool) (*eterm, error) {
	// needed(i) is the labels used by out or by terms after i
	needed := func(i int) map[int]bool {
		m := map[int]bool{}
		for _, l := range out {
			m[l] = true
		}
		for _, t := range terms[i+1:] {
			for _, l := range t.labels {
				m[l] = true
			}
		}
		return m
	}
	var acc *eterm
	for i, t := range terms {
		t, err := diagonal(ctx, t)
		if err != nil {
			return nil, err
		}
		keep := needed(i)
		if acc != nil {
			for _, l := range acc.labels {
				keep[l] = true
			}
		}
		if t, err = sumOut(ctx, t, keep); err != nil {
			return nil, err
		}
		if acc == nil {
			acc = t
			continue
		}
		keep = needed(i)
		for _, l := range t.labels {
			keep[l] = true
		}
		if acc, err = sumOut(ctx, acc, keep); err != nil {
			return nil, err
		}
		if acc, err = contract(ctx, acc, t, needed(i), size, f32); err != nil {
			return nil, err
		}
	}
	keep := map[int]bool{}
	for _, l := range out {
		keep[l] = true
	}
	acc, err := sumOut(ctx, acc, keep)
	if err != nil {
		return nil, err
	}
	// labels of out missing from acc are broadcast ellipsis dims of size 1
	for _, l := range out {
		if !slices.Contains(acc.labels, l) {
			acc.labels = append(acc.labels, l)
			acc.shape = append(acc.shape, 1)
		}
	}
	return permuteTerm(ctx, acc, out)
}

// diagonal reduces the repeated labels of t to their diagonal.
func diagonal(ctx context.Context, t *eterm) (*eterm, error) {
	var labels, shape []int
	for d, l := range t.labels {
		if k := slices.Index(labels, l); k >= 0 {
			if shape[k] != t.shape[d] {
				return nil, shapeErr("einsum: repeated label %s has sizes %d and %d", labelName(l), shape[k], t.shape[d])
			}
			continue
		}
		labels = append(labels, l)
		shape = append(shape, t.shape[d])
	}
	if len(labels) == len(t.labels) {
		return t, nil
	}
	if err := checkWork(ctx, 8, numeric.Float64, shape); err != nil {
		return nil, err
	}
	st := tensor.Strides(t.shape)
	// the stride of each output dim in t: the sum over its occurrences
	ost := make([]int, len(labels))
	for d, l := range t.labels {
		ost[slices.Index(labels, l)] += st[d]
	}
	out := &eterm{labels: labels, shape: shape, data: make([]float64, prod(shape))}
	forEachOffset(shape, ost, func(i, off int) { out.data[i] = t.data[off] })
	return out, nil
}

// forEachOffset calls f(i, off) for each element i (row-major) of shape,
// with off the sum of its indices times strides st.
func forEachOffset(shape, st []int, f func(i, off int)) {
	n := prod(shape)
	pos := make([]int, len(shape))
	off := 0
	for i := range n {
		f(i, off)
		for d := len(shape) - 1; d >= 0; d-- {
			pos[d]++
			off += st[d]
			if pos[d] < shape[d] {
				break
			}
			off -= st[d] * shape[d]
			pos[d] = 0
		}
	}
}

// sumOut sums t over its labels not in keep.
func sumOut(ctx context.Context, t *eterm, keep map[int]bool) (*eterm, error) {
	var labels, shape []int
	for d, l := range t.labels {
		if keep[l] {
			labels = append(labels, l)
			shape = append(shape, t.shape[d])
		}
	}
	if len(labels) == len(t.labels) {
		return t, nil
	}
	if err := checkWork(ctx, 8, numeric.Float64, shape); err != nil {
		return nil, err
	}
	// the output offset of each input element: strides 0 on summed dims
	ost := make([]int, len(t.labels))
	os := tensor.Strides(shape)
	k := 0
	for d, l := range t.labels {
		if keep[l] {
			ost[d] = os[k]
			k++
		}
	}
	out := &eterm{labels: labels, shape: shape, data: make([]float64, prod(shape))}
	forEachOffset(t.shape, ost, func(i, off int) { out.data[off] += t.data[i] })
	return out, nil
}

// permuteTerm returns t with its dims in the order of labels (which holds
// each of t's labels once).
func permuteTerm(ctx context.Context, t *eterm, labels []int) (*eterm, error) {
	if slices.Equal(t.labels, labels) {
		return t, nil
	}
	st := tensor.Strides(t.shape)
	shape := make([]int, len(labels))
	pst := make([]int, len(labels))
	for i, l := range labels {
		d := slices.Index(t.labels, l)
		if d < 0 {
			return nil, shapeErr("einsum: internal: label %s missing", labelName(l))
		}
		shape[i], pst[i] = t.shape[d], st[d]
	}
	if err := checkWork(ctx, 8, numeric.Float64, shape); err != nil {
		return nil, err
	}
	out := &eterm{labels: labels, shape: shape, data: make([]float64, prod(shape))}
	forEachOffset(shape, pst, func(i, off int) { out.data[i] = t.data[off] })
	return out, nil
}

// expandTerm broadcasts t's size-1 dims whose labels have a larger size.
func expandTerm(ctx context.Context, t *eterm, size map[int]int) (*eterm, error) {
	shape := append([]int(nil), t.shape...)
	st := tensor.Strides(t.shape)
	grow := false
	for d, l := range t.labels {
		if shape[d] == 1 && size[l] != 1 {
			shape[d], st[d], grow = size[l], 0, true
		}
	}
	if !grow {
		return t, nil
	}
	if err := checkWork(ctx, 8, numeric.Float64, shape); err != nil {
		return nil, err
	}
	out := &eterm{labels: t.labels, shape: shape, data: make([]float64, prod(shape))}
	forEachOffset(shape, st, func(i, off int) { out.data[i] = t.data[off] })
	return out, nil
}

// contract multiplies a and b as a batched matrix product: batch labels
// (in both and in keep), a's free labels, contracted labels (in both, not
// in keep), b's free labels. Labels in one term only are kept.
func contract(ctx context.Context, a, b *eterm, keep map[int]bool, size map[int]int, f32 bool) (*eterm, error) {
	var batch, free1, con, free2 []int
	for _, l := range a.labels {
		switch {
		case !slices.Contains(b.labels, l):
			free1 = append(free1, l)
		case keep[l]:
			batch = append(batch, l)
		default:
			con = append(con, l)
		}
	}
	for _, l := range b.labels {
		if !slices.Contains(a.labels, l) {
			free2 = append(free2, l)
		}
	}
	var err error
	shared := append(append([]int(nil), batch...), con...)
	if a, err = expandShared(ctx, a, shared, size); err != nil {
		return nil, err
	}
	if b, err = expandShared(ctx, b, shared, size); err != nil {
		return nil, err
	}
	if a, err = permuteTerm(ctx, a, catInts(batch, free1, con)); err != nil {
		return nil, err
	}
	if b, err = permuteTerm(ctx, b, catInts(batch, con, free2)); err != nil {
		return nil, err
	}
	dims := func(t *eterm, from, n int) int { return prod(t.shape[from : from+n]) }
	nb, m, k, nn := dims(a, 0, len(batch)), dims(a, len(batch), len(free1)), dims(a, len(batch)+len(free1), len(con)), dims(b, len(batch)+len(con), len(free2))
	shape := catInts(a.shape[:len(batch)+len(free1)], b.shape[len(batch)+len(con):])
	if err := checkWork(ctx, 8, numeric.Float64, shape); err != nil {
		return nil, err
	}
	out := &eterm{labels: catInts(batch, free1, free2), shape: shape}
	if f32 && nb*m*k*nn >= einsumEngineWork {
		// float32 operands: the engine's blocked, parallel kernel
		x := tensor.Must(tensor.New([]int{nb, m, k}, convSlice[float64, float32](a.data)))
		y := tensor.Must(tensor.New([]int{nb, k, nn}, convSlice[float64, float32](b.data)))
		z, err := f32Engine.MatMul(ctx, x, y)
		if err != nil {
			return nil, err
		}
		out.data = convSlice[float32, float64](z.Data())
		return out, nil
	}
	out.data = make([]float64, nb*m*nn)
	for p := range nb {
		x, y, z := a.data[p*m*k:(p+1)*m*k], b.data[p*k*nn:(p+1)*k*nn], out.data[p*m*nn:(p+1)*m*nn]
		for i := range m {
			row := z[i*nn : (i+1)*nn]
			for q := range k {
				v := x[i*k+q]
				for j, w := range y[q*nn : (q+1)*nn] {
					row[j] += v * w
				}
			}
		}
	}
	return out, nil
}

// expandShared broadcasts t's size-1 dims among labels to their size.
func expandShared(ctx context.Context, t *eterm, labels []int, size map[int]int) (*eterm, error) {
	sub := map[int]int{}
	for _, l := range labels {
		sub[l] = size[l]
	}
	for _, l := range t.labels {
		if _, ok := sub[l]; !ok {
			sub[l] = 1
		}
	}
	return expandTerm(ctx, t, sub)
}

func catInts(parts ...[]int) []int {
	var r []int
	for _, p := range parts {
		r = append(r, p...)
	}
	return r
}

func buildDet(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		if len(s) < 2 || s[len(s)-1] != s[len(s)-2] {
			return nil, shapeErr("Det of shape %v, want [..., M, M]", s)
		}
		if !isFloat(x.DType()) {
			return nil, typeErr("Det of %s, want a float type", x.DType())
		}
		if err := checkLike(ctx, 8, x); err != nil {
			return nil, err
		}
		f, err := cast(x, numeric.Float64, false)
		if err != nil {
			return nil, err
		}
		m := s[len(s)-1]
		os := s[:len(s)-2]
		v := f.(*tensor.Tensor[float64]).Data()
		out := make([]float64, prod(os))
		a := make([]float64, m*m)
		for i := range out {
			copy(a, v[i*m*m:(i+1)*m*m])
			out[i] = detLU(a, m)
		}
		t, err := tensor.New(os, out)
		if err != nil {
			return nil, err
		}
		return cast(t, x.DType(), false)
	}), nil
}

// detLU is the determinant of the m×m matrix a (overwritten), by LU
// decomposition with partial pivoting.
func detLU(a []float64, m int) float64 {
	d := 1.0
	for c := range m {
		p := c
		for r := c + 1; r < m; r++ {
			if math.Abs(a[r*m+c]) > math.Abs(a[p*m+c]) {
				p = r
			}
		}
		if a[p*m+c] == 0 {
			return 0
		}
		if p != c {
			for j := range m {
				a[c*m+j], a[p*m+j] = a[p*m+j], a[c*m+j]
			}
			d = -d
		}
		piv := a[c*m+c]
		d *= piv
		for r := c + 1; r < m; r++ {
			f := a[r*m+c] / piv
			for j := c; j < m; j++ {
				a[r*m+j] -= f * a[c*m+j]
			}
		}
	}
	return d
}
