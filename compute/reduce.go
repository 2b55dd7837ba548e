package compute

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/tensor"
)

// A reduction over axis views a as [outer, n, inner]: n is the length of the
// reduced axis, outer the product of the axes before it and inner of those
// after. Output position (o, j) reduces a[o, 0..n-1, j].
type reduction struct {
	outer, n, inner int
}

// reduceShape validates axis and returns the layout and the output shape.
func reduceShape(op string, a []int, axis int, keepDims bool) (reduction, []int, error) {
	ax, err := normAxis(op, axis, len(a), a)
	if err != nil {
		return reduction{}, nil, err
	}
	r := reduction{outer: product(a[:ax]), n: a[ax], inner: product(a[ax+1:])}
	var out []int
	if keepDims {
		out = append([]int(nil), a...)
		out[ax] = 1
	} else {
		out = append(append([]int(nil), a[:ax]...), a[ax+1:]...)
	}
	return r, out, nil
}

// forLanes runs fn in parallel over the outer×inner output positions of r.
// Each call handles positions (o, j0..j1-1) with scratch from newScratch,
// which is called once per block of work with the largest j1-j0 it will see.
func forLanes[S any](ctx context.Context, r reduction, cost int, newScratch func(size int) S, fn func(s S, o, j0, j1 int)) error {
	total := r.outer * r.inner
	work := max(1, r.n*cost)
	return parallel(ctx, total, rowGrain(work, grainMem), work, func(lo, hi int) {
		s := newScratch(min(r.inner, hi-lo))
		for q := lo; q < hi; {
			o, j := q/r.inner, q%r.inner
			j1 := min(r.inner, j+hi-q)
			fn(s, o, j, j1)
			q += j1 - j
		}
	})
}

func noScratch(int) struct{} { return struct{}{} }

func f64Scratch(n int) []float64 { return make([]float64, n) }

// reduceSetup checks the operands of a reduction and prepares its output.
func reduceSetup[T tensor.Numeric](ctx context.Context, op string, a *tensor.Tensor[T], axis int, keepDims bool, dst []*tensor.Tensor[T]) (reduction, *tensor.Tensor[T], error) {
	if err := notNil(op, a); err != nil {
		return reduction{}, nil, err
	}
	if err := ctx.Err(); err != nil {
		return reduction{}, nil, err
	}
	r, shape, err := reduceShape(op, a.Shape(), axis, keepDims)
	if err != nil {
		return reduction{}, nil, err
	}
	out, err := output(op, shape, dst)
	return r, out, err
}

// Sum adds a along axis. float32 and float64 accumulate in float64, as do
// the half-precision and 8-bit floats (rounded once at the end); integers
// accumulate with ops.Add.
func (e *CPUEngine[T]) Sum(ctx context.Context, a *tensor.Tensor[T], axis int, keepDims bool, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	r, out, err := reduceSetup(ctx, "Sum", a, axis, keepDims, dst)
	if err != nil {
		return nil, err
	}
	if err := e.sum(ctx, r, a.Data(), out.Data(), false); err != nil {
		return nil, err
	}
	return out, nil
}

// Mean averages a along axis, accumulating in float64 for every type and
// rounding once to T. An empty axis is an error.
func (e *CPUEngine[T]) Mean(ctx context.Context, a *tensor.Tensor[T], axis int, keepDims bool, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	r, out, err := reduceSetup(ctx, "Mean", a, axis, keepDims, dst)
	if err != nil {
		return nil, err
	}
	if r.n == 0 {
		return nil, shapeErr("Mean", fmt.Sprintf("axis %d has length 0", axis), a.Shape())
	}
	if err := e.sum(ctx, r, a.Data(), out.Data(), true); err != nil {
		return nil, err
	}
	return out, nil
}

// sum writes the sums (or means) of a's lanes to d.
func (e *CPUEngine[T]) sum(ctx context.Context, r reduction, a, d []T, mean bool) error {
	switch e.kind {
	case kindFloat32:
		return sumNative(ctx, r, any(a).([]float32), any(d).([]float32), mean)
	case kindFloat64:
		return sumNative(ctx, r, any(a).([]float64), any(d).([]float64), mean)
	}
	ops := e.ops
	if e.kind == kindInt && !mean {
		return forLanes(ctx, r, 2, func(n int) []T { return make([]T, n) }, func(acc []T, o, j0, j1 int) {
			acc = acc[:j1-j0]
			for j := range acc {
				acc[j] = ops.Zero()
			}
			for k := 0; k < r.n; k++ {
				row := a[(o*r.n+k)*r.inner+j0:][:len(acc)]
				for j, v := range row {
					acc[j] = ops.Add(acc[j], v)
				}
			}
			copy(d[o*r.inner+j0:], acc)
		})
	}
	scale := 1.0
	if mean {
		scale = 1 / float64(r.n)
	}
	return forLanes(ctx, r, 2, f64Scratch, func(acc []float64, o, j0, j1 int) {
		acc = acc[:j1-j0]
		clear(acc)
		for k := 0; k < r.n; k++ {
			row := a[(o*r.n+k)*r.inner+j0:][:len(acc)]
			for j, v := range row {
				acc[j] += ops.ToFloat64(v)
			}
		}
		out := d[o*r.inner+j0:][:len(acc)]
		for j, s := range acc {
			out[j] = ops.FromFloat64(s * scale)
		}
	})
}

