package numeric

import (
	"math"
	"math/bits"
)

// smallInt is an integer type whose sums, differences and products of two
// values fit in an int64.
type smallInt interface {
	int8 | uint8 | int16 | int32
}

// limits returns the range of T.
func limits[T smallInt]() (lo, hi int64) {
	var z T
	switch any(z).(type) {
	case int8:
		return math.MinInt8, math.MaxInt8
	case uint8:
		return 0, math.MaxUint8
	case int16:
		return math.MinInt16, math.MaxInt16
	}
	return math.MinInt32, math.MaxInt32
}

// sat clamps v to the range of T.
func sat[T smallInt](v int64) T {
	lo, hi := limits[T]()
	return T(min(max(v, lo), hi))
}

// intFromFloat64 rounds f to nearest even and saturates it to [lo, hi];
// NaN gives 0.
func intFromFloat64(f float64, lo, hi int64) int64 {
	switch f = math.RoundToEven(f); {
	case f != f:
		return 0
	case f <= float64(lo):
		return lo
	case f >= float64(hi): // float64(MaxInt64) is 2^63, just above it
		return hi
	}
	return int64(f)
}

// fromFloat64 converts f to T as FromFloat64 documents.
func fromFloat64[T smallInt](f float64) T {
	lo, hi := limits[T]()
	return T(intFromFloat64(f, lo, hi))
}

// satDiv returns a/b truncated toward zero, saturated, with x/0 defined as
// the package documents. It is exact in int64 for every smallInt.
func satDiv(a, b, lo, hi int64) int64 {
	switch {
	case b != 0:
		return min(max(a/b, lo), hi)
	case a > 0:
		return hi
	case a < 0:
		return lo
	}
	return 0
}

func isign(a int64) int64 {
	switch {
	case a > 0:
		return 1
	case a < 0:
		return -1
	}
	return 0
}

// smallIntOps implements Arithmetic[T] for the small integer types by
// computing in int64 (or float64) and saturating.
type smallIntOps[T smallInt] struct{}

func (smallIntOps[T]) Add(a, b T) T { return sat[T](int64(a) + int64(b)) }
func (smallIntOps[T]) Sub(a, b T) T { return sat[T](int64(a) - int64(b)) }
func (smallIntOps[T]) Mul(a, b T) T { return sat[T](int64(a) * int64(b)) }
func (smallIntOps[T]) Div(a, b T) T {
	lo, hi := limits[T]()
	return T(satDiv(int64(a), int64(b), lo, hi))
}
func (smallIntOps[T]) Neg(a T) T { return sat[T](-int64(a)) }
func (smallIntOps[T]) Abs(a T) T {
	if a < 0 {
		return sat[T](-int64(a))
	}
	return a
}
func (smallIntOps[T]) Exp(a T) T     { return fromFloat64[T](math.Exp(float64(a))) }
func (smallIntOps[T]) Log(a T) T     { return fromFloat64[T](math.Log(float64(a))) }
func (smallIntOps[T]) Sqrt(a T) T    { return fromFloat64[T](math.Sqrt(float64(a))) }
func (smallIntOps[T]) Tanh(a T) T    { return fromFloat64[T](math.Tanh(float64(a))) }
func (smallIntOps[T]) Sigmoid(a T) T { return fromFloat64[T](sigmoid(float64(a))) }
func (smallIntOps[T]) AbsGrad(x T) T { return T(isign(int64(x))) }
func (smallIntOps[T]) ExpGrad(x T) T { return fromFloat64[T](expGrad(float64(x))) }
func (smallIntOps[T]) LogGrad(x T) T { return fromFloat64[T](logGrad(float64(x))) }
func (smallIntOps[T]) SqrtGrad(x T) T {
	return fromFloat64[T](sqrtGrad(float64(x)))
}
func (smallIntOps[T]) TanhGrad(x T) T    { return fromFloat64[T](tanhGrad(float64(x))) }
func (smallIntOps[T]) SigmoidGrad(x T) T { return fromFloat64[T](sigmoidGrad(float64(x))) }
func (smallIntOps[T]) FromFloat32(f float32) T {
	return fromFloat64[T](float64(f))
}
func (smallIntOps[T]) ToFloat32(a T) float32   { return float32(a) }
func (smallIntOps[T]) FromFloat64(f float64) T { return fromFloat64[T](f) }
func (smallIntOps[T]) ToFloat64(a T) float64   { return float64(a) }
func (smallIntOps[T]) Zero() T                 { return 0 }
func (smallIntOps[T]) One() T                  { return 1 }
func (smallIntOps[T]) IsZero(a T) bool         { return a == 0 }
func (smallIntOps[T]) Equal(a, b T) bool       { return a == b }
func (smallIntOps[T]) Less(a, b T) bool        { return a < b }
func (smallIntOps[T]) Greater(a, b T) bool     { return a > b }

