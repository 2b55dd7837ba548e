// Package gemm implements the float32 general matrix multiply (SGEMM) used by
// the CPU compute engine.
//
// Sgemm follows the BLIS design: op(B) is packed into KC×NR micro-panels
// (shared by all workers), op(A)·alpha into MR×KC micro-panels (per worker),
// both zero-padded at ragged edges, and a register-blocked micro-kernel
// multiplies one A micro-panel by one B micro-panel into an MR×NR tile of C.
// The micro-kernel is chosen once at init from the variants this CPU supports
// (AVX-512 > AVX2+FMA > pure Go); see kernel_amd64.go. Products with one row
// or one column take a GEMV path that packs nothing, and so do products with
// B transposed and at most 16 rows (dot products of A rows and B rows).
//
// C must not alias A or B. Work runs on the process-wide worker pool.
package gemm

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// kernelFunc multiplies a packed A micro-panel (k steps of mr values) by a
// packed B micro-panel (k steps of nr values) and stores the mr×nr result
// into C (acc false) or adds it to C (acc true). C has row stride ldc.
type kernelFunc func(k int, a, b, c *float32, ldc int, acc bool)

// gemvFunc adds x·B to y: with n columns and k rows of B, gemvN reads B as
// k×n (y[j] += Σ x[p]·b[p·ldb+j]) and gemvT reads it as n×k
// (y[j] += Σ x[p]·b[j·ldb+p]).
type gemvFunc func(n, k int, x, b []float32, ldb int, y []float32)

// variant is one implementation of the kernels with its blocking sizes.
type variant struct {
	name         string
	mr, nr       int // micro-tile
	kc, mc, nc   int // cache blocks: depth, rows of A per block, columns of B per block
	kernel       kernelFunc
	gemvN, gemvT gemvFunc
}

// genericVariant is the pure-Go implementation; it always works.
var genericVariant = variant{name: "generic", mr: 3, nr: 3, kc: 256, mc: 120, nc: 2048,
	kernel: kernelGeneric, gemvN: gemvNGeneric, gemvT: gemvTGeneric}

