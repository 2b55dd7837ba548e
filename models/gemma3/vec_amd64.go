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

// scores4AVX2 sets out[4j+h] = Σ_{d<hd} qh[d]·k[j·ldk+d] for j < n, h < 4
// (hd a multiple of 8).
//
//go:noescape
func scores4AVX2(q0, q1, q2, q3, k *float32, ldk, hd, n int, out *float32)

// values4AVX2 adds Σ_{j<n} p[4j+h]·v[j·ldv+d] to out[h·hd+d] for h < 4,
// d < hd (hd a multiple of 16).
//
//go:noescape
func values4AVX2(p, v *float32, ldv, hd, n int, out *float32)

// scores4 sets out[4j+h] = q[h]·k[j·ldk : j·ldk+hd] for j < n, h < 4, where
// hd = len(q[0]) (all four the same length).
func scores4(q *[4][]float32, k []float32, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd-1], out[4*n-1], q[3][hd-1]
	if !useAVX2 || hd%16 != 0 {
		scores4Generic(q, k, ldk, n, out)
		return
	}
	scores4AVX2(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4 adds Σ_{j<n} p[4j+h]·v[j·ldv : j·ldv+hd] to out[h·hd : (h+1)·hd]
// for h < 4.
func values4(p, v []float32, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd-1], out[4*hd-1]
	if !useAVX2 || hd%16 != 0 {
		values4Generic(p, v, ldv, hd, n, out)
		return
	}
	values4AVX2(&p[0], &v[0], ldv, hd, n, &out[0])
}
