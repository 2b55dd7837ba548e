//go:build !purego

package gemma3

//go:generate env -u GOOS -u GOARCH go run gen_vec_arm64.go

// scores4F16 is scores4 over binary16 keys (see scores4F16Generic).
func scores4F16(q *[4][]float32, k []uint16, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd-1], out[4*n-1], q[3][hd-1]
	if hd%8 != 0 {
		scores4F16Generic(q, k, ldk, n, out)
		return
	}
	scores4F16NEON(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4F16 is values4 over binary16 values (see values4F16Generic).
func values4F16(p []float32, v []uint16, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd-1], out[4*hd-1]
	if hd%16 != 0 {
		values4F16Generic(p, v, ldv, hd, n, out)
		return
	}
	values4F16NEON(&p[0], &v[0], ldv, hd, n, &out[0])
}

// scores4F16NEON is scores4F16 for hd a multiple of 8 and n ≥ 1 (NEON,
// vec_arm64.s).
//
//go:noescape
func scores4F16NEON(q0, q1, q2, q3 *float32, k *uint16, ldk, hd, n int, out *float32)

// values4F16NEON is values4F16 for hd a multiple of 16 and n ≥ 1 (NEON,
// vec_arm64.s).
//
//go:noescape
func values4F16NEON(p *float32, v *uint16, ldv, hd, n int, out *float32)

// geglu sets out[i] = gelu(g[i])·u[i] (see gegluGeneric), out may be g:
// gegluNEON on whole vectors of 4 (binary16 rounding by FCVTN instead of
// numeric.Float16FromFloat32 in Go, the table loaded by scalar loads),
// gegluGeneric on the rest.
func geglu(out, g, u []float32) {
	u, out = u[:len(g)], out[:len(g)]
	if n := len(g) &^ 3; n > 0 {
		gegluNEON(&out[0], &g[0], &u[0], n, &geluTable[0])
		g, u, out = g[n:], u[n:], out[n:]
	}
	gegluGeneric(out, g, u)
}

// gegluNEON is geglu on n values, n a multiple of 4 and ≥ 4 (NEON,
// vec_arm64.s).
//
//go:noescape
func gegluNEON(out, gate, u *float32, n int, table *float32)

// avx2Bits reports that softmax4 and sumSquares give the bits of
// softmax4AVX2 and sumSquaresAVX2 (TestSoftmax4Bits and
// TestSumSquaresBits pin them).
const avx2Bits = true

// softmax4 normalizes the four interleaved score rows p[4j+h], j < n (see
// softmax4Generic): softmax4NEON, the AVX2 kernel's steps (its exp a
// polynomial within a few units in the last place of math.Exp's, its sums
// in float32), so the same bits as on AVX2.
func softmax4(p []float32, n int) {
	if n == 0 {
		return
	}
	_ = p[4*n-1]
	softmax4NEON(&p[0], n)
}

// softmax4NEON is softmax4 for n ≥ 1 (NEON, vec_arm64.s).
//
//go:noescape
func softmax4NEON(p *float32, n int)

