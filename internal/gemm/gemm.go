// Package gemm implements the float32 general matrix multiply used by the
// CPU compute engine.
package gemm

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, op(X) = X or Xᵀ.
// op(A) is m×k, op(B) is k×n, C is m×n with leading dimensions lda, ldb, ldc (elements per row as stored).
// beta == 0 means C is write-only (NaNs in C ignored). Returns an error (package "gemm:" prefix) for
// negative sizes or slices too short for the given leading dimensions; ctx.Err() if cancelled.
func Sgemm(ctx context.Context, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
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
	return workerpool.For(ctx, m, 4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				var s float32
				for p := 0; p < k; p++ {
					var av, bv float32
					if transA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					if transB {
						bv = b[j*ldb+p]
					} else {
						bv = b[p*ldb+j]
					}
					s += av * bv
				}
				if beta == 0 {
					crow[j] = alpha * s
				} else {
					crow[j] = alpha*s + beta*crow[j]
				}
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
	if ld < max(cols, 1) {
		return fmt.Errorf("gemm: leading dimension ld%s=%d smaller than %d columns", name, ld, cols)
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	need := (rows-1)*ld + cols
	if len(x) < need {
		return fmt.Errorf("gemm: %s has %d elements, need %d for %d×%d with ld%s=%d", name, len(x), need, rows, cols, name, ld)
	}
	return nil
}
