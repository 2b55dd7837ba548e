// Package simd holds the float32 element-wise kernels of the quantized
// transformer ops in onnx/exec: the exact GELU of BiasGelu, the dynamic
// quantization of activations to uint8, dequantization, the epilogues of
// an int8 matrix product and uint8 row sums.
//
// Each kernel has a pure-Go reference in this file (the *Generic
// functions) that is its specification; the exported functions run the
// AVX-512 assembly on whole vectors of 16 elements where the CPU has it
// (and, for Argmax, ExpSub, Softmax and LogSumExp, AVX2 assembly on CPUs
// without it and NEON assembly on arm64) and the reference on the rest.
// The assembly performs the reference's float32 operations in the same
// order with the same rounding (no fused multiply-add), so both give
// bit-identical results; the tests check that on random data with
// extremes, infinities and NaNs.
package simd

import "math"

// roundMagic is 1.5·2²³: for |f| ≤ 2²², (f + roundMagic) − roundMagic is f
// rounded to the nearest integer, ties to even, in float32 arithmetic.
const roundMagic = 12582912

// ExpNeg returns e^y for y ≤ 0 in float32 (relative error below 3e-7),
// 0 below −87 and for NaN: y = n·ln2 + r with |r| ≤ ln2/2, a degree-6
// Taylor polynomial for e^r, scaled by 2^n through the exponent bits.
func ExpNeg(y float32) float32 {
	if !(y >= -87) {
		return 0
	}
	const log2e, ln2hi, ln2lo = 1.442695, 0.693359375, -2.12194440e-4
	n := float32(int32(y*log2e - 0.5))
	r := y - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Erf is the error function in float32 with absolute error below 5e-7
// (Abramowitz and Stegun 7.1.26 with ExpNeg).
func Erf(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	t := 1 / (1 + 0.3275911*a)
	y := 1 - t*(0.254829592+t*(-0.284496736+t*(1.421413741+t*(-1.453152027+t*1.061405429))))*ExpNeg(-a*a)
	if x < 0 {
		return -y
	}
	return y
}

// biasGeluGeneric sets dst[i] = GELU(x[i] + bias[i]) = ½·v·(1 + Erf(v/√2)).
func biasGeluGeneric(dst, x, bias []float32) {
	for i, v := range x {
		v += bias[i]
		dst[i] = 0.5 * v * (1 + Erf(v*(1/math.Sqrt2)))
	}
}

// minMaxGeneric returns the least and greatest of 0 and the elements of x,
// skipping NaNs.
func minMaxGeneric(x []float32, lo, hi float32) (float32, float32) {
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// quantizeGeneric sets dst[i] = clamp(round(x[i]/scale) + z, lo, hi)
// (ties to even; a NaN quotient gives lo) and nan where x[i] is NaN, as a
// byte (uint8 codes, or int8 codes in two's complement).
func quantizeGeneric(dst []uint8, x []float32, scale, z, lo, hi float32, nan int32) {
	for i, v := range x {
		f := v / scale
		f = (f + roundMagic) - roundMagic + z
		if !(f >= lo) {
			f = lo
		}
		c := int32(min(f, hi))
		if v != v {
			c = nan
		}
		dst[i] = uint8(c)
	}
}

// dequantizeU8Generic sets dst[i] = float32(x[i] − z)·scale.
func dequantizeU8Generic(dst []float32, x []uint8, z int32, scale float32) {
	for i, c := range x {
		dst[i] = float32(int32(c)-z) * scale
	}
}

// dequantizeI8Generic sets dst[i] = float32(x[i] − z)·scale.
func dequantizeI8Generic(dst []float32, x []int8, z int32, scale float32) {
	for i, c := range x {
		dst[i] = float32(int32(c)-z) * scale
	}
}

// sumU8Generic returns Σ x[i].
func sumU8Generic(x []uint8) int32 {
	var s int32
	for _, v := range x {
		s += int32(v)
	}
	return s
}

// accF32Generic sets dst[j] = float32(acc[j] + add − sub[j])·mult[j]
// (+ bias[j] when bias is not nil), the integer part wrapping.
func accF32Generic(dst []float32, acc []int32, add int32, sub []int32, mult, bias []float32) {
	if bias == nil {
		for j, v := range acc {
			dst[j] = float32(v+add-sub[j]) * mult[j]
		}
		return
	}
	for j, v := range acc {
		dst[j] = float32(v+add-sub[j])*mult[j] + bias[j]
	}
}

// requantGeneric sets dst[j] = round(clamp(float32(acc[j] + add −
// sub[j])·mult[j], lo, hi)) + z (ties to even) as a byte.
func requantGeneric(dst []uint8, acc []int32, add int32, sub []int32, mult []float32, lo, hi float32, z int32) {
	for j, v := range acc {
		f := min(max(float32(v+add-sub[j])*mult[j], lo), hi)
		dst[j] = uint8(int32((f+roundMagic)-roundMagic) + z)
	}
}

// BiasGelu sets dst[i] = GELU(x[i] + bias[i]) with the exact (erf) GELU
// computed by Erf. x, bias and dst have the same length (dst may be x).
func BiasGelu(dst, x, bias []float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_, _ = dst[n-1], bias[n-1]
			biasGeluAVX512(&dst[0], &x[0], &bias[0], n/16)
		}
	}
	biasGeluGeneric(dst[n:len(x)], x[n:], bias[n:len(x)])
}

