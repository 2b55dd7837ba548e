package numeric

import "math"

// BFloat16 constants.
const (
	bf16SignMask = 0x8000
	bf16Inf      = 0x7f80
	bf16QuietNaN = 0x7fc0
	bf16MaxBits  = 0x7f7f
)

// BFloat16FromFloat32 returns the BFloat16 nearest to f (ties to even):
// float32 rounded to its top 16 bits. Values of magnitude at least
// max + ulp(max)/2 (about 3.3961e38) become ±Inf and NaN stays NaN.
func BFloat16FromFloat32(f float32) BFloat16 {
	x := math.Float32bits(f)
	if x&0x7fffffff > 0x7f800000 {
		return BFloat16{uint16(x>>16) | 0x40} // NaN: set the quiet bit
	}
	// Round to nearest even; the carry runs into the exponent and from the
	// largest finite value into Inf.
	x += 0x7fff + (x>>16)&1
	return BFloat16{uint16(x >> 16)}
}

// BFloat16FromFloat64 returns the BFloat16 nearest to f, rounding once (ties
// to even); overflow gives ±Inf and NaN stays NaN.
func BFloat16FromFloat64(f float64) BFloat16 {
	x := math.Float64bits(f)
	sign := uint16(x>>48) & bf16SignMask
	a := x &^ (1 << 63)
	if a >= 0x7ff0000000000000 {
		if a > 0x7ff0000000000000 {
			return BFloat16{sign | bf16QuietNaN | uint16(a>>45)&0x7f}
		}
		return BFloat16{sign | bf16Inf}
	}
	r := roundMagnitude(a, 7, 127)
	if r > bf16MaxBits {
		r = bf16Inf
	}
	return BFloat16{sign | uint16(r)}
}

// BFloat16FromBits returns the BFloat16 whose encoding is b (the top 16
// bits of an IEEE 754 binary32).
func BFloat16FromBits(b uint16) BFloat16 { return BFloat16{b} }

// Bits returns the encoding of b.
func (b BFloat16) Bits() uint16 { return b.bits }

// Float32 returns b as a float32 (exact).
func (b BFloat16) Float32() float32 { return math.Float32frombits(uint32(b.bits) << 16) }

// Float64 returns b as a float64 (exact).
func (b BFloat16) Float64() float64 { return float64(b.Float32()) }

// IsNaN reports whether b is a NaN.
func (b BFloat16) IsNaN() bool { return b.bits&0x7fff > bf16Inf }

// IsInf reports whether b is an infinity, according to sign: sign > 0 asks
// for +Inf, sign < 0 for -Inf, and sign == 0 for either.
func (b BFloat16) IsInf(sign int) bool {
	return b.bits == bf16Inf && sign >= 0 || b.bits == bf16SignMask|bf16Inf && sign <= 0
}

// String returns the shortest decimal form that converts back to b, such as
// "0.333984375" → "0.334", "NaN" or "-Inf".
func (b BFloat16) String() string {
	return shortest(b.Float64(), func(v float64) bool { return BFloat16FromFloat64(v) == b })
}
