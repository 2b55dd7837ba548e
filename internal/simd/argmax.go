package simd

import "math"

// argmaxGeneric is the specification of Argmax: the index of the first NaN
// of x (nan true), or else of the first largest value (0 for an empty x
// or one of −Inf only).
func argmaxGeneric(x []float32) (i int, nan bool) {
	best, mx := 0, float32(math.Inf(-1))
	for i, v := range x {
		if v > mx {
			best, mx = i, v
		} else if v != v {
			return i, true
		}
	}
	return best, false
}

// Argmax returns the index of the first largest value of x — greedy
// decoding's token — or, with nan true, the index of the first NaN (which
// no ranking can place). On AVX-512 (vectors of 16), AVX2 (of 8) and
// NEON (blocks of 16) it takes the maximum of the whole vectors and then
// finds its first occurrence (two passes: for a 262144-token vocabulary
// about 15 µs on AVX-512 and 16 µs on AVX2, against 220 µs for the scalar
// loop); a NaN among them sends it to argmaxGeneric.
func Argmax(x []float32) (i int, nan bool) { return argmaxWidth(x, argmaxVector()) }

// argmaxVector returns the widest vector Argmax has a kernel for on this
// CPU: 16 (AVX-512, or NEON's blocks of four vectors), 8 (AVX2) or 0
// (none).
func argmaxVector() int {
	switch {
	case hasAVX512, hasNEON:
		return 16
	case hasAVX2:
		return 8
	}
	return 0
}

// argmaxWidth is Argmax with the kernels for vectors of w (16: AVX-512 or
// NEON, 8: AVX2, or 0 for argmaxGeneric alone); the CPU must have them.
func argmaxWidth(x []float32, w int) (i int, nan bool) {
	n := 0
	if w > 0 {
		n = len(x) / w * w
	}
	if n == 0 {
		return argmaxGeneric(x)
	}
	var m float32
	var ok bool
	switch {
	case w == 16 && hasNEON:
		m = maxOrNaNNEON(&x[0], n/w)
		ok = m == m
	case w == 16:
		m, ok = maxOrNaNAVX512(&x[0], n/w)
	default:
		m, ok = maxOrNaNAVX2(&x[0], n/w)
	}
	if !ok {
		return argmaxGeneric(x)
	}
	t, nan := argmaxGeneric(x[n:])
	if nan {
		return n + t, true
	}
	if n < len(x) && x[n+t] > m {
		return n + t, false
	}
	switch {
	case w == 16 && hasNEON:
		// The block holding m first; its first largest value is m's first
		// occurrence.
		b := 16 * firstEqNEON(&x[0], n/w, m)
		t, _ := argmaxGeneric(x[b : b+16])
		return b + t, false
	case w == 16:
		return firstEqAVX512(&x[0], n/w, m), false
	}
	return firstEqAVX2(&x[0], n/w, m), false
}