// Int8Ops is the Arithmetic for int8. Like every integer Ops type it
// saturates instead of wrapping: a result that does not fit is clamped to the
// type's minimum or maximum, so overflow never flips a sign (the convention
// of quantized kernels and SIMD saturating adds; Go's operators wrap).
//
//   - Add, Sub, Mul, Neg and Abs saturate (Abs(-128) and Neg(-128) are 127).
//   - Div truncates toward zero like Go's /, and saturates (-128 / -1 is
//     127). Division by zero does not panic: x/0 is the maximum (127) for
//     x > 0, the minimum (-128) for x < 0, and 0 for 0/0 — the saturated
//     forms of ±Inf and of NaN.
//   - Exp, Log, Sqrt, Tanh, Sigmoid and the gradients are computed in
//     float64 on the exact value and converted like FromFloat64. So Log(0)
//     is the minimum, Log(-1) and Sqrt(-1) are 0, Sigmoid(0) is 0 (0.5 ties
//     to even) and SigmoidGrad is always 0: total, but of little use on
//     integers.
//   - FromFloat32 and FromFloat64 round to nearest, ties to even, and
//     saturate, with NaN giving 0 (as ONNX QuantizeLinear rounds).
//     ToFloat32 and ToFloat64 are exact, except that int32 → float32 and
//     int64 → float32/float64 round to nearest even.
//   - AbsGrad is the sign of x: -1, 0 or 1.
type Int8Ops struct{ smallIntOps[int8] }

// Uint8Ops is the Arithmetic for uint8 (raw quantized data). It saturates:
// Add, Sub, Mul and Neg clamp to [0, 255] (so 250+10 = 255, 3-5 = 0 and
// Neg(x) = 0); Div truncates and defines x/0 as 255 for x > 0 and 0/0 as 0.
// The float functions and FromFloat32/64 compute in float64, round to
// nearest even and saturate to [0, 255], with NaN giving 0.
type Uint8Ops struct{ smallIntOps[uint8] }

// Int16Ops is the Arithmetic for int16. It saturates to [-32768, 32767] like
// Int8Ops, and x/0 is 32767, -32768 or 0 by the sign of x.
type Int16Ops struct{ smallIntOps[int16] }

// Int32Ops is the Arithmetic for int32. It saturates to [MinInt32, MaxInt32]
// like Int8Ops, and x/0 is MaxInt32, MinInt32 or 0 by the sign of x.
type Int32Ops struct{ smallIntOps[int32] }

// Int64Ops is the Arithmetic for int64. It saturates to [MinInt64,
// MaxInt64] like Int8Ops (detecting overflow exactly, not via float64), and
// x/0 is MaxInt64, MinInt64 or 0 by the sign of x. ToFloat32 and ToFloat64
// round to nearest even; the float functions compute in float64, which
// carries 53 significant bits.
type Int64Ops struct{}

// Add returns a + b, saturated.
func (Int64Ops) Add(a, b int64) int64 {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return satSign(a)
	}
	return s
}

// Sub returns a - b, saturated.
func (Int64Ops) Sub(a, b int64) int64 {
	s := a - b
	if (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0) {
		return satSign(a)
	}
	return s
}

// satSign returns MaxInt64 for a >= 0 and MinInt64 otherwise.
func satSign(a int64) int64 {
	if a >= 0 {
		return math.MaxInt64
	}
	return math.MinInt64
}

// uabs returns |a| as a uint64 (exact for MinInt64).
func uabs(a int64) uint64 {
	if a < 0 {
		return -uint64(a)
	}
	return uint64(a)
}

