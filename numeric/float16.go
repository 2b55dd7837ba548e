package numeric

import (
	"math"
	"strconv"
)

// Conversions between float32/float64 and the reduced-precision float types
// (Float16, BFloat16, Float8E4M3FN, Float8E5M2) all follow the same rules:
//
//   - Finite values round to the nearest representable value, ties to even,
//     including correct rounding into subnormals and the carry into the
//     exponent. A float64 is rounded once, directly to the target format (never
//     through float32, which could round twice).
//   - NaN stays NaN: the sign and the top payload bits that fit are kept and the
//     quiet bit is set.
//   - Formats with infinities (Float16, BFloat16, Float8E5M2) map ±Inf to ±Inf,
//     and finite values at or beyond max + ulp(max)/2 overflow to ±Inf, as IEEE
//     754 round-to-nearest requires.
//   - Float8E4M3FN has no infinities; it saturates (see Float8E4M3FNFromFloat32).
//
// Decoding to float32 or float64 is exact for every bit pattern.

// Float16 constants.
const (
	f16SignMask = 0x8000
	f16ExpMask  = 0x7c00
	f16ManMask  = 0x03ff
	f16Inf      = 0x7c00
	f16QuietNaN = 0x7e00
	f16MaxBits  = 0x7bff
)

// rne shifts m right by shift bits, rounding to nearest with ties to even.
// shift must be in [1, 63].
func rne(m uint64, shift uint) uint64 {
	r := m >> shift
	rem := m & (1<<shift - 1)
	half := uint64(1) << (shift - 1)
	if rem > half || rem == half && r&1 == 1 {
		r++
	}
	return r
}

// roundMagnitude returns the bits (biased exponent << manBits | mantissa) of
// the value nearest to the finite, non-negative float64 whose bits are a, in a
// binary format with manBits mantissa bits, exponent bias bias and subnormals
// at biased exponent 0. Ties go to even. The result can exceed the format's
// largest finite encoding; the caller decides between infinity and
// saturation. Every float64 subnormal rounds to zero (true for all formats
// here, whose smallest subnormal is far larger).
func roundMagnitude(a uint64, manBits uint, bias int) uint64 {
	e := int(a >> 52)
	if e == 0 {
		return 0
	}
	mant := a & (1<<52 - 1)
	shift := uint(52 - manBits)
	be := e - 1023 + bias // biased exponent in the target format
	if be >= 1 {
		// The carry out of the mantissa increments the exponent.
		return rne(uint64(be)<<52|mant, shift)
	}
	// Subnormal: the value is m·2^(e-1075); a unit of the result is
	// 2^(1-bias-manBits), so shift by the difference.
	s := shift + uint(1-be)
	if s > 54 {
		return 0 // below half the smallest subnormal
	}
	return rne(mant|1<<52, s)
}

// Float16FromFloat32 returns the Float16 nearest to f (ties to even); values
// of magnitude at least 65520 become ±Inf and NaN stays NaN.
func Float16FromFloat32(f float32) Float16 {
	x := math.Float32bits(f)
	a := x &^ (1 << 31)
	// Fast path, small enough to inline: the result is a normal Float16
	// (2^-14 <= |f| < 65520).
	if a-0x38800000 < 0x477ff000-0x38800000 {
		a -= (127 - 15) << 23  // rebias the exponent
		a += 0xfff + (a>>13)&1 // round to nearest even; may carry into the exponent
		return Float16{uint16(x>>16)&f16SignMask | uint16(a>>13)}
	}
	return float16FromFloat32Slow(x)
}

// float16FromFloat32Slow converts the float32 with bits x when the result is
// not a normal Float16: NaN, infinity, overflow, subnormal or zero.
func float16FromFloat32Slow(x uint32) Float16 {
	sign := uint16(x>>16) & f16SignMask
	x &^= 1 << 31
	switch {
	case x > 0x7f800000: // NaN
		return Float16{sign | f16QuietNaN | uint16(x>>13)&f16ManMask}
	case x >= 0x477ff000: // 65520 = 65504 + ulp/2 and above: Inf
		return Float16{sign | f16Inf}
	case x <= 0x33000000: // 2^-25 (half the smallest subnormal) ties to 0
		return Float16{sign}
	}
	// Subnormal result: the value is m·2^(e-150) and a unit is 2^-24.
	e := x >> 23
	m := uint64(x&0x7fffff | 0x800000)
	return Float16{sign | uint16(rne(m, uint(126-e)))}
}

// Float16FromFloat64 returns the Float16 nearest to f, rounding once (ties
// to even); values of magnitude at least 65520 become ±Inf and NaN stays NaN.
func Float16FromFloat64(f float64) Float16 {
	x := math.Float64bits(f)
	sign := uint16(x>>48) & f16SignMask
	a := x &^ (1 << 63)
	if a >= 0x7ff0000000000000 {
		if a > 0x7ff0000000000000 {
			return Float16{sign | f16QuietNaN | uint16(a>>42)&f16ManMask}
		}
		return Float16{sign | f16Inf}
	}
	r := roundMagnitude(a, 10, 15)
	if r > f16MaxBits {
		r = f16Inf
	}
	return Float16{sign | uint16(r)}
}

// Float16FromBits returns the Float16 whose IEEE 754 binary16 encoding is b.
func Float16FromBits(b uint16) Float16 { return Float16{b} }

// Bits returns the IEEE 754 binary16 encoding of f.
func (f Float16) Bits() uint16 { return f.bits }

// Float32 returns f as a float32 (exact; NaN payloads are kept).
func (f Float16) Float32() float32 {
	h := uint32(f.bits)
	o := (h & 0x7fff) << 13 // exponent and mantissa in float32 position
	exp := o & 0x0f800000
	o += (127 - 15) << 23 // rebias
	switch exp {
	case 0x0f800000: // Inf or NaN
		o += (128 - 16) << 23
	case 0: // zero or subnormal: build 2^-14 + m·2^-24 and subtract 2^-14 (exact)
		o = math.Float32bits(math.Float32frombits(o+1<<23) - 0x1p-14)
	}
	return math.Float32frombits(o | (h&f16SignMask)<<16)
}

// Float64 returns f as a float64 (exact).
func (f Float16) Float64() float64 { return float64(f.Float32()) }

// IsNaN reports whether f is a NaN.
func (f Float16) IsNaN() bool { return f.bits&0x7fff > f16Inf }

// IsInf reports whether f is an infinity, according to sign: sign > 0 asks
// for +Inf, sign < 0 for -Inf, and sign == 0 for either.
func (f Float16) IsInf(sign int) bool {
	return f.bits == f16Inf && sign >= 0 || f.bits == f16SignMask|f16Inf && sign <= 0
}

// String returns the shortest decimal form that converts back to f, such as
// "0.1" or "0.3333"; integers are written in full ("65504"), and NaN and
// infinities as "NaN", "+Inf" and "-Inf".
func (f Float16) String() string {
	return shortest(f.Float64(), func(v float64) bool { return Float16FromFloat64(v) == f })
}

// shortest formats v (an exact decoding of a reduced-precision value) with
// the fewest significant digits for which same reports that the decimal
// reads back as the original value. Integers below 1e16 are written out in
// full.
func shortest(v float64, same func(float64) bool) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e16:
		return strconv.FormatFloat(v, 'f', -1, 64) // integers exactly: "65504"
	}
	for prec := 1; prec < 17; prec++ {
		s := strconv.FormatFloat(v, 'g', prec, 64)
		if p, err := strconv.ParseFloat(s, 64); err == nil && same(p) {
			return s
		}
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