// MinMax returns the least and greatest of 0 and the elements of x, NaNs
// skipped (the range DynamicQuantizeLinear quantizes).
func MinMax(x []float32) (lo, hi float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			var out [32]float32
			minMaxAVX512(&x[0], n/16, &out)
			lo, hi = minMaxGeneric(out[:16], 0, 0)
			_, hi = minMaxGeneric(out[16:], 0, hi)
		}
	}
	return minMaxGeneric(x[n:], lo, hi)
}

// Quantize sets dst[i] = clamp(round(x[i]/scale) + z, lo, hi) (ties to
// even, as ONNX QuantizeLinear; a NaN quotient gives lo), and nan where
// x[i] is NaN, stored as a byte: lo, hi, z and nan are uint8 or int8 codes
// (int8 codes in two's complement). dst and x have the same length.
func Quantize(dst []uint8, x []float32, scale float32, z, lo, hi, nan int32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_ = dst[n-1]
			p := quantArgs{scale: scale, z: float32(z), lo: float32(lo), hi: float32(hi), nan: nan}
			quantizeAVX512(&dst[0], &x[0], n/16, &p)
		}
	}
	quantizeGeneric(dst[n:len(x)], x[n:], scale, float32(z), float32(lo), float32(hi), nan)
}

// quantArgs are Quantize's parameters for the assembly (fixed offsets).
type quantArgs struct {
	scale, z, lo, hi float32
	nan              int32
}

// DequantizeU8 sets dst[i] = float32(x[i] − z)·scale.
func DequantizeU8(dst []float32, x []uint8, z int32, scale float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_ = dst[n-1]
			dequantizeU8AVX512(&dst[0], &x[0], n/16, z, scale)
		}
	}
	dequantizeU8Generic(dst[n:len(x)], x[n:], z, scale)
}

// DequantizeI8 sets dst[i] = float32(x[i] − z)·scale.
func DequantizeI8(dst []float32, x []int8, z int32, scale float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_ = dst[n-1]
			dequantizeI8AVX512(&dst[0], &x[0], n/16, z, scale)
		}
	}
	dequantizeI8Generic(dst[n:len(x)], x[n:], z, scale)
}

// SumU8 returns Σ x[i] in int32.
func SumU8(x []uint8) int32 {
	n := 0
	var s int32
	if hasAVX512 {
		n = len(x) &^ 63
		if n > 0 {
			s = sumU8AVX512(&x[0], n/64)
		}
	}
	return s + sumU8Generic(x[n:])
}