// sumNative is sum for float32 and float64, accumulating in float64.
func sumNative[F float](ctx context.Context, r reduction, a, d []F, mean bool) error {
	scale := 1.0
	if mean {
		scale = 1 / float64(r.n)
	}
	if r.inner == 1 {
		return forLanes(ctx, r, 1, noScratch, func(_ struct{}, o, _, _ int) {
			d[o] = F(sum64(a[o*r.n:(o+1)*r.n]) * scale)
		})
	}
	return forLanes(ctx, r, 1, f64Scratch, func(acc []float64, o, j0, j1 int) {
		acc = acc[:j1-j0]
		clear(acc)
		for k := 0; k < r.n; k++ {
			row := a[(o*r.n+k)*r.inner+j0:][:len(acc)]
			for j, v := range row {
				acc[j] += float64(v)
			}
		}
		out := d[o*r.inner+j0:][:len(acc)]
		for j, s := range acc {
			out[j] = F(s * scale)
		}
	})
}

// sum64 returns the sum of x in float64 with four independent accumulators.
func sum64[F float](x []F) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
		s2 += float64(x[i+2])
		s3 += float64(x[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// Max returns the largest element along axis. NaN propagates: a lane holding
// a NaN has maximum NaN. An empty axis is an error.
func (e *CPUEngine[T]) Max(ctx context.Context, a *tensor.Tensor[T], axis int, keepDims bool, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	r, out, err := reduceSetup(ctx, "Max", a, axis, keepDims, dst)
	if err != nil {
		return nil, err
	}
	if r.n == 0 {
		return nil, shapeErr("Max", fmt.Sprintf("axis %d has length 0", axis), a.Shape())
	}
	ad, d := a.Data(), out.Data()
	switch e.kind {
	case kindFloat32:
		err = maxNative(ctx, r, any(ad).([]float32), any(d).([]float32))
	case kindFloat64:
		err = maxNative(ctx, r, any(ad).([]float64), any(d).([]float64))
	default:
		ops := e.ops
		err = forLanes(ctx, r, 2, noScratch, func(_ struct{}, o, j0, j1 int) {
			m := d[o*r.inner+j0:][:j1-j0]
			copy(m, ad[o*r.n*r.inner+j0:])
			for k := 1; k < r.n; k++ {
				row := ad[(o*r.n+k)*r.inner+j0:][:len(m)]
				for j, v := range row {
					if ops.Greater(v, m[j]) || !ops.Equal(v, v) && ops.Equal(m[j], m[j]) {
						m[j] = v
					}
				}
			}
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func maxNative[F float](ctx context.Context, r reduction, a, d []F) error {
	return forLanes(ctx, r, 1, noScratch, func(_ struct{}, o, j0, j1 int) {
		m := d[o*r.inner+j0:][:j1-j0]
		copy(m, a[o*r.n*r.inner+j0:])
		for k := 1; k < r.n; k++ {
			row := a[(o*r.n+k)*r.inner+j0:][:len(m)]
			for j, v := range row {
				if v > m[j] || v != v {
					m[j] = v
				}
			}
		}
	})
}

// ArgMax returns the index of the first maximum along axis. A NaN counts as
// the maximum (the first NaN wins), as in NumPy. An empty axis is an error.
func (e *CPUEngine[T]) ArgMax(ctx context.Context, a *tensor.Tensor[T], axis int, keepDims bool) (*tensor.Tensor[int64], error) {
	if err := notNil("ArgMax", a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, shape, err := reduceShape("ArgMax", a.Shape(), axis, keepDims)
	if err != nil {
		return nil, err
	}
	if r.n == 0 {
		return nil, shapeErr("ArgMax", fmt.Sprintf("axis %d has length 0", axis), a.Shape())
	}
	out, err := output[int64]("ArgMax", shape, nil)
	if err != nil {
		return nil, err
	}
	ad, d := a.Data(), out.Data()
	isNaN := func(v T) bool { return !e.ops.Equal(v, v) }
	greater := e.ops.Greater
	if e.kind == kindInt {
		isNaN = func(T) bool { return false }
	}
	err = forLanes(ctx, r, 2, noScratch, func(_ struct{}, o, j0, j1 int) {
		for j := j0; j < j1; j++ {
			base := o*r.n*r.inner + j
			best, bi := ad[base], 0
			if !isNaN(best) {
				for k := 1; k < r.n; k++ {
					v := ad[base+k*r.inner]
					if isNaN(v) {
						bi = k
						break
					}
					if greater(v, best) {
						best, bi = v, k
					}
				}
			}
			d[o*r.inner+j] = int64(bi)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Softmax returns exp(x - max) / sum(exp(x - max)) along axis, computed in
// float64 for every type except the float32 last-axis fast path (float32
// exponentials, float64 sum). dst may be a.
func (e *CPUEngine[T]) Softmax(ctx context.Context, a *tensor.Tensor[T], axis int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.softmax(ctx, "Softmax", a, axis, dst, false)
}

// LogSoftmax returns x - max - log(sum(exp(x - max))) along axis. dst may
// be a.
func (e *CPUEngine[T]) LogSoftmax(ctx context.Context, a *tensor.Tensor[T], axis int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	return e.softmax(ctx, "LogSoftmax", a, axis, dst, true)
}

func (e *CPUEngine[T]) softmax(ctx context.Context, op string, a *tensor.Tensor[T], axis int, dst []*tensor.Tensor[T], logOut bool) (*tensor.Tensor[T], error) {
	if err := notNil(op, a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, _, err := reduceShape(op, a.Shape(), axis, true)
	if err != nil {
		return nil, err
	}
	out, err := output(op, a.Shape(), dst)
	if err != nil {
		return nil, err
	}
	ad, d := a.Data(), out.Data()
	if e.kind == kindFloat32 && r.inner == 1 {
		x, y := any(ad).([]float32), any(d).([]float32)
		err = forLanes(ctx, r, 8, noScratch, func(_ struct{}, o, _, _ int) {
			softmaxRow32(y[o*r.n:(o+1)*r.n], x[o*r.n:(o+1)*r.n], logOut)
		})
	} else {
		load, store := e.laneIO(ad, d)
		err = forLanes(ctx, r, 8, func(int) []float64 { return make([]float64, r.n) }, func(buf []float64, o, j0, j1 int) {
			for j := j0; j < j1; j++ {
				base := o*r.n*r.inner + j
				load(buf, base, r.inner)
				softmax64(buf, logOut)
				store(buf, base, r.inner)
			}
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// laneIO returns functions that copy the lane of a starting at base with the
// given stride into a float64 buffer, and a buffer back into d.
func (e *CPUEngine[T]) laneIO(a, d []T) (load, store func(buf []float64, base, stride int)) {
	switch e.kind {
	case kindFloat32:
		x, y := any(a).([]float32), any(d).([]float32)
		return func(buf []float64, base, st int) {
				for k := range buf {
					buf[k] = float64(x[base+k*st])
				}
			}, func(buf []float64, base, st int) {
				for k, v := range buf {
					y[base+k*st] = float32(v)
				}
			}
	case kindFloat64:
		x, y := any(a).([]float64), any(d).([]float64)
		return func(buf []float64, base, st int) {
				for k := range buf {
					buf[k] = x[base+k*st]
				}
			}, func(buf []float64, base, st int) {
				for k, v := range buf {
					y[base+k*st] = v
				}
			}
	}
	ops := e.ops
	return func(buf []float64, base, st int) {
			for k := range buf {
				buf[k] = ops.ToFloat64(a[base+k*st])
			}
		}, func(buf []float64, base, st int) {
			for k, v := range buf {
				d[base+k*st] = ops.FromFloat64(v)
			}
		}
}

// softmax64 replaces x by its softmax (or log-softmax), in place.
func softmax64(x []float64, logOut bool) {
	if len(x) == 0 {
		return
	}
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	if logOut {
		lse := m + math.Log(s)
		for i, v := range x {
			x[i] = v - lse
		}
		return
	}
	inv := 1 / s
	for i, v := range x {
		x[i] = math.Exp(v-m) * inv
	}
}

// softmaxRow32 writes the softmax (or log-softmax) of x to y; y may be x.
func softmaxRow32(y, x []float32, logOut bool) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	if logOut {
		var s float64
		for _, v := range x {
			s += float64(exp32(v - m))
		}
		lse := float64(m) + math.Log(s)
		for i, v := range x {
			y[i] = float32(float64(v) - lse)
		}
		return
	}
	var s float64
	for i, v := range x {
		ev := exp32(v - m)
		y[i] = ev
		s += float64(ev)
	}
	inv := float32(1 / s)
	for i := range y {
		y[i] *= inv
	}
}
