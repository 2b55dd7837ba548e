package exec

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

func init() {
	Register("", "Reshape", 5, 0, buildReshape)
	Register("", "Transpose", 1, 0, buildTranspose)
	Register("", "Squeeze", 1, 0, buildSqueeze)
	Register("", "Unsqueeze", 1, 0, buildUnsqueeze)
	Register("", "Flatten", 1, 0, buildFlatten)
	Register("", "Concat", 4, 0, buildConcat)
	Register("", "Split", 2, 0, buildSplit)
	Register("", "Slice", 1, 0, buildSlice)
	Register("", "Gather", 1, 0, buildGather)
	Register("", "Shape", 1, 0, buildShape)
	Register("", "Size", 1, 0, func(*Node) (Kernel, error) {
		return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
			if err := need(in, 1); err != nil {
				return nil, err
			}
			return tensor.Scalar(int64(in[0].Size())), nil
		}), nil
	})
	Register("", "Expand", 8, 0, buildExpand)
	Register("", "Range", 11, 0, buildRange)
	Register("", "Trilu", 14, 0, buildTrilu)
	Register("", "ConstantOfShape", 9, 0, buildConstantOfShape)
	Register("", "Constant", 1, 0, buildConstant)
}

// axesFrom reads the axes of Squeeze/Unsqueeze/Reduce*/Split-like ops: from
// attribute attr before opset inputFrom, from input i from then on. nil
// means absent.
func axesArg(n *Node, inputFrom int64, attr string) func(in []tensor.Any) ([]int64, error) {
	if n.Opset < inputFrom {
		a, err := n.Ints(attr, nil)
		return func([]tensor.Any) ([]int64, error) { return a, err }
	}
	return func(in []tensor.Any) ([]int64, error) {
		if v := opt(in, 1); v != nil {
			return ints(v)
		}
		return nil, nil
	}
}

func intsToShape(v []int64) []int {
	s := make([]int, len(v))
	for i, d := range v {
		s[i] = int(d)
	}
	return s
}

func buildReshape(n *Node) (Kernel, error) {
	allowZero, err := n.Int("allowzero", 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		spec, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		src := in[0].Shape()
		shape := make([]int, len(spec))
		infer, known := -1, 1
		for i, d := range spec {
			switch {
			case d == 0 && allowZero == 0:
				if i >= len(src) {
					return nil, shapeErr("shape %v copies dim %d of %v", spec, i, src)
				}
				shape[i] = src[i]
			case d == -1 && infer < 0:
				infer = i
				continue
			case d < 0 || d > math.MaxInt32:
				return nil, shapeErr("bad shape %v", spec)
			default:
				shape[i] = int(d)
			}
			known *= shape[i]
		}
		if infer >= 0 {
			if known == 0 || in[0].Size()%known != 0 {
				return nil, shapeErr("cannot reshape %v to %v", src, spec)
			}
			shape[infer] = in[0].Size() / known
		}
		if prod(shape) != in[0].Size() {
			return nil, shapeErr("cannot reshape %v (%d elements) to %v", src, in[0].Size(), spec)
		}
		return reshape(in[0], shape)
	}), nil
}

func buildFlatten(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		a := axis
		if a < 0 {
			a += int64(len(s))
		}
		if a < 0 || a > int64(len(s)) {
			return nil, shapeErr("axis %d out of range for rank %d", axis, len(s))
		}
		return reshape(in[0], []int{prod(s[:a]), prod(s[a:])})
	}), nil
}

// transpose permutes the axes of x.
func transpose(ctx context.Context, x tensor.Any, perm []int) (tensor.Any, error) {
	s := x.Shape()
	r := len(s)
	if len(perm) != r {
		return nil, shapeErr("perm %v for rank %d", perm, r)
	}
	seen := make([]bool, r)
	os := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, shapeErr("bad perm %v", perm)
		}
		seen[p] = true
		os[i] = s[p]
	}
	st := tensor.Strides(s)
	if r == 0 || prod(os) == 0 {
		return move(ctx, []tensor.Any{x}, os, func(emit func(int, int, int)) {
			if r == 0 {
				emit(0, 0, 1)
			}
		})
	}
	pst := make([]int, r)
	for i, p := range perm {
		pst[i] = st[p]
	}
	return move(ctx, []tensor.Any{x}, os, func(emit func(int, int, int)) {
		idx := make([]int, r-1)
		off := 0
		inner, ist := os[r-1], pst[r-1]
		for o := 0; o < prod(os); o += inner {
			if ist == 1 {
				emit(0, off, inner)
			} else {
				for j := 0; j < inner; j++ {
					emit(0, off+j*ist, 1)
				}
			}
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				off += pst[d]
				if idx[d] < os[d] {
					break
				}
				off -= pst[d] * os[d]
				idx[d] = 0
			}
		}
	})
}

