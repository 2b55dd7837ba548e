package qgemm

import "math"

// quantizeRows quantizes rows [0, rows) of a (row stride k) for the int8
// path as ONNX Runtime's CompInt8 does: per row and per block of bs valid
// elements, scale = max|a|/127 and qa = round-half-even(a·(127/max|a|))
// (all 0 for an all-zero block); positions past k stay 0. qa is
// [rows][kb·bs]; sa and suma are [kb][rows] (block-major).
//
// The loops are branch-free (bit-mask abs, magic-constant rounding) and
// bounds-check free: a data-dependent sign branch per element used to cost
// ~12 ns/element on random activations.
func quantizeRows(a []float32, rows, k, bs int, qa []int8, sa []float32, suma []int32) {
	kb := (k + bs - 1) / bs
	for r := 0; r < rows; r++ {
		quantizeRowFn(a[r*k:(r+1)*k], bs, qa[r*kb*bs:(r+1)*kb*bs], sa[r:], suma[r:], rows)
	}
}

// quantizeRowFn quantizes one row (quantizeRowGo, or its AVX-512, AVX2 or
// NEON version where the CPU has it: bit-identical). sa and suma advance
// by stride per block.
var quantizeRowFn = quantizeRowGo

// quantizeRowGo quantizes row into dst ([kb·bs]) block by block, writing
// the scale and code sum of block b to sa[b·stride] and suma[b·stride].
func quantizeRowGo(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int) {
	k := len(row)
	kb := (k + bs - 1) / bs
	for b := 0; b < kb; b++ {
		src := row[b*bs : min((b+1)*bs, k)]
		am := absMax(src)
		sa[b*stride] = am / 127
		var inv float32
		if am != 0 {
			inv = 127 / am
		}
		out := dst[b*bs : (b+1)*bs]
		suma[b*stride] = quantizeBlock(out[:len(src)], src, inv)
		clear(out[len(src):])
	}
}

// absMax returns max|x| (+0 for an empty or all-zero x; NaN if x holds a
// NaN). Non-negative float32 bit patterns order like their values, so the
// maximum is taken on the sign-cleared bits, in four independent chains.
func absMax(x []float32) float32 {
	var m0, m1, m2, m3 uint32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		m0 = max(m0, math.Float32bits(v[0])&0x7fffffff)
		m1 = max(m1, math.Float32bits(v[1])&0x7fffffff)
		m2 = max(m2, math.Float32bits(v[2])&0x7fffffff)
		m3 = max(m3, math.Float32bits(v[3])&0x7fffffff)
	}
	for ; i < len(x); i++ {
		m0 = max(m0, math.Float32bits(x[i])&0x7fffffff)
	}
	return math.Float32frombits(max(max(m0, m1), max(m2, m3)))
}

// quantizeBlock writes dst[j] = roundEven(src[j]·inv) (len(dst) ==
// len(src)) and returns their sum.
func quantizeBlock(dst []int8, src []float32, inv float32) int32 {
	dst = dst[:len(src)]
	var s0, s1 int32
	i := 0
	for ; i+2 <= len(src); i += 2 {
		v := src[i : i+2 : i+2]
		d := dst[i : i+2 : i+2]
		q0 := roundEven(float32(v[0] * inv))
		q1 := roundEven(float32(v[1] * inv))
		d[0], d[1] = int8(q0), int8(q1)
		s0 += q0
		s1 += q1
	}
	if i < len(src) {
		q := roundEven(float32(src[i] * inv))
		dst[i] = int8(q)
		s0 += q
	}
	return s0 + s1
}

// roundEven rounds x (|x| ≤ 2^22) to the nearest integer, ties to even, and
// clamps it to [−128, 127]. Adding 1.5·2^23 moves any such x into
// [2^23, 2^24), where float32 spacing is 1, so the addition itself rounds
// to nearest-even (1.5·2^23 is even, so parity is preserved); subtracting
// it back is exact. No sign branch is needed. NaN gives −128.
func roundEven(x float32) int32 {
	const magic = 1.5 * (1 << 23)
	y := float32(x+magic) - magic
	return max(-128, min(127, int32(y)))
}
