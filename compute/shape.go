package compute

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/tensor"
)

// normIndices checks every index against an axis of length dim (negative
// indices count from the end) and returns them as non-negative ints.
func normIndices(op string, indices *tensor.Tensor[int64], dim int, shapes ...[]int) ([]int, error) {
	idx := make([]int, indices.Size())
	for i, v := range indices.Data() {
		x := v
		if x < 0 {
			x += int64(dim)
		}
		if x < 0 || x >= int64(dim) {
			return nil, indexErr(op, fmt.Sprintf("index %d at position %d out of range for axis length %d", v, i, dim), shapes...)
		}
		idx[i] = int(x)
	}
	return idx, nil
}

// Gather takes slices of params along axis at the given indices (ONNX
// Gather). The result shape is params.shape[:axis] + indices.shape +
// params.shape[axis+1:]. Negative indices count from the end; any index
// outside [-dim, dim) is an error wrapping tensor.ErrIndex.
func (e *CPUEngine[T]) Gather(ctx context.Context, params *tensor.Tensor[T], indices *tensor.Tensor[int64], axis int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	const op = "Gather"
	if err := notNil(op, params); err != nil {
		return nil, err
	}
	if indices == nil {
		return nil, shapeErr(op, "indices is a nil tensor")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ps := params.Shape()
	ax, err := normAxis(op, axis, len(ps), ps)
	if err != nil {
		return nil, err
	}
	idx, err := normIndices(op, indices, ps[ax], ps, indices.Shape())
	if err != nil {
		return nil, err
	}
	outShape := append(append(append([]int(nil), ps[:ax]...), indices.Shape()...), ps[ax+1:]...)
	out, err := output(op, outShape, dst)
	if err != nil {
		return nil, err
	}
	outer, dim, inner := product(ps[:ax]), ps[ax], product(ps[ax+1:])
	ni := len(idx)
	src, d := params.Data(), out.Data()
	if err := parallel(ctx, outer*ni, rowGrain(inner, grainMem), inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o, i := r/ni, r%ni
			copy(d[r*inner:(r+1)*inner], src[(o*dim+idx[i])*inner:][:inner])
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// ScatterAdd adds the rows of updates into dst along axis 0 at indices:
// dst[indices[i], ...] += updates[i, ...], the adjoint of Gather on axis 0.
// updates must have shape indices.shape + dst.shape[1:]. Repeated indices
// accumulate, in index order.
func (e *CPUEngine[T]) ScatterAdd(ctx context.Context, dst *tensor.Tensor[T], indices *tensor.Tensor[int64], updates *tensor.Tensor[T]) error {
	const op = "ScatterAdd"
	if err := notNil(op, dst, updates); err != nil {
		return err
	}
	if indices == nil {
		return shapeErr(op, "indices is a nil tensor")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ds, us := dst.Shape(), updates.Shape()
	if len(ds) == 0 {
		return shapeErr(op, "destination must have rank ≥ 1", ds)
	}
	want := append(indices.Shape(), ds[1:]...)
	if !tensor.SameShape(us, want) {
		return shapeErr(op, fmt.Sprintf("updates shape %v, want indices shape + destination row shape %v", us, want), ds, indices.Shape(), us)
	}
	idx, err := normIndices(op, indices, ds[0], ds, indices.Shape())
	if err != nil {
		return err
	}
	inner := product(ds[1:])
	d, u := dst.Data(), updates.Data()
	add := e.addInto()
	// Split the columns between workers so repeated indices never race.
	return parallel(ctx, inner, rowGrain(len(idx), grainMem), len(idx), func(lo, hi int) {
		for i, row := range idx {
			add(d[row*inner+lo:row*inner+hi], u[i*inner+lo:i*inner+hi])
		}
	})
}

// addInto returns a function that adds src into dst elementwise.
func (e *CPUEngine[T]) addInto() func(dst, src []T) {
	switch e.kind {
	case kindFloat32:
		return any(addIntoNative[float32]).(func(dst, src []T))
	case kindFloat64:
		return any(addIntoNative[float64]).(func(dst, src []T))
	}
	ops := e.ops
	return func(dst, src []T) {
		for j, v := range src {
			dst[j] = ops.Add(dst[j], v)
		}
	}
}

func addIntoNative[F float](dst, src []F) {
	src = src[:len(dst)]
	for j := range dst {
		dst[j] += src[j]
	}
}

// Concat joins ts along axis; every other axis must match.
func (e *CPUEngine[T]) Concat(ctx context.Context, ts []*tensor.Tensor[T], axis int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	const op = "Concat"
	if len(ts) == 0 {
		return nil, shapeErr(op, "no tensors to join")
	}
	if err := notNil(op, ts...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	first := ts[0].Shape()
	ax, err := normAxis(op, axis, len(first), first)
	if err != nil {
		return nil, err
	}
	outShape := append([]int(nil), first...)
	outShape[ax] = 0
	shapes := make([][]int, len(ts))
	for i, t := range ts {
		shapes[i] = t.Shape()
	}
	for i, s := range shapes {
		if len(s) != len(first) {
			return nil, shapeErr(op, fmt.Sprintf("tensor %d has rank %d, want %d", i, len(s), len(first)), shapes...)
		}
		for d := range s {
			if d != ax && s[d] != first[d] {
				return nil, shapeErr(op, fmt.Sprintf("tensor %d differs on axis %d", i, d), shapes...)
			}
		}
		outShape[ax] += s[ax]
	}
	out, err := output(op, outShape, dst)
	if err != nil {
		return nil, err
	}
	outer, inner := product(first[:ax]), product(first[ax+1:])
	rowOut := outShape[ax] * inner
	d := out.Data()
	if err := parallel(ctx, outer, rowGrain(rowOut, grainMem), rowOut, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			off := o * rowOut
			for i, t := range ts {
				blk := shapes[i][ax] * inner
				copy(d[off:off+blk], t.Data()[o*blk:(o+1)*blk])
				off += blk
			}
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// Split cuts a along axis into new tensors of the given sizes, which must
// be non-negative and sum to the length of the axis.
func (e *CPUEngine[T]) Split(ctx context.Context, a *tensor.Tensor[T], axis int, sizes []int) ([]*tensor.Tensor[T], error) {
	const op = "Split"
	if err := notNil(op, a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	shape := a.Shape()
	ax, err := normAxis(op, axis, len(shape), shape)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, s := range sizes {
		if s < 0 {
			return nil, shapeErr(op, fmt.Sprintf("negative size in %v", sizes), shape)
		}
		total += s
	}
	if total != shape[ax] {
		return nil, shapeErr(op, fmt.Sprintf("sizes %v sum to %d, axis %d has length %d", sizes, total, ax, shape[ax]), shape)
	}
	outer, inner := product(shape[:ax]), product(shape[ax+1:])
	rowIn := shape[ax] * inner
	src := a.Data()
	outs := make([]*tensor.Tensor[T], len(sizes))
	start := 0
	for i, s := range sizes {
		os := append([]int(nil), shape...)
		os[ax] = s
		t, err := tensor.New[T](os, nil)
		if err != nil {
			return nil, err
		}
		blk, st := s*inner, start*inner
		d := t.Data()
		if err := parallel(ctx, outer, rowGrain(blk, grainMem), blk, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				copy(d[o*blk:(o+1)*blk], src[o*rowIn+st:][:blk])
			}
		}); err != nil {
			return nil, err
		}
		outs[i] = t
		start += s
	}
	return outs, nil
}

// Slice copies a[starts[i]:ends[i]] on every axis (steps of 1). starts and
// ends need one entry per axis with 0 ≤ start ≤ end ≤ length; anything else
// is an error wrapping tensor.ErrIndex.
func (e *CPUEngine[T]) Slice(ctx context.Context, a *tensor.Tensor[T], starts, ends []int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	const op = "Slice"
	if err := notNil(op, a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	shape := a.Shape()
	if len(starts) != len(shape) || len(ends) != len(shape) {
		return nil, shapeErr(op, fmt.Sprintf("%d starts and %d ends for rank %d", len(starts), len(ends), len(shape)), shape)
	}
	outShape := make([]int, len(shape))
	st := tensor.Strides(shape)
	off := 0
	for i, d := range shape {
		if starts[i] < 0 || starts[i] > ends[i] || ends[i] > d {
			return nil, indexErr(op, fmt.Sprintf("range [%d, %d) out of bounds on axis %d of length %d", starts[i], ends[i], i, d), shape)
		}
		outShape[i] = ends[i] - starts[i]
		off += starts[i] * st[i]
	}
	out, err := output(op, outShape, dst)
	if err != nil {
		return nil, err
	}
	if out.Size() == 0 {
		return out, nil
	}
	if err := copyStrided(ctx, out.Data(), a.Data()[off:], outShape, st); err != nil {
		return nil, err
	}
	return out, nil
}

// Fill sets every element of t to v.
func (e *CPUEngine[T]) Fill(ctx context.Context, t *tensor.Tensor[T], v T) error {
	if err := notNil("Fill", t); err != nil {
		return err
	}
	d := t.Data()
	return parallel(ctx, len(d), grainMem*4, 1, func(lo, hi int) {
		s := d[lo:hi]
		for i := range s {
			s[i] = v
		}
	})
}

// Copy copies src into dst element by element in row-major order; their
// sizes must match (their shapes may differ). src and dst may be the same
// tensor.
func (e *CPUEngine[T]) Copy(ctx context.Context, dst, src *tensor.Tensor[T]) error {
	const op = "Copy"
	if err := notNil(op, dst, src); err != nil {
		return err
	}
	if dst.Size() != src.Size() {
		return shapeErr(op, fmt.Sprintf("sizes differ: %d and %d", dst.Size(), src.Size()), dst.Shape(), src.Shape())
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	copy(dst.Data(), src.Data())
	return nil
}

// Zero sets every element of t to zero.
func (e *CPUEngine[T]) Zero(ctx context.Context, t *tensor.Tensor[T]) error {
	if err := notNil("Zero", t); err != nil {
		return err
	}
	d := t.Data()
	return parallel(ctx, len(d), grainMem*4, 1, func(lo, hi int) { clear(d[lo:hi]) })
}