// variants lists every implementation usable on this CPU, slowest first;
// best is the one Sgemm uses. Both are fixed at package initialisation.
var (
	variants = append([]variant{genericVariant}, archVariants...)
	best     = &variants[len(variants)-1]
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, op(X) = X or Xᵀ.
// op(A) is m×k, op(B) is k×n, C is m×n with leading dimensions lda, ldb, ldc (elements per row as stored).
// beta == 0 means C is write-only (NaNs in C ignored). Returns an error (package "gemm:" prefix) for
// negative sizes or slices too short for the given leading dimensions; ctx.Err() if cancelled.
func Sgemm(ctx context.Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	return sgemm(ctx, best, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Kernel names the micro-kernel variant Sgemm uses ("avx512", "avx2" or "generic").
func Kernel() string { return best.name }

// parallelWork is the number of multiply-adds below which Sgemm stays on the
// calling goroutine.
const parallelWork = 1 << 17

func sgemm(ctx context.Context, v *variant, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return nil
	}
	if m == 1 || n == 1 {
		return gemv(ctx, v, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	if transB && m <= smallM {
		return dots(ctx, v, transA, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	return blocked(ctx, v, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// scale sets C = beta·C (C = 0 when beta is 0, whatever C held).
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// workBuf is per-worker scratch: packed A block, an edge tile and a vector.
type workBuf struct {
	a, tile, x []float32
}

var (
	workPool = sync.Pool{New: func() any { return new(workBuf) }}
	bPool    = sync.Pool{New: func() any { return new([]float32) }}
)

// grow returns s resized to n elements, reallocating only when too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// blocked runs the packed, cache-blocked algorithm.
func blocked(ctx context.Context, v *variant, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	mr, nr := v.mr, v.nr
	workers := workerpool.Workers()
	if m*n*k < parallelWork {
		workers = 1
	}
	// Split M into blocks of at most mc rows, balanced across workers. Up
	// to two blocks' worth of rows stay in one block, and the workers split
	// the B panels instead: with few MR panels an M split is uneven (128
	// rows are 11 panels of 12).
	nb := ceilDiv(m, v.mc)
	switch {
	case nb <= 2:
		nb = 1
	case nb >= workers:
		nb = ceilDiv(nb, workers) * workers
	}
	mc := ceilDiv(ceilDiv(m, nb), mr) * mr
	nb = ceilDiv(m, mc)
	ncMax := min(max(v.nc/nr, 1)*nr, ceilDiv(n, nr)*nr) // whole panels
	kcMax := min(v.kc, k)

	bbuf := bPool.Get().(*[]float32)
	defer bPool.Put(bbuf)
	*bbuf = grow(*bbuf, kcMax*ncMax)
	bp := *bbuf

	for jc := 0; jc < n; jc += ncMax {
		ncur := min(ncMax, n-jc)
		npanels := ceilDiv(ncur, nr)
		// With fewer M blocks than workers, also split the B panels.
		ng := 1
		if nb < workers {
			ng = min(npanels, ceilDiv(workers, nb))
		}
		for pc := 0; pc < k; pc += kcMax {
			kcur := min(kcMax, k-pc)
			first := pc == 0
			err := workerpool.ForN(ctx, npanels, 4, workers, func(lo, hi int) {
				for jp := lo; jp < hi; jp++ {
					j0 := jc + jp*nr
					packB(bp[jp*kcur*nr:(jp+1)*kcur*nr], b, ldb, transB, pc, kcur, j0, min(nr, n-j0), nr)
				}
			})
			if err != nil {
				return err
			}
			err = workerpool.ForN(ctx, nb*ng, 1, workers, func(lo, hi int) {
				w := workPool.Get().(*workBuf)
				defer workPool.Put(w)
				w.tile = grow(w.tile, mr*nr)
				packed := -1
				for t := lo; t < hi; t++ {
					ib, jg := t/ng, t%ng
					i0 := ib * mc
					mcur := min(mc, m-i0)
					mpanels := ceilDiv(mcur, mr)
					if packed != ib {
						w.a = grow(w.a, mpanels*kcur*mr)
						for ip := range mpanels {
							r0 := i0 + ip*mr
							packA(w.a[ip*kcur*mr:(ip+1)*kcur*mr], a, lda, transA, r0, min(mr, m-r0), pc, kcur, alpha, mr)
						}
						packed = ib
					}
					for jp := jg * npanels / ng; jp < (jg+1)*npanels/ng; jp++ {
						j0 := jc + jp*nr
						cols := min(nr, n-j0)
						bpanel := bp[jp*kcur*nr:]
						for ip := range mpanels {
							r0 := i0 + ip*mr
							rows := min(mr, m-r0)
							v.micro(kcur, w.a[ip*kcur*mr:], bpanel, c, r0, j0, rows, cols, ldc, first, beta, w.tile)
						}
					}
				}
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// micro updates the rows×cols tile of C at (r0, j0) with the product of one
// A and one B micro-panel. On the first K block C is scaled by beta first
// (and not read when beta is 0); later blocks accumulate.
func (v *variant) micro(k int, ap, bp, c []float32, r0, j0, rows, cols, ldc int, first bool, beta float32, tile []float32) {
	mr, nr := v.mr, v.nr
	if rows == mr && cols == nr {
		off := r0*ldc + j0
		_ = c[off+(mr-1)*ldc+nr-1] // bounds check for the whole tile
		if first && beta != 0 && beta != 1 {
			for r := range mr {
				row := c[off+r*ldc : off+r*ldc+nr]
				for j := range row {
					row[j] *= beta
				}
			}
		}
		v.kernel(k, &ap[0], &bp[0], &c[off], ldc, !first || beta != 0)
		return
	}
	v.kernel(k, &ap[0], &bp[0], &tile[0], nr, false)
	for r := range rows {
		row := c[(r0+r)*ldc+j0 : (r0+r)*ldc+j0+cols]
		t := tile[r*nr : r*nr+cols]
		switch {
		case !first || beta == 1:
			for j := range row {
				row[j] += t[j]
			}
		case beta == 0:
			copy(row, t)
		default:
			for j := range row {
				row[j] = beta*row[j] + t[j]
			}
		}
	}
}

// gemv handles m == 1 or n == 1 without packing: y = alpha·M·x + beta·y.
func gemv(ctx context.Context, v *variant, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	w := workPool.Get().(*workBuf)
	defer workPool.Put(w)
	w.x = grow(w.x, k)
	x := w.x
	var (
		mat     []float32
		ld      int
		columns bool // mat is k×len(y) (gemvN) rather than len(y)×k (gemvT)
		y       []float32
	)
	if m == 1 {
		// y = C row 0 (n), x = op(A) row 0, mat = B.
		for p := range k {
			if transA {
				x[p] = alpha * a[p*lda]
			} else {
				x[p] = alpha * a[p]
			}
		}
		mat, ld, columns = b, ldb, !transB
		y = c[:n]
		scale(1, n, beta, y, n)
	} else {
		// y = C column 0 (m), x = op(B) column 0, mat = A.
		for p := range k {
			if transB {
				x[p] = alpha * b[p]
			} else {
				x[p] = alpha * b[p*ldb]
			}
		}
		mat, ld, columns = a, lda, transA
		w.tile = grow(w.tile, m)
		y = w.tile
		for i := range m {
			if beta == 0 {
				y[i] = 0
			} else {
				y[i] = beta * c[i*ldc]
			}
		}
	}
	ny := len(y)
	const block = 64
	workers := workerpool.Workers()
	if ny*k < parallelWork {
		workers = 1
	}
	err := workerpool.ForN(ctx, ceilDiv(ny, block), 1, workers, func(lo, hi int) {
		j0, j1 := lo*block, min(hi*block, ny)
		if columns {
			v.gemvN(j1-j0, k, x, mat[j0:], ld, y[j0:j1])
		} else {
			v.gemvT(j1-j0, k, x, mat[j0*ld:], ld, y[j0:j1])
		}
	})
	if m != 1 {
		for i := range m {
			c[i*ldc] = y[i]
		}
	}
	return err
}

// smallM is the largest m for which a product with B transposed skips
// packing: transposing B into panels costs more than the multiply then.
const smallM = 16

// dots computes C = alpha·op(A)·Bᵀ + beta·C for small m without packing B:
// every C element is a dot product of an A row and a B row, both contiguous
// in k. B is read once, in blocks of rows that stay in cache while each A
// row passes over them.
func dots(ctx context.Context, v *variant, transA bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	w := workPool.Get().(*workBuf)
	defer workPool.Put(w)
	w.x = grow(w.x, m*k)
	x := w.x
	for i := range m {
		xi := x[i*k : i*k+k]
		for p := range xi {
			if transA {
				xi[p] = alpha * a[p*lda+i]
			} else {
				xi[p] = alpha * a[i*lda+p]
			}
		}
	}
	scale(m, n, beta, c, ldc)
	const block = 16 // B rows per step: 16·k floats, in L1/L2 for typical k
	workers := workerpool.Workers()
	if m*n*k < parallelWork {
		workers = 1
	}
	return workerpool.ForN(ctx, ceilDiv(n, block), 1, workers, func(lo, hi int) {
		for jb := lo; jb < hi; jb++ {
			j0, j1 := jb*block, min((jb+1)*block, n)
			for i := range m {
				v.gemvT(j1-j0, k, x[i*k:i*k+k], b[j0*ldb:], ldb, c[i*ldc+j0:i*ldc+j1])
			}
		}
	})
}

// checkArgs validates sizes, leading dimensions and slice lengths.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("gemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	// Stored shapes of A and B (row-major rows × cols).
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := checkMat("a", ar, ac, a, lda); err != nil {
		return err
	}
	if err := checkMat("b", br, bc, b, ldb); err != nil {
		return err
	}
	return checkMat("c", m, n, c, ldc)
}

func checkMat(name string, rows, cols int, x []float32, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < cols {
		return fmt.Errorf("gemm: leading dimension ld%s=%d smaller than %d columns", name, ld, cols)
	}
	need := (rows-1)*ld + cols
	if len(x) < need {
		return fmt.Errorf("gemm: %s has %d elements, need %d for %d×%d with ld%s=%d", name, len(x), need, rows, cols, name, ld)
	}
	return nil
}

// floats views n float32s starting at p as a slice.
func floats(p *float32, n int) []float32 { return unsafe.Slice(p, n) }