// AccF32 sets dst[j] = float32(acc[j] + add − sub[j])·mult[j], plus
// bias[j] when bias is not nil (the integer sum wrapping): the float
// epilogue of an integer product with its zero-point terms. sub, mult,
// bias and dst are at least as long as acc.
func AccF32(dst []float32, acc []int32, add int32, sub []int32, mult, bias []float32) {
	n := 0
	if hasAVX512 {
		n = len(acc) &^ 15
		if n > 0 {
			_, _, _ = dst[n-1], sub[n-1], mult[n-1]
			var b *float32
			if bias != nil {
				_ = bias[n-1]
				b = &bias[0]
			}
			accF32AVX512(&dst[0], &acc[0], n/16, add, &sub[0], &mult[0], b)
		}
	}
	m := len(acc)
	if bias != nil {
		bias = bias[n:m]
	}
	accF32Generic(dst[n:m], acc[n:], add, sub[n:m], mult[n:m], bias)
}

// Requant sets dst[j] = round(clamp(float32(acc[j] + add − sub[j])·mult[j],
// lo, hi)) + z (ties to even, as ONNX Runtime's requantization), stored as
// a byte: lo and hi bound the code minus z. sub, mult and dst are at least
// as long as acc; mult must hold no NaN.
func Requant(dst []uint8, acc []int32, add int32, sub []int32, mult []float32, lo, hi float32, z int32) {
	n := 0
	if hasAVX512 {
		n = len(acc) &^ 15
		if n > 0 {
			_, _, _ = dst[n-1], sub[n-1], mult[n-1]
			p := requantArgs{add: add, z: z, lo: lo, hi: hi}
			requantAVX512(&dst[0], &acc[0], n/16, &sub[0], &mult[0], &p)
		}
	}
	m := len(acc)
	requantGeneric(dst[n:m], acc[n:], add, sub[n:m], mult[n:m], lo, hi, z)
}

// requantArgs are the scalar parameters of Requant and RequantDequant
// for the assembly.
type requantArgs struct {
	add, z int32
	lo, hi float32
	z2     int32
	s2     float32
}

