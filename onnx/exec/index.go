package exec

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// Indexing ops: gathers and scatters by index tensors, Compress, NonZero,
// OneHot, Tile, ReverseSequence and EyeLike. Indices may be negative
// (counted from the end) where the spec allows; an index out of range is an
// error naming it, never a panic.

func init() {
	Register("", "GatherElements", 11, 0, buildGatherElements)
	Register("", "GatherND", 11, 0, buildGatherND)
	Register("", "Scatter", 9, 10, buildScatterElements)
	Register("", "ScatterElements", 11, 0, buildScatterElements)
	Register("", "ScatterND", 11, 0, buildScatterND)
	Register("", "Compress", 9, 0, buildCompress)
	Register("", "NonZero", 9, 0, buildNonZero)
	Register("", "OneHot", 9, 0, buildOneHot)
	Register("", "Tile", 6, 0, buildTile)
	Register("", "ReverseSequence", 10, 0, buildReverseSequence)
	Register("", "EyeLike", 9, 0, buildEyeLike)
}

// normIndex maps index i of a dim of size n, negative counting from the
// end, into [0, n).
func normIndex(what string, i int64, n int) (int, error) {
	j := i
	if j < 0 {
		j += int64(n)
	}
	if j < 0 || j >= int64(n) {
		return 0, &Error{Msg: fmt.Sprintf("%sindex %d out of range for a dim of %d", what, i, n), Err: tensor.ErrIndex}
	}
	return int(j), nil
}

// elemTargets returns, for each element of indices (a tensor of shape is)
// read along axis of a tensor of shape ds (GatherElements,
// ScatterElements), the flat offset it addresses.
func elemTargets(indices tensor.Any, is, ds []int, axis int) ([]int, error) {
	idx, err := ints(indices)
	if err != nil {
		return nil, err
	}
	if len(is) != len(ds) {
		return nil, shapeErr("indices of rank %d for data of rank %d", len(is), len(ds))
	}
	for d := range is {
		if d != axis && is[d] > ds[d] {
			return nil, shapeErr("indices shape %v exceeds data shape %v on axis %d", is, ds, d)
		}
	}
	st := tensor.Strides(ds)
	out := make([]int, len(idx))
	pos := make([]int, len(is))
	for i, v := range idx {
		j, err := normIndex("", v, ds[axis])
		if err != nil {
			return nil, err
		}
		off := 0
		for d, p := range pos {
			if d == axis {
				off += j * st[d]
			} else {
				off += p * st[d]
			}
		}
		out[i] = off
		for d := len(pos) - 1; d >= 0; d-- {
			if pos[d]++; pos[d] < is[d] {
				break
			}
			pos[d] = 0
		}
	}
	return out, nil
}

// gatherAt makes a tensor of the given shape whose element i is src's
// element at flat offset at[i].
func gatherAt(ctx context.Context, src tensor.Any, shape []int, at []int) (tensor.Any, error) {
	return move(ctx, []tensor.Any{src}, shape, func(emit func(int, int, int)) {
		for _, o := range at {
			emit(0, o, 1)
		}
	})
}

func axisAttr(n *Node, def int64) (int64, error) { return n.Int("axis", def) }

func buildGatherElements(n *Node) (Kernel, error) {
	axis, err := axisAttr(n, 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		a, err := normAxis(axis, max(len(ds), 1))
		if err != nil {
			return nil, err
		}
		if len(ds) == 0 {
			return nil, shapeErr("GatherElements of a scalar")
		}
		if err := checkWork(ctx, 16+in[0].DType().Size(), in[0].DType(), is); err != nil {
			return nil, err
		}
		at, err := elemTargets(in[1], is, ds, a)
		if err != nil {
			return nil, err
		}
		return gatherAt(ctx, in[0], is, at)
	}), nil
}

func buildScatterElements(n *Node) (Kernel, error) {
	axis, err := axisAttr(n, 0)
	if err != nil {
		return nil, err
	}
	red, err := reductionAttr(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		if len(ds) == 0 {
			return nil, shapeErr("ScatterElements into a scalar")
		}
		a, err := normAxis(axis, len(ds))
		if err != nil {
			return nil, err
		}
		if !equalShape(is, in[2].Shape()) {
			return nil, shapeErr("updates shape %v differs from indices shape %v", in[2].Shape(), is)
		}
		if err := checkWork(ctx, 2*in[0].DType().Size()+4, in[0].DType(), ds); err != nil {
			return nil, err
		}
		at, err := elemTargets(in[1], is, ds, a)
		if err != nil {
			return nil, err
		}
		return scatterInto(in[0], at, in[2], red)
	}), nil
}

