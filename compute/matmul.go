package compute

import (
	"context"
	"fmt"
	"sync"

	"github.com/zerfoo/zerfoo/internal/gemm"
	"github.com/zerfoo/zerfoo/tensor"
)

// smallGEMM is the m·n·k below which batches of a MatMul run in parallel
// with each other instead of one after another with a parallel GEMM each.
const smallGEMM = 1 << 18

// MatMul multiplies the last two axes of a [..., m, k] and b [..., k, n],
// broadcasting the leading (batch) axes as NumPy matmul does. A rank-1 a is
// treated as [1, k] and a rank-1 b as [k, 1], and the added axis is removed
// from the result. dst must not share storage with a or b.
//
// float32 runs on the blocked GEMM of internal/gemm; the half-precision and
// 8-bit float types are widened to float32, multiplied there (accumulating
// in float32) and rounded back; float64 accumulates in float64; integers use
// ops.Mul and ops.Add in index order, so they overflow as ops defines.
func (e *CPUEngine[T]) MatMul(ctx context.Context, a, b *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	const op = "MatMul"
	if err := notNil(op, a, b); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), b.Shape()
	if len(as) == 0 || len(bs) == 0 {
		return nil, shapeErr(op, "operands must have rank ≥ 1", as, bs)
	}
	pa, pb := as, bs
	if len(pa) == 1 {
		pa = []int{1, pa[0]}
	}
	if len(pb) == 1 {
		pb = []int{pb[0], 1}
	}
	m, k := pa[len(pa)-2], pa[len(pa)-1]
	k2, n := pb[len(pb)-2], pb[len(pb)-1]
	if k != k2 {
		return nil, shapeErr(op, fmt.Sprintf("inner dimensions differ: %d and %d", k, k2), as, bs)
	}
	abatch, bbatch := pa[:len(pa)-2], pb[:len(pb)-2]
	batch, ok := broadcastShapes(abatch, bbatch)
	if !ok {
		return nil, shapeErr(op, fmt.Sprintf("batch dimensions %v and %v do not broadcast", abatch, bbatch), as, bs)
	}
	outShape := append([]int(nil), batch...)
	if len(as) > 1 {
		outShape = append(outShape, m)
	}
	if len(bs) > 1 {
		outShape = append(outShape, n)
	}
	out, err := output(op, outShape, dst)
	if err != nil {
		return nil, err
	}
	nb := product(batch)
	if nb == 0 || m == 0 || n == 0 {
		return out, nil
	}

	// Matrix offsets (in elements) of each batch in a and b.
	sa := broadcastStrides(abatch, batch)
	sb := broadcastStrides(bbatch, batch)
	aoffs, boffs := make([]int, nb), make([]int, nb)
	idx := make([]int, len(batch))
	for i := range nb {
		ao, bo := 0, 0
		for ax := range batch {
			ao += idx[ax] * sa[ax]
			bo += idx[ax] * sb[ax]
		}
		aoffs[i], boffs[i] = ao*m*k, bo*k*n
		for ax := len(batch) - 1; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < batch[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	// When b is shared by every batch and a's batches are consecutive, the
	// batches fold into one taller GEMM.
	if nb > 1 && product(bbatch) == 1 && product(abatch) == nb {
		m, nb = m*nb, 1
	}

	mm := e.matmulKernel(a.Data(), b.Data(), out.Data())
	run := func(i int) error { return mm(ctx, m, n, k, aoffs[i], boffs[i], i*m*n) }
	if nb > 1 && m*n*k < smallGEMM {
		var (
			mu       sync.Mutex
			firstErr error
		)
		perr := parallel(ctx, nb, max(1, smallGEMM/max(1, m*n*k)), m*n*k/64+1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if err := run(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
		if perr != nil {
			return nil, perr
		}
		if firstErr != nil {
			return nil, firstErr
		}
		return out, nil
	}
	for i := range nb {
		if err := run(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mmKernel computes one matrix product C = A·B with A m×k at a[aoff:], B
// k×n at b[boff:] and C m×n at c[coff:] (all row-major, contiguous).
type mmKernel func(ctx context.Context, m, n, k, aoff, boff, coff int) error

// matmulKernel returns the matrix kernel for T over the given storage.
func (e *CPUEngine[T]) matmulKernel(a, b, c []T) mmKernel {
	switch e.kind {
	case kindFloat32:
		x, y, z := any(a).([]float32), any(b).([]float32), any(c).([]float32)
		return func(ctx context.Context, m, n, k, ao, bo, co int) error {
			return gemm.Sgemm(ctx, false, false, m, n, k, 1, x[ao:], k, y[bo:], n, 0, z[co:], n)
		}
	case kindFloat64:
		x, y, z := any(a).([]float64), any(b).([]float64), any(c).([]float64)
		return func(ctx context.Context, m, n, k, ao, bo, co int) error {
			return gemm64(ctx, m, n, k, x[ao:], y[bo:], z[co:])
		}
	}
	ops := e.ops
	if e.kind == kindReduced {
		// Widen both operands once, multiply in float32, round back.
		af, bf := make([]float32, len(a)), make([]float32, len(b))
		for i, v := range a {
			af[i] = ops.ToFloat32(v)
		}
		for i, v := range b {
			bf[i] = ops.ToFloat32(v)
		}
		return func(ctx context.Context, m, n, k, ao, bo, co int) error {
			cf := make([]float32, m*n)
			if err := gemm.Sgemm(ctx, false, false, m, n, k, 1, af[ao:], k, bf[bo:], n, 0, cf, n); err != nil {
				return err
			}
			for i, v := range cf {
				c[co+i] = ops.FromFloat32(v)
			}
			return nil
		}
	}
	return func(ctx context.Context, m, n, k, ao, bo, co int) error {
		return parallel(ctx, m, rowGrain(n*k, grainMem), n*k, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				crow := c[co+i*n:][:n]
				for j := range crow {
					crow[j] = ops.Zero()
				}
				for p := range k {
					av := a[ao+i*k+p]
					brow := b[bo+p*n:][:n]
					for j, bv := range brow {
						crow[j] = ops.Add(crow[j], ops.Mul(av, bv))
					}
				}
			}
		})
	}
}

// gemm64 computes C = A·B for float64 row-major matrices, parallel over
// rows of C, with an i-k-j loop order and k blocked for cache reuse of B.
func gemm64(ctx context.Context, m, n, k int, a, b, c []float64) error {
	const kc = 256
	return parallel(ctx, m, rowGrain(n*k, grainMem), n*k, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			clear(c[i*n : i*n+n])
		}
		for p0 := 0; p0 < k; p0 += kc {
			p1 := min(k, p0+kc)
			for i := lo; i < hi; i++ {
				crow := c[i*n : i*n+n]
				for p := p0; p < p1; p++ {
					av := a[i*k+p]
					brow := b[p*n : p*n+n]
					for j, bv := range brow {
						crow[j] += av * bv
					}
				}
			}
		}
	})
}

// Transpose permutes the axes of a: axis i of the result is axis perm[i] of
// a. A nil perm reverses the axes. dst must not share storage with a.
func (e *CPUEngine[T]) Transpose(ctx context.Context, a *tensor.Tensor[T], perm []int, dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	const op = "Transpose"
	if err := notNil(op, a); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	shape := a.Shape()
	rank := len(shape)
	if perm == nil {
		perm = make([]int, rank)
		for i := range perm {
			perm[i] = rank - 1 - i
		}
	}
	if len(perm) != rank {
		return nil, shapeErr(op, fmt.Sprintf("permutation %v has %d axes, want %d", perm, len(perm), rank), shape)
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			return nil, indexErr(op, fmt.Sprintf("%v is not a permutation of %d axes", perm, rank), shape)
		}
		seen[p] = true
	}
	outShape := make([]int, rank)
	srcStrides := make([]int, rank)
	st := tensor.Strides(shape)
	for i, p := range perm {
		outShape[i] = shape[p]
		srcStrides[i] = st[p]
	}
	out, err := output(op, outShape, dst)
	if err != nil {
		return nil, err
	}
	if err := copyStrided(ctx, out.Data(), a.Data(), outShape, srcStrides); err != nil {
		return nil, err
	}
	return out, nil
}

// copyStrided fills the contiguous dst of the given shape from src read with
// per-axis strides: dst[i0, i1, ...] = src[off + Σ i_k·strides[k]] (off is
// 0; callers pass src already offset).
func copyStrided[T any](ctx context.Context, dst, src []T, shape, strides []int) error {
	// Drop size-1 axes and merge axes that are contiguous in src as well.
	var dims, sts []int
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] == 1 {
			continue
		}
		if g := len(dims) - 1; g >= 0 && strides[i] == sts[g]*dims[g] {
			dims[g] *= shape[i]
			continue
		}
		dims = append(dims, shape[i])
		sts = append(sts, strides[i])
	}
	if len(dims) == 0 {
		if len(dst) > 0 {
			dst[0] = src[0]
		}
		return ctx.Err()
	}
	reverse(dims)
	reverse(sts)
	n := len(dst)
	if n == 0 {
		return ctx.Err()
	}
	inner, is := dims[len(dims)-1], sts[len(sts)-1]
	od, os := dims[:len(dims)-1], sts[:len(sts)-1]
	rows := n / inner
	return parallel(ctx, rows, rowGrain(inner, grainMem), inner, func(lo, hi int) {
		idx := make([]int, len(od))
		off := 0
		r := lo
		for ax := len(od) - 1; ax >= 0; ax-- {
			idx[ax] = r % od[ax]
			r /= od[ax]
			off += idx[ax] * os[ax]
		}
		for row := lo; row < hi; row++ {
			d := dst[row*inner : (row+1)*inner]
			if is == 1 {
				copy(d, src[off:off+inner])
			} else {
				for j := range d {
					d[j] = src[off+j*is]
				}
			}
			for ax := len(od) - 1; ax >= 0; ax-- {
				idx[ax]++
				off += os[ax]
				if idx[ax] < od[ax] {
					break
				}
				off -= od[ax] * os[ax]
				idx[ax] = 0
			}
		}
	})
}