// Exp is e^x in float32 for every x (relative error about 1e-7): x = n·ln2
// + r with |r| ≤ ln2/2, a degree-7 polynomial for e^r scaled by 2^n;
// outside [−87.33654, 88.72283] (and for NaN) math.Exp rounded to float32.
// It is the exponential of compute's Softmax, which SoftmaxRow matches.
func Exp(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln 2 split so that n·ln2hi is exact
		ln2lo = -2.12194440e-4
		magic = 12582912 // 1.5·2^23: adding and subtracting rounds to an integer
	)
	if !(x >= -87.33654 && x <= 88.72283) {
		return float32(math.Exp(float64(x)))
	}
	// Each product is rounded to float32 before the next step (the
	// conversions keep arm64 from fusing multiply and add), so that Exp
	// gives the same bits on every CPU, the vector kernels' included.
	fn := (float32(x*log2e) + magic) - magic
	r := x - float32(fn*ln2hi) - float32(fn*ln2lo)
	y := float32(1.9875691500e-4 * r)
	y = float32((y + 1.3981999507e-3) * r)
	y = float32((y + 8.3334519073e-3) * r)
	y = float32((y + 4.1665795894e-2) * r)
	y = float32((y + 1.6666665459e-1) * r)
	y += 5.0000001201e-1
	y = float32(float32(y*r)*r) + r + 1
	n := int32(fn)
	if n > 127 { // 2^128 is not a float32: scale in two steps
		return y * 2 * math.Float32frombits(uint32(n+126)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// softmaxGeneric sets y = softmax(x) over the row: m = max x (NaN if any
// element is NaN), e_i = Exp(x_i − m), y_i = e_i·float32(1/Σe) with the
// sum in float64.
func softmaxGeneric(y, x []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	m := x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	var s float64
	for i, v := range x {
		ev := Exp(v - m)
		y[i] = ev
		s += float64(ev)
	}
	inv := float32(1 / s)
	for i := range y {
		y[i] *= inv
	}
}

// Softmax sets y = softmax(x) over the row as softmaxGeneric does, y and
// x of the same length (y may be x). The vector path adds the float64
// sum in another order (the result may differ from the reference's in
// the last bit of 1/Σe, about once in 10⁸ rows); rows with a NaN or
// infinite maximum go to the reference.
func Softmax(y, x []float32) {
	if len(x) == 0 {
		return
	}
	_, s, ok := expSum(y, x)
	if !ok {
		softmaxGeneric(y, x)
		return
	}
	n := len(x) &^ 15
	inv := float32(1 / s)
	switch {
	case n == 0:
	case hasAVX512:
		scaleAVX512(&y[0], n/16, inv)
	case hasNEON:
		scaleNEON(&y[0], n/16, inv)
	default:
		scaleAVX2(&y[0], n/16, inv)
	}
	for i := n; i < len(x); i++ {
		y[i] *= inv
	}
}

// LogSumExp returns log Σ e^x over the row (−Inf for an empty one), with
// e^(x−max) as ExpSub computes it into scratch (len(x) values) and the
// sum in float64. A NaN gives NaN, an infinite maximum that maximum.
func LogSumExp(x, scratch []float32) float64 {
	m, s := ExpSub(scratch, x)
	if mf := float64(m); mf != mf || math.IsInf(mf, 0) {
		return mf
	}
	return float64(m) + math.Log(s)
}

// ExpSub sets y_i = e^(x_i − m), m = max x, as Softmax computes it (y may
// be x), and returns m and Σ y_i in float64: an unnormalized softmax. A
// row with a NaN or infinite maximum gives y unset and sum NaN or Inf.
func ExpSub(y, x []float32) (m float32, sum float64) {
	if len(x) == 0 {
		return float32(math.Inf(-1)), 0
	}
	m, s, ok := expSum(y, x)
	if ok {
		return m, s
	}
	m = x[0]
	for _, v := range x[1:] {
		if v > m || v != v {
			m = v
		}
	}
	if m != m || math.IsInf(float64(m), 0) {
		return m, float64(m)
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = Exp(v - m)
		s += float64(y[i])
	}
	return m, s
}

// expSum sets y_i = Exp(x_i − m), m = max x, and returns m and Σ y_i in
// float64, by the vector kernels (AVX-512, AVX2 or NEON: the same 16 lanes
// and sums); ok is false (and y unset) without them, for rows shorter than
// 16 or with a NaN or infinite maximum.
func expSum(y, x []float32) (m float32, s float64, ok bool) {
	return expSumWith(y, x, hasAVX512)
}

// expSumWith is expSum with the AVX-512 kernels (avx512) or else the NEON
// or AVX2 ones; the CPU must have them.
func expSumWith(y, x []float32, avx512 bool) (m float32, s float64, ok bool) {
	n := len(x) &^ 15
	if !(avx512 || hasAVX2 || hasNEON) || n == 0 {
		return 0, 0, false
	}
	_ = y[len(x)-1]
	var lanes [16]float32
	switch {
	case avx512:
		maxAVX512(&x[0], n/16, &lanes)
	case hasNEON:
		maxNEON(&x[0], n/16, &lanes)
	default:
		maxAVX2(&x[0], n/16, &lanes)
	}
	m = x[n-1]
	for _, v := range lanes {
		if v > m || v != v {
			m = v
		}
	}
	for _, v := range x[n:] {
		if v > m || v != v {
			m = v
		}
	}
	if m != m || math.IsInf(float64(m), 0) {
		return m, 0, false
	}
	var sums [16]float64
	var slow int
	switch {
	case avx512:
		slow = expSubAVX512(&y[0], &x[0], n/16, m, &sums)
	case hasNEON:
		slow = expSubNEON(&y[0], &x[0], n/16, m, &sums)
	default:
		slow = expSubAVX2(&y[0], &x[0], n/16, m, &sums)
	}
	for _, v := range sums {
		s += v
	}
	if slow > 0 {
		// lanes outside the polynomial's range hold x − m (< 0)
		for i, v := range y[:n] {
			if v < 0 {
				y[i] = Exp(v)
				s += float64(y[i])
			}
		}
	}
	for i, v := range x[n:] {
		ev := Exp(v - m)
		y[n+i] = ev
		s += float64(ev)
	}
	return m, s, true
}

// addGeneric sets dst[i] = x[i] + y[i].
func addGeneric(dst, x, y []float32) {
	for i, v := range x {
		dst[i] = v + y[i]
	}
}

// Add sets dst[i] = x[i] + y[i]; x, y and dst have the same length (dst
// may be x or y).
func Add(dst, x, y []float32) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 15
		if n > 0 {
			_, _ = dst[n-1], y[n-1]
			addAVX512(&dst[0], &x[0], &y[0], n/16)
		}
	}
	addGeneric(dst[n:len(x)], x[n:], y[n:len(x)])
}

