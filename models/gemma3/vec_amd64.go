//go:build !purego

package gemma3

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA dot and axpy kernels, once at init.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 returns Σ a[i]·b[i] for i < n (n a multiple of 8), with FMA.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

// axpyAVX2 sets y[i] += a·x[i] for i < n (n a multiple of 8), with FMA.
//
//go:noescape
func axpyAVX2(y, x *float32, a float32, n int)

// dot returns Σ a[i]·b[i] (len(b) ≥ len(a)).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	if !useAVX2 || len(a) < 8 {
		return dotGeneric(a, b)
	}
	n := len(a) &^ 7
	s := dotAVX2(&a[0], &b[0], n)
	if n < len(a) {
		s += dotGeneric(a[n:], b[n:])
	}
	return s
}

// axpy sets y += a·x (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	if !useAVX2 || len(y) < 8 {
		axpyGeneric(y, a, x)
		return
	}
	n := len(y) &^ 7
	axpyAVX2(&y[0], &x[0], a, n)
	if n < len(y) {
		axpyGeneric(y[n:], a, x[n:])
	}
}