func buildTranspose(n *Node) (Kernel, error) {
	p, err := n.Ints("perm", nil)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		r := in[0].Dims()
		perm := make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
		if p != nil {
			perm = intsToShape(p)
		}
		return transpose(ctx, in[0], perm)
	}), nil
}

func buildSqueeze(n *Node) (Kernel, error) {
	axes := axesArg(n, 13, "axes")
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		a, err := axes(in)
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		drop := make([]bool, len(s))
		if a == nil {
			for i, d := range s {
				drop[i] = d == 1
			}
		}
		for _, ax := range a {
			i, err := normAxis(ax, len(s))
			if err != nil {
				return nil, err
			}
			if s[i] != 1 {
				return nil, shapeErr("cannot squeeze axis %d of shape %v", ax, s)
			}
			drop[i] = true
		}
		var os []int
		for i, d := range s {
			if !drop[i] {
				os = append(os, d)
			}
		}
		return reshape(in[0], os)
	}), nil
}

func buildUnsqueeze(n *Node) (Kernel, error) {
	axes := axesArg(n, 13, "axes")
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		a, err := axes(in)
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		r := len(s) + len(a)
		ins := make([]bool, r)
		for _, ax := range a {
			i, err := normAxis(ax, r)
			if err != nil {
				return nil, err
			}
			if ins[i] {
				return nil, shapeErr("axis %d repeated in %v", ax, a)
			}
			ins[i] = true
		}
		os := make([]int, 0, r)
		k := 0
		for i := 0; i < r; i++ {
			if ins[i] {
				os = append(os, 1)
			} else {
				os = append(os, s[k])
				k++
			}
		}
		return reshape(in[0], os)
	}), nil
}

func buildConcat(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", math.MinInt64)
	if err != nil {
		return nil, err
	}
	if axis == math.MinInt64 {
		return nil, attrErr("attribute axis is required")
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		return concat(ctx, in, axis)
	}), nil
}

func concat(ctx context.Context, in []tensor.Any, axis int64) (tensor.Any, error) {
	if err := need(in, 1); err != nil {
		return nil, err
	}
	for _, x := range in {
		if x == nil {
			return nil, typeErr("Concat input is absent")
		}
	}
	s0 := in[0].Shape()
	a, err := normAxis(axis, len(s0))
	if err != nil {
		return nil, err
	}
	os := append([]int(nil), s0...)
	os[a] = 0
	inner := make([]int, len(in))
	for i, x := range in {
		s := x.Shape()
		if len(s) != len(s0) {
			return nil, shapeErr("Concat of shapes %v and %v", s0, s)
		}
		for d := range s {
			if d != a && s[d] != s0[d] {
				return nil, shapeErr("Concat on axis %d of shapes %v and %v", a, s0, s)
			}
		}
		os[a] += s[a]
		inner[i] = prod(s[a:])
	}
	outer := prod(s0[:a])
	return move(ctx, in, os, func(emit func(int, int, int)) {
		for o := 0; o < outer; o++ {
			for i, k := range inner {
				if k > 0 {
					emit(i, o*k, k)
				}
			}
		}
	})
}

func buildSplit(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	splitArg := axesArg(n, 13, "split")
	numOut := len(n.Proto.GetOutput())
	return func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		a, err := normAxis(axis, len(s))
		if err != nil {
			return nil, err
		}
		sizes, err := splitArg(in)
		if err != nil {
			return nil, err
		}
		if sizes == nil {
			chunk := (s[a] + numOut - 1) / numOut
			for i, left := 0, s[a]; i < numOut; i++ {
				c := min(chunk, left)
				sizes = append(sizes, int64(c))
				left -= c
			}
		}
		if len(sizes) != numOut {
			return nil, shapeErr("split %v for %d outputs", sizes, numOut)
		}
		total := int64(0)
		for _, v := range sizes {
			if v < 0 || v > int64(s[a]) {
				return nil, shapeErr("split %v of dim %d of %v", sizes, a, s)
			}
			total += v
		}
		if total != int64(s[a]) {
			return nil, shapeErr("split %v does not sum to dim %d of %v", sizes, a, s)
		}
		outer, after := prod(s[:a]), prod(s[a+1:])
		outs := make([]tensor.Any, numOut)
		start := 0
		for i, sz := range sizes {
			os := append([]int(nil), s...)
			os[a] = int(sz)
			k, st := int(sz)*after, start*after
			v, err := move(ctx, in[:1], os, func(emit func(int, int, int)) {
				for o := 0; o < outer && k > 0; o++ {
					emit(0, o*s[a]*after+st, k)
				}
			})
			if err != nil {
				return nil, err
			}
			outs[i] = v
			start += int(sz)
		}
		return outs, nil
	}, nil
}