// layerNormGeneric normalizes the row x into y: with μ the mean of x (0
// when simplified) and σ² the mean of (x−μ)², both in float64, y[j] =
// (x[j]−μ)·(1/√(σ²+eps))·g[j] + b[j] (b nil: no bias) rounded once to
// float32. It returns μ and 1/√(σ²+eps).
func layerNormGeneric(y, x, g, b []float32, eps float32, simplified bool) (mean, inv float64) {
	mu := 0.0
	if !simplified {
		for _, v := range x {
			mu += float64(v)
		}
		mu /= float64(len(x))
	}
	ss := 0.0
	for _, v := range x {
		d := float64(v) - mu
		ss += d * d
	}
	is := 1 / math.Sqrt(ss/float64(len(x))+float64(eps))
	normGeneric(y, x, g, b, mu, is)
	return mu, is
}

// normGeneric sets y[j] = (x[j]−mu)·is·g[j] + b[j] in float64, rounded to
// float32 (b nil: no bias).
func normGeneric(y, x, g, b []float32, mu, is float64) {
	for j, v := range x {
		o := (float64(v) - mu) * is * float64(g[j])
		if b != nil {
			o += float64(b[j])
		}
		y[j] = float32(o)
	}
}

// LayerNorm is layerNormGeneric with the sums of the mean and the variance
// added eight lanes at a time (μ and σ² may differ from the reference's in
// the last bits of their float64 values, which shows in a float32 output
// about once in 10⁸ elements). y, x, g and b (unless nil) have the same
// length.
func LayerNorm(y, x, g, b []float32, eps float32, simplified bool) (mean, inv float64) {
	n := len(x) &^ 15
	if !hasAVX512 || n == 0 {
		return layerNormGeneric(y, x, g, b, eps, simplified)
	}
	_, _ = y[len(x)-1], g[len(x)-1]
	var lanes [16]float64
	mu := 0.0
	if !simplified {
		sumF64AVX512(&x[0], n/16, &lanes)
		for _, v := range lanes {
			mu += v
		}
		for _, v := range x[n:] {
			mu += float64(v)
		}
		mu /= float64(len(x))
	}
	lanes = [16]float64{}
	sqDevF64AVX512(&x[0], n/16, mu, &lanes)
	ss := 0.0
	for _, v := range lanes {
		ss += v
	}
	for _, v := range x[n:] {
		d := float64(v) - mu
		ss += d * d
	}
	is := 1 / math.Sqrt(ss/float64(len(x))+float64(eps))
	var bp *float32
	var bt []float32
	if b != nil {
		_ = b[len(x)-1]
		bp, bt = &b[0], b[n:len(x)]
	}
	normF64AVX512(&y[0], &x[0], &g[0], bp, n/16, mu, is)
	normGeneric(y[n:len(x)], x[n:], g[n:len(x)], bt, mu, is)
	return mu, is
}

// requantDequantGeneric sets dst[j] = float32(q − z2)·s2 where q =
// round(clamp(float32(acc[j] + add − sub[j])·mult[j], lo, hi)) + z: the
// code requantGeneric makes, dequantized (a QLinearMatMul and the
// DequantizeLinear of its output in one pass).
func requantDequantGeneric(dst []float32, acc []int32, add int32, sub []int32, mult []float32, lo, hi float32, z, z2 int32, s2 float32) {
	for j, v := range acc {
		f := min(max(float32(v+add-sub[j])*mult[j], lo), hi)
		q := int32((f+roundMagic)-roundMagic) + z
		dst[j] = float32(q-z2) * s2
	}
}