func reductionAttr(n *Node) (string, error) {
	red, err := n.String("reduction", "none")
	if err != nil {
		return "", err
	}
	switch red {
	case "none", "add", "mul", "max", "min":
		return red, nil
	}
	return "", attrErr("reduction %q, want none, add, mul, max or min", red)
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scatterInto returns a copy of data with updates' element j combined into
// flat offset at[j] by reduction (none: replaced), in order.
func scatterInto(data tensor.Any, at []int, upd tensor.Any, reduction string) (tensor.Any, error) {
	k, w, dt, err := typedArgs("Scatter", data, upd)
	if err != nil {
		return nil, err
	}
	v, err := k.scatterK(w[0], at, w[1], reduction)
	return narrow(dt, v, err)
}

func (typed[T]) scatterK(x tensor.Any, at []int, upd tensor.Any, reduction string) (tensor.Any, error) {
	out := append([]T(nil), elemsOf[T](x)...)
	u := elemsOf[T](upd)
	for j, o := range at {
		switch reduction {
		case "add":
			out[o] += u[j]
		case "mul":
			out[o] *= u[j]
		case "max":
			out[o] = max(out[o], u[j])
		case "min":
			out[o] = min(out[o], u[j])
		default:
			out[o] = u[j]
		}
	}
	return tensor.New(x.Shape(), out)
}

// ndTargets reads indices of shape is (tuples of m = is[-1] indices into
// the dims b..b+m-1 of data of shape ds, b leading batch dims shared) and
// returns each tuple's flat offset into data and the size of the slice it
// addresses.
func ndTargets(idx []int64, is, ds []int, b int) ([]int, int, error) {
	if len(is) < 1 || b < 0 || b >= len(is) || b > len(ds) {
		return nil, 0, shapeErr("indices shape %v, batch_dims %d for data shape %v", is, b, ds)
	}
	m := is[len(is)-1]
	if b+m > len(ds) {
		return nil, 0, shapeErr("index tuples of %d for data shape %v after %d batch dims", m, ds, b)
	}
	for d := 0; d < b; d++ {
		if is[d] != ds[d] {
			return nil, 0, shapeErr("batch dims of indices %v and data %v differ", is, ds)
		}
	}
	st := tensor.Strides(ds)
	slice := prod(ds[b+m:])
	batchSize := prod(ds[b:])
	perBatch := prod(is[b : len(is)-1])
	tuples := prod(is[:len(is)-1])
	out := make([]int, tuples)
	for t := range tuples {
		off := 0
		if perBatch > 0 {
			off = t / perBatch * batchSize
		}
		for k := range m {
			j, err := normIndex("", idx[t*m+k], ds[b+k])
			if err != nil {
				return nil, 0, err
			}
			off += j * st[b+k]
		}
		out[t] = off
	}
	return out, slice, nil
}

func buildGatherND(n *Node) (Kernel, error) {
	bd, err := n.Int("batch_dims", 0)
	if err != nil {
		return nil, err
	}
	if bd < 0 {
		return nil, attrErr("batch_dims = %d", bd)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		if len(is) == 0 || int(bd) >= len(is) || int(bd)+is[len(is)-1] > len(ds) {
			return nil, shapeErr("indices shape %v, batch_dims %d for data shape %v", is, bd, ds)
		}
		os := append(append([]int(nil), is[:len(is)-1]...), ds[int(bd)+is[len(is)-1]:]...)
		if err := checkOut(ctx, in[0].DType(), os); err != nil {
			return nil, err
		}
		idx, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		at, slice, err := ndTargets(idx, is, ds, int(bd))
		if err != nil {
			return nil, err
		}
		return move(ctx, in[:1], os, func(emit func(int, int, int)) {
			for _, o := range at {
				emit(0, o, slice)
			}
		})
	}), nil
}