func buildSlice(n *Node) (Kernel, error) {
	var attrStarts, attrEnds, attrAxes []int64
	if n.Opset < 10 {
		var err error
		if attrStarts, err = n.Ints("starts", nil); err != nil {
			return nil, err
		}
		if attrEnds, err = n.Ints("ends", nil); err != nil {
			return nil, err
		}
		if attrAxes, err = n.Ints("axes", nil); err != nil {
			return nil, err
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		starts, ends, axes := attrStarts, attrEnds, attrAxes
		var steps []int64
		if n.Opset >= 10 {
			if err := need(in, 3); err != nil {
				return nil, err
			}
			var err error
			if starts, err = ints(in[1]); err != nil {
				return nil, err
			}
			if ends, err = ints(in[2]); err != nil {
				return nil, err
			}
			if v := opt(in, 3); v != nil {
				if axes, err = ints(v); err != nil {
					return nil, err
				}
			}
			if v := opt(in, 4); v != nil {
				if steps, err = ints(v); err != nil {
					return nil, err
				}
			}
		} else if err := need(in, 1); err != nil {
			return nil, err
		}
		return slice(ctx, in[0], starts, ends, axes, steps)
	}), nil
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

func slice(ctx context.Context, x tensor.Any, starts, ends, axes, steps []int64) (tensor.Any, error) {
	s := x.Shape()
	r := len(s)
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, shapeErr("Slice: starts %v, ends %v, axes %v, steps %v differ in length", starts, ends, axes, steps)
	}
	st := make([]int, r)
	step := make([]int, r)
	os := append([]int(nil), s...)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i := range starts {
		ax := int64(i)
		if axes != nil {
			ax = axes[i]
		}
		a, err := normAxis(ax, r)
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, shapeErr("Slice: axis %d repeated", ax)
		}
		seen[a] = true
		p := int64(1)
		if steps != nil {
			p = steps[i]
		}
		if p == 0 {
			return nil, shapeErr("Slice: step 0")
		}
		d := int64(s[a])
		b, e := starts[i], ends[i]
		if b < 0 {
			b += d
		}
		if e < 0 && e > math.MinInt64/2 {
			e += d
		}
		var cnt int64
		p = clamp(p, -d-1, d+1) // a longer step takes the same one element; no overflow below
		switch {
		case d == 0:
		case p > 0:
			b, e = clamp(b, 0, d), clamp(e, 0, d)
			cnt = max(0, (e-b+p-1)/p)
		default:
			b, e = clamp(b, 0, d-1), clamp(e, -1, d-1)
			cnt = max(0, (b-e-p-1)/(-p))
		}
		st[a], step[a], os[a] = int(b), int(p), int(cnt)
	}
	str := tensor.Strides(s)
	if r == 0 {
		return reshape(x, nil)
	}
	return move(ctx, []tensor.Any{x}, os, func(emit func(int, int, int)) {
		if prod(os) == 0 {
			return
		}
		idx := make([]int, r)
		base := 0
		for i := range st {
			base += st[i] * str[i]
		}
		inner := os[r-1]
		for {
			off := base
			for d := 0; d < r-1; d++ {
				off += idx[d] * step[d] * str[d]
			}
			if step[r-1] == 1 {
				emit(0, off, inner)
			} else {
				for j := 0; j < inner; j++ {
					emit(0, off+j*step[r-1], 1)
				}
			}
			d := r - 2
			for ; d >= 0; d-- {
				idx[d]++
				if idx[d] < os[d] {
					break
				}
				idx[d] = 0
			}
			if d < 0 {
				return
			}
		}
	})
}

func buildGather(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		return gather(ctx, in[0], in[1], axis)
	}), nil
}