// RequantDequant sets dst[j] = float32(q − z2)·s2 with q the code Requant
// makes for acc[j] (lo, hi and z as there, q not narrowed to a byte: it
// lies in [lo+z, hi+z]). sub, mult and dst are at least as long as acc;
// mult must hold no NaN.
func RequantDequant(dst []float32, acc []int32, add int32, sub []int32, mult []float32, lo, hi float32, z, z2 int32, s2 float32) {
	n := 0
	if hasAVX512 {
		n = len(acc) &^ 15
		if n > 0 {
			_, _, _ = dst[n-1], sub[n-1], mult[n-1]
			p := requantArgs{add: add, z: z, lo: lo, hi: hi, z2: z2, s2: s2}
			requantDequantAVX512(&dst[0], &acc[0], n/16, &sub[0], &mult[0], &p)
		}
	}
	m := len(acc)
	requantDequantGeneric(dst[n:m], acc[n:], add, sub[n:m], mult[n:m], lo, hi, z, z2, s2)
}

// rowsArgs are the arguments of the row-block forms of the epilogues for
// the assembly: rows rows of blocks·16 columns, strides in bytes.
type rowsArgs struct {
	dst    *float32
	ldd    int
	acc    *int32
	lda    int
	rows   int
	blocks int
	add    *int32 // one per row
	sub    *int32
	mult   *float32
	bias   *float32 // AccF32Rows: nil for none
	lo, hi float32
	z, z2  int32
	s2     float32
	_      int32
}

// RequantDequantRows is RequantDequant on rows rows: row r of dst, acc
// and add starts at r·ldd, r·lda and r; sub and mult (len(mult) columns)
// are shared by the rows.
func RequantDequantRows(dst []float32, ldd int, acc []int32, lda, rows int, add, sub []int32, mult []float32, lo, hi float32, z, z2 int32, s2 float32) {
	cols := len(mult)
	if rows <= 0 || cols == 0 {
		return
	}
	_, _, _, _ = dst[(rows-1)*ldd+cols-1], acc[(rows-1)*lda+cols-1], add[rows-1], sub[cols-1]
	n := 0
	if hasAVX512 {
		n = cols &^ 15
		if n > 0 {
			p := rowsArgs{dst: &dst[0], ldd: 4 * ldd, acc: &acc[0], lda: 4 * lda, rows: rows, blocks: n / 16, add: &add[0], sub: &sub[0], mult: &mult[0], lo: lo, hi: hi, z: z, z2: z2, s2: s2}
			requantDequantRowsAVX512(&p)
		}
	}
	if n < cols {
		for r := 0; r < rows; r++ {
			requantDequantGeneric(dst[r*ldd+n:r*ldd+cols], acc[r*lda+n:r*lda+cols], add[r], sub[n:cols], mult[n:cols], lo, hi, z, z2, s2)
		}
	}
}

// AccF32Rows is AccF32 on rows rows: row r of dst, acc and add starts at
// r·ldd, r·lda and r; sub, mult and bias (len(mult) columns; bias may be
// nil) are shared by the rows.
func AccF32Rows(dst []float32, ldd int, acc []int32, lda, rows int, add, sub []int32, mult, bias []float32) {
	cols := len(mult)
	if rows <= 0 || cols == 0 {
		return
	}
	_, _, _, _ = dst[(rows-1)*ldd+cols-1], acc[(rows-1)*lda+cols-1], add[rows-1], sub[cols-1]
	n := 0
	if hasAVX512 {
		n = cols &^ 15
		if n > 0 {
			p := rowsArgs{dst: &dst[0], ldd: 4 * ldd, acc: &acc[0], lda: 4 * lda, rows: rows, blocks: n / 16, add: &add[0], sub: &sub[0], mult: &mult[0]}
			if bias != nil {
				_ = bias[cols-1]
				p.bias = &bias[0]
			}
			accF32RowsAVX512(&p)
		}
	}
	if n < cols {
		var b []float32
		if bias != nil {
			b = bias[n:cols]
		}
		for r := 0; r < rows; r++ {
			accF32Generic(dst[r*ldd+n:r*ldd+cols], acc[r*lda+n:r*lda+cols], add[r], sub[n:cols], mult[n:cols], b)
		}
	}
}
