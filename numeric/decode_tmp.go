package numeric

import "math"

// Float32 returns f as a float32 (exact).
func (f Float16) Float32() float32 {
	h := uint32(f.bits)
	sign := (h >> 15) << 31
	exp := (h >> 10) & 0x1f
	man := h & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	v := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		return -v
	}
	return v
}

// Float32 returns b as a float32 (exact).
func (b BFloat16) Float32() float32 { return math.Float32frombits(uint32(b.bits) << 16) }

// Float32 returns f as a float32 (exact).
func (f Float8E4M3FN) Float32() float32 {
	s := f.bits >> 7
	e := int(f.bits>>3) & 0xf
	m := float32(f.bits & 7)
	var v float32
	switch {
	case e == 0xf && f.bits&7 == 7:
		return float32(math.NaN())
	case e == 0:
		v = m / 8 * (1.0 / 64)
	default:
		v = (1 + m/8) * float32(math.Ldexp(1, e-7))
	}
	if s != 0 {
		return -v
	}
	return v
}

// Float32 returns f as a float32 (exact).
func (f Float8E5M2) Float32() float32 {
	return Float16{bits: uint16(f.bits) << 8}.Float32()
}