func gather(ctx context.Context, data, indices tensor.Any, axis int64) (tensor.Any, error) {
	s := data.Shape()
	a, err := normAxis(axis, len(s))
	if err != nil {
		return nil, err
	}
	idx, err := ints(indices)
	if err != nil {
		return nil, err
	}
	d := int64(s[a])
	norm := make([]int, len(idx))
	for i, v := range idx {
		if v < -d || v >= d {
			return nil, &Error{Msg: fmt.Sprintf("index %d out of range [%d, %d) on axis %d of %v", v, -d, d, a, s), Err: tensor.ErrIndex}
		}
		if v < 0 {
			v += d
		}
		norm[i] = int(v)
	}
	os := append(append(append([]int(nil), s[:a]...), indices.Shape()...), s[a+1:]...)
	outer, inner := prod(s[:a]), prod(s[a+1:])
	return move(ctx, []tensor.Any{data}, os, func(emit func(int, int, int)) {
		if inner == 0 {
			return
		}
		for o := 0; o < outer; o++ {
			for _, v := range norm {
				emit(0, (o*int(d)+v)*inner, inner)
			}
		}
	})
}

func buildShape(n *Node) (Kernel, error) {
	start, err := n.Int("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := n.Int("end", math.MaxInt64)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		r := int64(len(s))
		b, e := start, end
		if b < 0 {
			b += r
		}
		if e < 0 {
			e += r
		}
		b, e = clamp(b, 0, r), clamp(e, 0, r)
		out := []int64{}
		for i := b; i < e; i++ {
			out = append(out, int64(s[i]))
		}
		return tensor.New([]int{len(out)}, out)
	}), nil
}

func buildExpand(n *Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		spec, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		for _, d := range spec {
			if d < 0 || d > math.MaxInt32 {
				return nil, shapeErr("bad shape %v", spec)
			}
		}
		os, err := broadcastShape(in[0].Shape(), intsToShape(spec))
		if err != nil {
			return nil, err
		}
		return expand(ctx, in[0], os)
	}), nil
}

// expand broadcasts x to shape os (which x must broadcast to).
func expand(ctx context.Context, x tensor.Any, os []int) (tensor.Any, error) {
	if err := checkOut(ctx, x.DType(), os); err != nil {
		return nil, err
	}
	switch v := x.(type) {
	case *tensor.Tensor[float32]:
		return expandT(v, os)
	case *tensor.Tensor[float64]:
		return expandT(v, os)
	case *tensor.Tensor[numeric.Float16]:
		return expandT(v, os)
	case *tensor.Tensor[numeric.BFloat16]:
		return expandT(v, os)
	case *tensor.Tensor[int8]:
		return expandT(v, os)
	case *tensor.Tensor[uint8]:
		return expandT(v, os)
	case *tensor.Tensor[int16]:
		return expandT(v, os)
	case *tensor.Tensor[int32]:
		return expandT(v, os)
	case *tensor.Tensor[int64]:
		return expandT(v, os)
	case *tensor.Tensor[uint16]:
		return expandT(v, os)
	case *tensor.Tensor[uint32]:
		return expandT(v, os)
	case *tensor.Tensor[uint64]:
		return expandT(v, os)
	}
	return nil, typeErr("element type %s is not supported", x.DType())
}

func expandT[T tensor.Numeric](x *tensor.Tensor[T], os []int) (tensor.Any, error) {
	n, err := tensor.SizeOf(os)
	if err != nil {
		return nil, err
	}
	out, d := make([]T, n), x.Data()
	if len(d) == 1 { // ConstantOfShape: one value everywhere
		for i := range out {
			out[i] = d[0]
		}
		return tensor.New(os, out)
	}
	bcastRuns(os, [][]int{x.Shape()}, func(o int, offs, st []int, k int) {
		dst := out[o : o+k]
		if st[0] == 1 {
			copy(dst, d[offs[0]:offs[0]+k])
			return
		}
		v := d[offs[0]]
		for j := range dst {
			dst[j] = v
		}
	})
	return tensor.New(os, out)
}

