package numeric

import "math"

// Float8E4M3FN constants: bias 7, no infinities, S.1111.111 is NaN.
const (
	e4m3SignMask = 0x80
	e4m3NaN      = 0x7f
	e4m3MaxBits  = 0x7e // 448
)

// Float8E5M2 constants: bias 15, IEEE-like.
const (
	e5m2SignMask = 0x80
	e5m2Inf      = 0x7c
	e5m2QuietNaN = 0x7e
	e5m2MaxBits  = 0x7b // 57344
)

// Float8E4M3FNFromFloat32 returns the Float8E4M3FN nearest to f (ties to
// even). E4M3FN has no infinities, so this follows ONNX Cast with
// saturate=1 (the default): finite values beyond ±448 and ±Inf saturate to
// ±448, and NaN becomes NaN (0x7F, or 0xFF when the sign bit is set).
func Float8E4M3FNFromFloat32(f float32) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(float64(f))
}

// Float8E4M3FNFromFloat64 returns the Float8E4M3FN nearest to f (ties to
// even), saturating like Float8E4M3FNFromFloat32.
func Float8E4M3FNFromFloat64(f float64) Float8E4M3FN {
	x := math.Float64bits(f)
	sign := uint8(x>>56) & e4m3SignMask
	a := x &^ (1 << 63)
	switch {
	case a > 0x7ff0000000000000:
		return Float8E4M3FN{sign | e4m3NaN}
	case a == 0x7ff0000000000000:
		return Float8E4M3FN{sign | e4m3MaxBits}
	}
	r := roundMagnitude(a, 3, 7)
	if r > e4m3MaxBits {
		r = e4m3MaxBits
	}
	return Float8E4M3FN{sign | uint8(r)}
}

// Float8E4M3FNFromBits returns the Float8E4M3FN whose encoding is b.
func Float8E4M3FNFromBits(b uint8) Float8E4M3FN { return Float8E4M3FN{b} }

// Bits returns the encoding of f.
func (f Float8E4M3FN) Bits() uint8 { return f.bits }

// Float32 returns f as a float32 (exact; NaN keeps its sign).
func (f Float8E4M3FN) Float32() float32 {
	sign := uint32(f.bits&e4m3SignMask) << 24
	e := uint32(f.bits>>3) & 0xf
	m := uint32(f.bits & 7)
	switch {
	case f.bits&0x7f == e4m3NaN:
		return math.Float32frombits(sign | 0x7fc00000)
	case e != 0:
		return math.Float32frombits(sign | (e+127-7)<<23 | m<<20)
	}
	// Subnormal (or zero): m·2^-9.
	return math.Float32frombits(sign | math.Float32bits(float32(m)*(1.0/(1<<9))))
}

// Float64 returns f as a float64 (exact).
func (f Float8E4M3FN) Float64() float64 { return float64(f.Float32()) }

// IsNaN reports whether f is a NaN.
func (f Float8E4M3FN) IsNaN() bool { return f.bits&0x7f == e4m3NaN }

// String returns the shortest decimal form that converts back to f, such as
// "448" or "NaN".
func (f Float8E4M3FN) String() string {
	return shortest(f.Float64(), func(v float64) bool { return Float8E4M3FNFromFloat64(v) == f })
}

// Float8E5M2FromFloat32 returns the Float8E5M2 nearest to f (ties to even);
// values of magnitude at least 61440 (57344 + ulp/2) become ±Inf, ±Inf stays
// ±Inf and NaN stays NaN.
func Float8E5M2FromFloat32(f float32) Float8E5M2 {
	return Float8E5M2FromFloat64(float64(f))
}

// Float8E5M2FromFloat64 returns the Float8E5M2 nearest to f (ties to even),
// with the overflow rules of Float8E5M2FromFloat32.
func Float8E5M2FromFloat64(f float64) Float8E5M2 {
	x := math.Float64bits(f)
	sign := uint8(x>>56) & e5m2SignMask
	a := x &^ (1 << 63)
	if a >= 0x7ff0000000000000 {
		if a > 0x7ff0000000000000 {
			return Float8E5M2{sign | e5m2QuietNaN | uint8(a>>50)&1}
		}
		return Float8E5M2{sign | e5m2Inf}
	}
	r := roundMagnitude(a, 2, 15)
	if r > e5m2MaxBits {
		r = e5m2Inf
	}
	return Float8E5M2{sign | uint8(r)}
}

// Float8E5M2FromBits returns the Float8E5M2 whose encoding is b.
func Float8E5M2FromBits(b uint8) Float8E5M2 { return Float8E5M2{b} }

// Bits returns the encoding of f.
func (f Float8E5M2) Bits() uint8 { return f.bits }

// Float32 returns f as a float32 (exact). E5M2 is the top byte of a Float16.
func (f Float8E5M2) Float32() float32 { return Float16{uint16(f.bits) << 8}.Float32() }

// Float64 returns f as a float64 (exact).
func (f Float8E5M2) Float64() float64 { return float64(f.Float32()) }

// IsNaN reports whether f is a NaN.
func (f Float8E5M2) IsNaN() bool { return f.bits&0x7f > e5m2Inf }

// IsInf reports whether f is an infinity, according to sign: sign > 0 asks
// for +Inf, sign < 0 for -Inf, and sign == 0 for either.
func (f Float8E5M2) IsInf(sign int) bool {
	return f.bits == e5m2Inf && sign >= 0 || f.bits == e5m2SignMask|e5m2Inf && sign <= 0
}

// String returns the shortest decimal form that converts back to f, such as
// "57344", "NaN" or "+Inf".
func (f Float8E5M2) String() string {
	return shortest(f.Float64(), func(v float64) bool { return Float8E5M2FromFloat64(v) == f })
}
