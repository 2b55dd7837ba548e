//go:build !purego

package gemma3

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA dot and axpy kernels, once at init.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// avx2Bits reports whether softmax4 and sumSquares run the AVX2 kernels,
// whose bits arm64's NEON kernels give too (TestSoftmax4Bits and
// TestSumSquaresBits pin them).
var avx2Bits = useAVX2

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

// useF16C adds the F16C conversions gegluAVX2 needs.
var useF16C = useAVX2 && cpu.X86.HasF16C

// gegluAVX2 sets out[i] = t(gate[i])·u[i], t as in geglu (n a multiple of 8).
//
//go:noescape
func gegluAVX2(out, gate, u *float32, n int, table *float32)

// sumSquaresAVX2 returns Σ float64(x[i]·x[i]) (n a multiple of 8).
//
//go:noescape
func sumSquaresAVX2(x *float32, n int) float64

// scaleMulAVX2 sets y[i] = (x[i]·scale)·w[i] (n a multiple of 8).
//
//go:noescape
func scaleMulAVX2(y, x, w *float32, scale float32, n int)

// geglu sets out[i] = gelu(g[i])·u[i] (see gegluGeneric). out may be g.
func geglu(out, g, u []float32) {
	u, out = u[:len(g)], out[:len(g)]
	n := len(g) &^ 7
	if !useF16C || n == 0 {
		gegluGeneric(out, g, u)
		return
	}
	gegluAVX2(&out[0], &g[0], &u[0], n, &geluTable[0])
	gegluGeneric(out[n:], g[n:], u[n:])
}

// sumSquares returns Σ float64(x[i]·x[i]), each square rounded to float32.
func sumSquares(x []float32) float64 {
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		return sumSquaresGeneric(x)
	}
	return sumSquaresAVX2(&x[0], n) + sumSquaresGeneric(x[n:])
}

// scaleMul sets y[i] = (x[i]·scale)·w[i]; y may be x.
func scaleMul(y, x, w []float32, scale float32) {
	y, w = y[:len(x)], w[:len(x)]
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		scaleMulGeneric(y, x, w, scale)
		return
	}
	scaleMulAVX2(&y[0], &x[0], &w[0], scale, n)
	scaleMulGeneric(y[n:], x[n:], w[n:], scale)
}

// roundQ8AVX2 rounds blocks of 32 values as roundQ8_0Generic.
//
//go:noescape
func roundQ8AVX2(dst, x *float32, blocks int)

// roundQ8_0 rounds x to Q8_0 values (see roundQ8_0Generic).
func roundQ8_0(dst, x []float32) {
	nb := len(x) / 32
	if !useF16C || nb == 0 {
		roundQ8_0Generic(dst, x)
		return
	}
	_ = dst[32*nb-1]
	roundQ8AVX2(&dst[0], &x[0], nb)
}

// toF16AVX2 rounds n float32 values to binary16 (n a multiple of 8).
//
//go:noescape
func toF16AVX2(dst *uint16, src *float32, n int)

// scores4F16AVX2 is scores4AVX2 over binary16 keys (hd a multiple of 8).
//
//go:noescape
func scores4F16AVX2(q0, q1, q2, q3 *float32, k *uint16, ldk, hd, n int, out *float32)

// values4F16AVX2 is values4AVX2 over binary16 values (hd a multiple of 16).
//
//go:noescape
func values4F16AVX2(p *float32, v *uint16, ldv, hd, n int, out *float32)

// scores4Q8AVX2 is scores4AVX2 over Q8_0 keys (ldk in bytes, hd a multiple
// of 32).
//
//go:noescape
func scores4Q8AVX2(q0, q1, q2, q3 *float32, k *byte, ldk, hd, n int, out *float32)

// values4Q8AVX2 is values4AVX2 over Q8_0 values (ldv in bytes, hd a
// multiple of 32).
//
//go:noescape
func values4Q8AVX2(p *float32, v *byte, ldv, hd, n int, out *float32)

// toF16 rounds src to binary16 into dst (see toF16Generic).
func toF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if !useF16C || n == 0 {
		toF16Generic(dst, src)
		return
	}
	toF16AVX2(&dst[0], &src[0], n)
	toF16Generic(dst[n:], src[n:])
}

// scores4F16 is scores4 over binary16 keys (see scores4F16Generic).
func scores4F16(q *[4][]float32, k []uint16, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd-1], out[4*n-1], q[3][hd-1]
	if !useF16C || hd%16 != 0 {
		scores4F16Generic(q, k, ldk, n, out)
		return
	}
	scores4F16AVX2(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4F16 is values4 over binary16 values (see values4F16Generic).
func values4F16(p []float32, v []uint16, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd-1], out[4*hd-1]
	if !useF16C || hd%16 != 0 {
		values4F16Generic(p, v, ldv, hd, n, out)
		return
	}
	values4F16AVX2(&p[0], &v[0], ldv, hd, n, &out[0])
}

// scores4Q8 is scores4 over Q8_0 keys (see scores4Q8Generic).
func scores4Q8(q *[4][]float32, k []byte, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd/32*34-1], out[4*n-1], q[3][hd-1]
	if !useF16C || hd%32 != 0 {
		scores4Q8Generic(q, k, ldk, n, out)
		return
	}
	scores4Q8AVX2(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4Q8 is values4 over Q8_0 values (see values4Q8Generic).
func values4Q8(p []float32, v []byte, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd/32*34-1], out[4*hd-1]
	if !useF16C || hd%32 != 0 {
		values4Q8Generic(p, v, ldv, hd, n, out)
		return
	}
	values4Q8AVX2(&p[0], &v[0], ldv, hd, n, &out[0])
}

// roundF16AVX2 rounds n float32 values to binary16 values (n a multiple
// of 8).
//
//go:noescape
func roundF16AVX2(dst, src *float32, n int)

// roundF16 rounds src to binary16 values into dst (see roundF16Generic).
func roundF16(dst, src []float32) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if !useF16C || n == 0 {
		roundF16Generic(dst, src)
		return
	}
	roundF16AVX2(&dst[0], &src[0], n)
	roundF16Generic(dst[n:], src[n:])
}

// softmax4AVX2 is softmax4 for n ≥ 1, its exp a polynomial within a few
// units in the last place of math.Exp's (see softmax_amd64.s).
//
//go:noescape
func softmax4AVX2(p *float32, n int)

// softmax4 normalizes the four interleaved score rows p[4j+h], j < n (see
// softmax4Generic).
func softmax4(p []float32, n int) {
	if n == 0 {
		return
	}
	_ = p[4*n-1]
	if !useAVX2 {
		softmax4Generic(p, n)
		return
	}
	softmax4AVX2(&p[0], n)
}