// Mul returns a * b, saturated.
func (Int64Ops) Mul(a, b int64) int64 {
	hi, lo := bits.Mul64(uabs(a), uabs(b))
	neg := (a < 0) != (b < 0)
	switch {
	case hi == 0 && lo <= math.MaxInt64:
		if neg {
			return -int64(lo)
		}
		return int64(lo)
	case neg:
		return math.MinInt64
	}
	return math.MaxInt64
}

// Div returns a / b truncated toward zero and saturated (MinInt64 / -1 is
// MaxInt64); x/0 is MaxInt64, MinInt64 or 0 by the sign of x.
func (Int64Ops) Div(a, b int64) int64 {
	if b == -1 {
		return Int64Ops{}.Neg(a)
	}
	return satDiv(a, b, math.MinInt64, math.MaxInt64)
}

// Neg returns -a, saturated (Neg(MinInt64) is MaxInt64).
func (Int64Ops) Neg(a int64) int64 {
	if a == math.MinInt64 {
		return math.MaxInt64
	}
	return -a
}

// Abs returns |a|, saturated (Abs(MinInt64) is MaxInt64).
func (Int64Ops) Abs(a int64) int64 {
	if a < 0 {
		return Int64Ops{}.Neg(a)
	}
	return a
}

func i64(f float64) int64 { return intFromFloat64(f, math.MinInt64, math.MaxInt64) }

// Exp returns e^a rounded and saturated.
func (Int64Ops) Exp(a int64) int64 { return i64(math.Exp(float64(a))) }

// Log returns ln a rounded (MinInt64 at 0, 0 below 0).
func (Int64Ops) Log(a int64) int64 { return i64(math.Log(float64(a))) }

// Sqrt returns √a rounded (0 below 0).
func (Int64Ops) Sqrt(a int64) int64 { return i64(math.Sqrt(float64(a))) }

// Tanh returns tanh a rounded (-1, 0 or 1).
func (Int64Ops) Tanh(a int64) int64 { return i64(math.Tanh(float64(a))) }

// Sigmoid returns 1/(1+e^-a) rounded (0 or 1).
func (Int64Ops) Sigmoid(a int64) int64 { return i64(sigmoid(float64(a))) }

// AbsGrad returns the sign of x.
func (Int64Ops) AbsGrad(x int64) int64 { return isign(x) }

// ExpGrad returns e^x rounded and saturated.
func (Int64Ops) ExpGrad(x int64) int64 { return i64(expGrad(float64(x))) }

// LogGrad returns 1/x rounded (MaxInt64 at 0).
func (Int64Ops) LogGrad(x int64) int64 { return i64(logGrad(float64(x))) }

// SqrtGrad returns 1/(2√x) rounded (MaxInt64 at 0, 0 below 0).
func (Int64Ops) SqrtGrad(x int64) int64 { return i64(sqrtGrad(float64(x))) }

// TanhGrad returns 1 - tanh(x)² rounded (1 at 0).
func (Int64Ops) TanhGrad(x int64) int64 { return i64(tanhGrad(float64(x))) }

// SigmoidGrad returns s(1-s) rounded (always 0).
func (Int64Ops) SigmoidGrad(x int64) int64 { return i64(sigmoidGrad(float64(x))) }

// FromFloat32 rounds f to nearest even and saturates (NaN → 0).
func (Int64Ops) FromFloat32(f float32) int64 { return i64(float64(f)) }

// ToFloat32 returns a rounded to nearest even float32.
func (Int64Ops) ToFloat32(a int64) float32 { return float32(a) }

// FromFloat64 rounds f to nearest even and saturates (NaN → 0).
func (Int64Ops) FromFloat64(f float64) int64 { return i64(f) }

// ToFloat64 returns a rounded to nearest even float64.
func (Int64Ops) ToFloat64(a int64) float64 { return float64(a) }

// Zero returns 0.
func (Int64Ops) Zero() int64 { return 0 }

// One returns 1.
func (Int64Ops) One() int64 { return 1 }

// IsZero reports whether a == 0.
func (Int64Ops) IsZero(a int64) bool { return a == 0 }

// Equal reports whether a == b.
func (Int64Ops) Equal(a, b int64) bool { return a == b }

// Less reports whether a < b.
func (Int64Ops) Less(a, b int64) bool { return a < b }

// Greater reports whether a > b.
func (Int64Ops) Greater(a, b int64) bool { return a > b }
