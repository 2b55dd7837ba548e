package numeric

import (
	"errors"
	"fmt"
	"math"
)

// ErrQuantization is wrapped by every error this package returns for invalid
// quantization parameters, layouts or buffer lengths. Test for it with
// errors.Is.
var ErrQuantization = errors.New("numeric: invalid quantization")

// QuantizationConfig maps float32 values to unsigned integer codes of Bits
// bits (2, 4 or 8) with ONNX QuantizeLinear semantics:
//
//	Quantize(x)   = saturate(roundHalfToEven(x / Scale) + ZeroPoint)
//	Dequantize(q) = float32(q - ZeroPoint) * Scale
//
// where saturate clamps to [0, 2^Bits-1]. The quotient x/Scale is computed
// in float32 and rounded half to even, as ONNX specifies (2.5 -> 2,
// 3.5 -> 4, -2.5 -> -2). A NaN input quantizes to the zero point (so it
// dequantizes to 0); +Inf and -Inf saturate to 2^Bits-1 and 0.
//
// A symmetric config has its zero point at the midpoint 2^(Bits-1) of the
// code range (128 for 8 bits, 8 for 4 bits, 2 for 2 bits), so 0 maps to the
// midpoint and the codes cover [-2^(Bits-1), 2^(Bits-1)-1] steps around it.
//
// The zero value is not usable; build one with NewQuantizationConfig or
// NewQuantizationConfigBits. A config is immutable and safe for concurrent
// use.
type QuantizationConfig struct {
	scale     float32
	zeroPoint int32
	bits      int
	symmetric bool
}

// NewQuantizationConfig returns an 8-bit config (codes 0..255) with the given
// scale and zero point. scale must be finite and > 0; zeroPoint must be in
// [0, 255], and it must be 128 when symmetric is true. The zero point is an
// int so that out-of-range values are reported rather than wrapped.
func NewQuantizationConfig(scale float32, zeroPoint int, symmetric bool) (*QuantizationConfig, error) {
	return NewQuantizationConfigBits(8, scale, zeroPoint, symmetric)
}

// NewQuantizationConfigBits is NewQuantizationConfig for codes of bits bits
// (2, 4 or 8): zeroPoint must be in [0, 2^bits-1] and, when symmetric, equal
// to 2^(bits-1). The error wraps ErrQuantization.
func NewQuantizationConfigBits(bits int, scale float32, zeroPoint int, symmetric bool) (*QuantizationConfig, error) {
	if bits != 2 && bits != 4 && bits != 8 {
		return nil, fmt.Errorf("numeric: quantization bits %d is not 2, 4 or 8: %w", bits, ErrQuantization)
	}
	s := float64(scale)
	if math.IsNaN(s) || math.IsInf(s, 0) || scale <= 0 {
		return nil, fmt.Errorf("numeric: quantization scale %v must be finite and > 0: %w", scale, ErrQuantization)
	}
	maxCode := 1<<bits - 1
	if zeroPoint < 0 || zeroPoint > maxCode {
		return nil, fmt.Errorf("numeric: %d-bit zero point %d outside [0, %d]: %w", bits, zeroPoint, maxCode, ErrQuantization)
	}
	if mid := 1 << (bits - 1); symmetric && zeroPoint != mid {
		return nil, fmt.Errorf("numeric: symmetric %d-bit quantization needs zero point %d, got %d: %w",
			bits, mid, zeroPoint, ErrQuantization)
	}
	return &QuantizationConfig{scale: scale, zeroPoint: int32(zeroPoint), bits: bits, symmetric: symmetric}, nil
}

// Scale returns the step between adjacent codes.
func (c *QuantizationConfig) Scale() float32 { return c.scale }

// ZeroPoint returns the code that represents 0.
func (c *QuantizationConfig) ZeroPoint() int { return int(c.zeroPoint) }

// Bits returns the code width (2, 4 or 8).
func (c *QuantizationConfig) Bits() int { return c.bits }

// Symmetric reports whether the zero point is the midpoint of the range.
func (c *QuantizationConfig) Symmetric() bool { return c.symmetric }

// MaxCode returns the largest code, 2^Bits-1.
func (c *QuantizationConfig) MaxCode() uint8 { return uint8(1<<c.bits - 1) }

// Quantize returns the code of x: saturate(roundHalfToEven(x/Scale) +
// ZeroPoint), NaN giving the zero point.
func (c *QuantizationConfig) Quantize(x float32) uint8 {
	v := float32(x / c.scale)
	if v != v { // NaN
		return uint8(c.zeroPoint)
	}
	hi := float64(int32(1)<<c.bits - 1)
	// Exact for every v that does not saturate; huge or infinite v saturate.
	r := math.RoundToEven(float64(v)) + float64(c.zeroPoint)
	if r <= 0 {
		return 0
	}
	if r >= hi {
		return uint8(hi)
	}
	return uint8(r)
}

// Dequantize returns float32(q - ZeroPoint) * Scale. Codes above MaxCode are
// used as given (they are not masked).
func (c *QuantizationConfig) Dequantize(q uint8) float32 {
	return float32(int32(q)-c.zeroPoint) * c.scale
}

// QuantizeSlice writes Quantize(src[i]) to dst[i] for every i, without
// allocating. The error wraps ErrQuantization if len(dst) != len(src); dst is
// then left unchanged.
func (c *QuantizationConfig) QuantizeSlice(dst []uint8, src []float32) error {
	if len(dst) != len(src) {
		return fmt.Errorf("numeric: QuantizeSlice dst has %d elements, src %d: %w", len(dst), len(src), ErrQuantization)
	}
	for i, x := range src {
		dst[i] = c.Quantize(x)
	}
	return nil
}

// DequantizeSlice writes Dequantize(src[i]) to dst[i] for every i, without
// allocating. The error wraps ErrQuantization if len(dst) != len(src); dst is
// then left unchanged.
func (c *QuantizationConfig) DequantizeSlice(dst []float32, src []uint8) error {
	if len(dst) != len(src) {
		return fmt.Errorf("numeric: DequantizeSlice dst has %d elements, src %d: %w", len(dst), len(src), ErrQuantization)
	}
	zp, s := c.zeroPoint, c.scale
	for i, q := range src {
		dst[i] = float32(int32(q)-zp) * s
	}
	return nil
}

// String describes the config, e.g. "uint8 scale=0.1 zp=128 symmetric".
func (c *QuantizationConfig) String() string {
	mode := "asymmetric"
	if c.symmetric {
		mode = "symmetric"
	}
	return fmt.Sprintf("uint%d scale=%v zp=%d %s", c.bits, c.scale, c.zeroPoint, mode)
}