func buildRange(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		for i := 0; i < 3; i++ {
			if in[i].Size() != 1 {
				return nil, shapeErr("Range input %d has shape %v, want a scalar", i, in[i].Shape())
			}
		}
		dt := in[0].DType()
		if isFloat(dt) {
			v := make([]float32, 3)
			for i := range v {
				f, err := floats(in[i])
				if err != nil {
					return nil, err
				}
				v[i] = f[0]
			}
			if v[2] == 0 {
				return nil, shapeErr("Range with delta 0")
			}
			cnt := int(max(0, math.Ceil(float64((v[1]-v[0])/v[2]))))
			if cnt > 1<<28 {
				return nil, shapeErr("Range of %d elements", cnt)
			}
			if err := checkWork(ctx, 4+dt.Size(), dt, []int{cnt}); err != nil {
				return nil, err
			}
			out := make([]float32, cnt)
			for i := range out {
				out[i] = v[0] + float32(i)*v[2]
			}
			return fromFloats(dt, []int{cnt}, out)
		}
		v := make([]int64, 3)
		for i := range v {
			f, err := ints(in[i])
			if err != nil {
				return nil, err
			}
			v[i] = f[0]
		}
		if v[2] == 0 {
			return nil, shapeErr("Range with delta 0")
		}
		cnt := int64(math.Max(0, math.Ceil(float64(v[1]-v[0])/float64(v[2]))))
		if cnt > 1<<28 {
			return nil, shapeErr("Range of %d elements", cnt)
		}
		if err := checkWork(ctx, 8+dt.Size(), dt, []int{int(cnt)}); err != nil {
			return nil, err
		}
		out := make([]int64, cnt)
		for i := range out {
			out[i] = v[0] + int64(i)*v[2]
		}
		return intsAs(dt, []int{int(cnt)}, out)
	}), nil
}

func buildTrilu(n *Node) (Kernel, error) {
	upper, err := n.Int("upper", 1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		k := int64(0)
		if v := opt(in, 1); v != nil {
			kk, err := ints(v)
			if err != nil {
				return nil, err
			}
			if len(kk) != 1 {
				return nil, shapeErr("Trilu k has shape %v, want a scalar", v.Shape())
			}
			k = kk[0]
		}
		x := in[0]
		s := x.Shape()
		if len(s) < 2 {
			return nil, shapeErr("Trilu of rank %d, want ≥ 2", len(s))
		}
		zero, err := newTensor(ctx, x.DType(), []int{1})
		if err != nil {
			return nil, err
		}
		rows, cols := s[len(s)-2], s[len(s)-1]
		return move(ctx, []tensor.Any{x, zero}, s, func(emit func(int, int, int)) {
			for m := 0; m < prod(s[:len(s)-2]); m++ {
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						keep := int64(j-i) >= k
						if upper == 0 {
							keep = int64(j-i) <= k
						}
						if keep {
							emit(0, (m*rows+i)*cols+j, 1)
						} else {
							emit(1, 0, 1)
						}
					}
				}
			}
		})
	}), nil
}

func buildConstantOfShape(n *Node) (Kernel, error) {
	var val tensor.Any = tensor.Must(tensor.New([]int{1}, []float32{0}))
	if a := onnx.FindAttr(n.Proto, "value"); a != nil {
		v, err := decodeTensor(n.Model, a.GetT(), n.cfg.budget)
		if err != nil {
			return nil, attrWrap(err, "value")
		}
		if v.Size() != 1 {
			return nil, attrErr("value has %d elements, want 1", v.Size())
		}
		if val, err = reshape(v, []int{1}); err != nil {
			return nil, err
		}
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		spec, err := ints(in[0])
		if err != nil {
			return nil, err
		}
		shape := intsToShape(spec)
		for _, d := range spec {
			if d < 0 || d > math.MaxInt32 {
				return nil, shapeErr("bad shape %v", spec)
			}
		}
		if _, err := tensor.SizeOf(shape); err != nil {
			return nil, err
		}
		return expand(ctx, val, shape)
	}), nil
}

func buildConstant(n *Node) (Kernel, error) {
	var v tensor.Any
	var err error
	for _, a := range n.Proto.GetAttribute() {
		switch a.GetName() {
		case "value":
			v, err = decodeTensor(n.Model, a.GetT(), n.cfg.budget)
		case "value_float":
			v = tensor.Scalar(a.GetF())
		case "value_floats":
			v, err = tensor.New([]int{len(a.GetFloats())}, append([]float32(nil), a.GetFloats()...))
		case "value_int":
			v = tensor.Scalar(a.GetI())
		case "value_ints":
			v, err = tensor.New([]int{len(a.GetInts())}, append([]int64(nil), a.GetInts()...))
		default:
			return nil, attrErr("attribute %q is not supported", a.GetName())
		}
		if err != nil {
			return nil, attrWrap(err, "%s", a.GetName())
		}
	}
	if v == nil {
		return nil, attrErr("no value attribute")
	}
	return func(context.Context, []tensor.Any) ([]tensor.Any, error) { return []tensor.Any{v}, nil }, nil
}