func buildScatterND(n *Node) (Kernel, error) {
	red, err := reductionAttr(n)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		ds, is, us := in[0].Shape(), in[1].Shape(), in[2].Shape()
		if len(is) == 0 || is[len(is)-1] > len(ds) {
			return nil, shapeErr("indices shape %v for data shape %v", is, ds)
		}
		want := append(append([]int(nil), is[:len(is)-1]...), ds[is[len(is)-1]:]...)
		if !equalShape(us, want) {
			return nil, shapeErr("updates shape %v, want %v", us, want)
		}
		if err := checkWork(ctx, 2*in[0].DType().Size()+8, in[0].DType(), ds); err != nil {
			return nil, err
		}
		idx, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		base, slice, err := ndTargets(idx, is, ds, 0)
		if err != nil {
			return nil, err
		}
		at := make([]int, 0, len(base)*slice)
		for _, o := range base {
			for k := range slice {
				at = append(at, o+k)
			}
		}
		return scatterInto(in[0], at, in[2], red)
	}), nil
}

func buildCompress(n *Node) (Kernel, error) {
	hasAxis := n.Has("axis")
	axis, err := axisAttr(n, 0)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		cond, ok := in[1].(*tensor.Tensor[uint8])
		if !ok || cond.Dims() != 1 {
			return nil, typeErr("condition of %s%v, want a 1-D bool tensor", in[1].DType(), in[1].Shape())
		}
		s, a, err := axisOrFlat(x, hasAxis, axis, "Compress")
		if err != nil {
			return nil, err
		}
		var keep []int
		for i, c := range cond.Data() {
			if c == 0 {
				continue
			}
			if i >= s[a] {
				return nil, shapeErr("condition selects index %d of a dim of %d", i, s[a])
			}
			keep = append(keep, i)
		}
		os := append([]int(nil), s...)
		os[a] = len(keep)
		outer, inner := prod(s[:a]), prod(s[a+1:])
		return move(ctx, []tensor.Any{x}, os, func(emit func(int, int, int)) {
			for o := range outer {
				for _, i := range keep {
					emit(0, (o*s[a]+i)*inner, inner)
				}
			}
		})
	}), nil
}

// nonZeroMask returns whether each element of x is not zero.
func nonZeroMask(ctx context.Context, x tensor.Any) ([]bool, error) {
	if err := checkLike(ctx, 9, x); err != nil {
		return nil, err
	}
	f, err := cast(x, numeric.Float64, false)
	if err != nil {
		return nil, err
	}
	m := make([]bool, x.Size())
	for i, v := range f.(*tensor.Tensor[float64]).Data() {
		m[i] = v != 0
	}
	return m, nil
}

func buildNonZero(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		m, err := nonZeroMask(ctx, x)
		if err != nil {
			return nil, err
		}
		nz := 0
		for _, b := range m {
			if b {
				nz++
			}
		}
		os := []int{len(s), nz}
		if err := checkOut(ctx, numeric.Int64, os); err != nil {
			return nil, err
		}
		out := make([]int64, len(s)*nz)
		st := tensor.Strides(s)
		k := 0
		for i, b := range m {
			if !b {
				continue
			}
			r := i
			for d := range s {
				out[d*nz+k] = int64(r / st[d])
				r %= st[d]
			}
			k++
		}
		return tensor.New(os, out)
	}), nil
}

func buildOneHot(n *Node) (Kernel, error) {
	axis, err := axisAttr(n, -1)
	if err != nil {
		return nil, err
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 3); err != nil {
			return nil, err
		}
		is := in[0].Shape()
		if in[1].Size() != 1 || in[2].Size() != 2 {
			return nil, shapeErr("depth of shape %v and values of shape %v, want a scalar and 2 values", in[1].Shape(), in[2].Shape())
		}
		dv, err := cast(in[1], numeric.Float64, false)
		if err != nil {
			return nil, err
		}
		df := dv.(*tensor.Tensor[float64]).Data()[0]
		if !(df >= 1 && df <= math.MaxInt32) {
			return nil, shapeErr("depth %v, want at least 1", df)
		}
		depth := int(df)
		a := axis
		if a < 0 {
			a += int64(len(is)) + 1
		}
		if a < 0 || a > int64(len(is)) {
			return nil, shapeErr("axis %d out of range for rank %d", axis, len(is)+1)
		}
		os := append(append(append([]int(nil), is[:a]...), depth), is[a:]...)
		if err := checkWork(ctx, in[2].DType().Size()+1, in[2].DType(), os); err != nil {
			return nil, err
		}
		iv, err := cast(in[0], numeric.Float64, false)
		if err != nil {
			return nil, err
		}
		idx := iv.(*tensor.Tensor[float64]).Data()
		outer, inner := prod(is[:a]), prod(is[a:])
		return move(ctx, in[2:3], os, func(emit func(int, int, int)) {
			for o := range outer {
				for d := range depth {
					for j := range inner {
						v := math.Trunc(idx[o*inner+j])
						if v < 0 {
							v += float64(depth)
						}
						emit(0, int(b2u(v == float64(d))), 1)
					}
				}
			}
		})
	}), nil
}