// toF16 rounds src to binary16 into dst (see toF16Generic).
func toF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	if n := len(src) &^ 3; n > 0 {
		toF16NEON(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	toF16Generic(dst, src)
}

// roundF16 rounds src to binary16 values into dst (see roundF16Generic);
// dst may be src.
func roundF16(dst, src []float32) {
	dst = dst[:len(src)]
	if n := len(src) &^ 3; n > 0 {
		roundF16NEON(&dst[0], &src[0], n)
		dst, src = dst[n:], src[n:]
	}
	roundF16Generic(dst, src)
}

// toF16NEON is toF16 for n a multiple of 4, n ≥ 4 (NEON, vec_arm64.s).
//
//go:noescape
func toF16NEON(dst *uint16, src *float32, n int)

// roundF16NEON is roundF16 for n a multiple of 4, n ≥ 4 (NEON,
// vec_arm64.s).
//
//go:noescape
func roundF16NEON(dst, src *float32, n int)

// sumSquares returns Σ float64(x[i]·x[i]), each square rounded to float32,
// summed in sumSquaresAVX2's order (eight float64 lanes, then the rest by
// sumSquaresGeneric): the same bits as on AVX2.
func sumSquares(x []float32) float64 {
	n := len(x) &^ 7
	if n == 0 {
		return sumSquaresGeneric(x)
	}
	return sumSquaresNEON(&x[0], n) + sumSquaresGeneric(x[n:])
}

// scaleMul sets y[i] = (x[i]·scale)·w[i]; y may be x.
func scaleMul(y, x, w []float32, scale float32) {
	y, w = y[:len(x)], w[:len(x)]
	if n := len(x) &^ 3; n > 0 {
		scaleMulNEON(&y[0], &x[0], &w[0], scale, n)
		y, x, w = y[n:], x[n:], w[n:]
	}
	scaleMulGeneric(y, x, w, scale)
}

// sumSquaresNEON is sumSquares for n a multiple of 8, n ≥ 8 (NEON,
// vec_arm64.s).
//
//go:noescape
func sumSquaresNEON(x *float32, n int) float64

// scaleMulNEON is scaleMul for n a multiple of 4, n ≥ 4 (NEON,
// vec_arm64.s).
//
//go:noescape
func scaleMulNEON(y, x, w *float32, scale float32, n int)

// scores4 sets out[4j+h] = q[h]·k[j·ldk : j·ldk+hd] for j < n, h < 4, where
// hd = len(q[0]) (all four the same length): scores4NEON where hd is a
// multiple of 16.
func scores4(q *[4][]float32, k []float32, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd-1], out[4*n-1], q[3][hd-1]
	_, _, _ = q[0][hd-1], q[1][hd-1], q[2][hd-1]
	if hd%16 != 0 {
		scores4Generic(q, k, ldk, n, out)
		return
	}
	scores4NEON(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4 adds Σ_{j<n} p[4j+h]·v[j·ldv : j·ldv+hd] to out[h·hd : (h+1)·hd]
// for h < 4: values4NEON where hd is a multiple of 16.
func values4(p, v []float32, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd-1], out[4*hd-1]
	if hd%16 != 0 {
		values4Generic(p, v, ldv, hd, n, out)
		return
	}
	values4NEON(&p[0], &v[0], ldv, hd, n, &out[0])
}

// scores4Q8 is scores4 over Q8_0 keys (see scores4Q8Generic):
// scores4Q8NEON where hd is a multiple of 32.
func scores4Q8(q *[4][]float32, k []byte, ldk, n int, out []float32) {
	hd := len(q[0])
	if n == 0 {
		return
	}
	_, _, _ = k[(n-1)*ldk+hd/32*34-1], out[4*n-1], q[3][hd-1]
	_, _, _ = q[0][hd-1], q[1][hd-1], q[2][hd-1]
	if hd%32 != 0 {
		scores4Q8Generic(q, k, ldk, n, out)
		return
	}
	scores4Q8NEON(&q[0][0], &q[1][0], &q[2][0], &q[3][0], &k[0], ldk, hd, n, &out[0])
}

// values4Q8 is values4 over Q8_0 values (see values4Q8Generic):
// values4Q8NEON where hd is a multiple of 32.
func values4Q8(p []float32, v []byte, ldv, hd, n int, out []float32) {
	if n == 0 {
		return
	}
	_, _, _ = p[4*n-1], v[(n-1)*ldv+hd/32*34-1], out[4*hd-1]
	if hd%32 != 0 {
		values4Q8Generic(p, v, ldv, hd, n, out)
		return
	}
	values4Q8NEON(&p[0], &v[0], ldv, hd, n, &out[0])
}

// scores4NEON is scores4 for hd a multiple of 16 and n ≥ 1 (NEON,
// vec_arm64.s).
//
//go:noescape
func scores4NEON(q0, q1, q2, q3, k *float32, ldk, hd, n int, out *float32)

// values4NEON is values4 for hd a multiple of 16 and n ≥ 1 (NEON,
// vec_arm64.s).
//
//go:noescape
func values4NEON(p, v *float32, ldv, hd, n int, out *float32)

// scores4Q8NEON is scores4Q8 for hd a multiple of 32 and n ≥ 1 (NEON,
// vec_arm64.s; ldk in bytes).
//
//go:noescape
func scores4Q8NEON(q0, q1, q2, q3 *float32, k *byte, ldk, hd, n int, out *float32)

// values4Q8NEON is values4Q8 for hd a multiple of 32 and n ≥ 1 (NEON,
// vec_arm64.s; ldv in bytes).
//
//go:noescape
func values4Q8NEON(p *float32, v *byte, ldv, hd, n int, out *float32)
