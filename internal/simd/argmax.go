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
// no ranking can place). On AVX-512 it takes the maximum of the whole
// vectors of 16 and then finds its first occurrence (two passes, about
// 15 µs for a 262144-token vocabulary against 200 µs for the scalar
// loop); a NaN among them sends it to argmaxGeneric.
func Argmax(x []float32) (i int, nan bool) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
	}
	if n == 0 {
		return argmaxGeneric(x)
	}
	m, ok := maxOrNaNAVX512(&x[0], n/16)
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
	return firstEqAVX512(&x[0], n/16, m), false
}