func buildTile(*Node) (Kernel, error) {
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		reps, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		if len(reps) != len(s) {
			return nil, shapeErr("%d repeats for rank %d", len(reps), len(s))
		}
		os := make([]int, len(s))
		for i, r := range reps {
			if r < 0 || (s[i] > 0 && r > math.MaxInt32) {
				return nil, shapeErr("repeats %v for shape %v", reps, s)
			}
			os[i] = s[i] * int(r)
		}
		if err := checkOut(ctx, x.DType(), os); err != nil {
			return nil, err
		}
		return move(ctx, []tensor.Any{x}, os, func(emit func(int, int, int)) {
			r := len(s)
			if r == 0 {
				emit(0, 0, 1)
				return
			}
			st := tensor.Strides(s)
			pos := make([]int, r-1)
			rows := prod(os[:r-1])
			for range rows {
				off := 0
				for d, p := range pos {
					off += p % s[d] * st[d]
				}
				for range reps[r-1] {
					emit(0, off, s[r-1])
				}
				for d := r - 2; d >= 0; d-- {
					if pos[d]++; pos[d] < os[d] {
						break
					}
					pos[d] = 0
				}
			}
		})
	}), nil
}

func buildReverseSequence(n *Node) (Kernel, error) {
	ba, err := n.Int("batch_axis", 1)
	if err != nil {
		return nil, err
	}
	ta, err := n.Int("time_axis", 0)
	if err != nil {
		return nil, err
	}
	if !(ba == 0 && ta == 1 || ba == 1 && ta == 0) {
		return nil, attrErr("batch_axis %d and time_axis %d, want 0 and 1 in some order", ba, ta)
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		if len(s) < 2 {
			return nil, shapeErr("input of rank %d, want at least 2", len(s))
		}
		lens, err := ints(in[1])
		if err != nil {
			return nil, err
		}
		batch, time := s[ba], s[ta]
		if len(lens) != batch || in[1].Dims() != 1 {
			return nil, shapeErr("sequence_lens of shape %v for batch %d", in[1].Shape(), batch)
		}
		for _, l := range lens {
			if l < 0 || l > int64(time) {
				return nil, shapeErr("sequence length %d out of range [0, %d]", l, time)
			}
		}
		inner := prod(s[2:])
		return move(ctx, []tensor.Any{x}, s, func(emit func(int, int, int)) {
			for i := range s[0] {
				for j := range s[1] {
					b, t := i, j
					if ba == 1 {
						b, t = j, i
					}
					if int64(t) < lens[b] {
						t = int(lens[b]) - 1 - t
					}
					si, sj := b, t
					if ba == 1 {
						si, sj = t, b
					}
					emit(0, (si*s[1]+sj)*inner, inner)
				}
			}
		})
	}), nil
}

func buildEyeLike(n *Node) (Kernel, error) {
	k, err := n.Int("k", 0)
	if err != nil {
		return nil, err
	}
	var dt numeric.DType
	toBool := false
	if n.Has("dtype") {
		d, err := n.Int("dtype", 0)
		if err != nil {
			return nil, err
		}
		if dt, err = dtypeOf(onnx.DataType(d)); err != nil {
			return nil, attrErr("dtype = %d: %v", d, err)
		}
		toBool = onnx.DataType(d) == onnx.Bool
	}
	return one(func(ctx context.Context, in []tensor.Any) (tensor.Any, error) {
		if err := need(in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(s) != 2 {
			return nil, shapeErr("input of shape %v, want 2-D", s)
		}
		odt := dt
		if odt == numeric.Invalid {
			odt = in[0].DType()
		}
		if err := checkWork(ctx, 8+odt.Size(), odt, s); err != nil {
			return nil, err
		}
		f := make([]float64, prod(s))
		for i := range s[0] {
			if j := int64(i) + k; j >= 0 && j < int64(s[1]) {
				f[i*s[1]+int(j)] = 1
			}
		}
		return cast(tensor.Must(tensor.New(s, f)), odt, toBool)
	}), nil
}
