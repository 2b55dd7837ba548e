package numeric

import "math"

// reduced is implemented by the reduced-precision float types: exact
// widening, rounding from float32 and float64 (methods that ignore their
// receiver, so the zero value serves), and sign-bit manipulation.
type reduced[T any] interface {
	Float32() float32
	Float64() float64
	fromFloat32(float32) T
	fromFloat64(float64) T
	one() T
	negate() T
	absolute() T
	isZero() bool
}

// viaFloat64 implements Arithmetic[T] for a reduced-precision float type T:
// each operation decodes its operands exactly to float64, computes there and
// rounds the result once to T. Because float64 has more than twice T's
// precision plus two bits, Add, Sub, Mul, Div and Sqrt are correctly rounded;
// Exp, Log, Tanh, Sigmoid and the gradients are as accurate as the math
// package plus one rounding. Neg and Abs only change the sign bit.
// Comparisons are false when either operand is NaN, and +0 equals -0.
type viaFloat64[T reduced[T]] struct{}

func (viaFloat64[T]) round(f float64) T {
	var z T
	return z.fromFloat64(f)
}

// Add returns a + b, correctly rounded.
func (o viaFloat64[T]) Add(a, b T) T { return o.round(a.Float64() + b.Float64()) }

// Sub returns a - b, correctly rounded.
func (o viaFloat64[T]) Sub(a, b T) T { return o.round(a.Float64() - b.Float64()) }

// Mul returns a * b, correctly rounded.
func (o viaFloat64[T]) Mul(a, b T) T { return o.round(a.Float64() * b.Float64()) }

// Div returns a / b, correctly rounded (x/0 is ±Inf where T has infinities,
// or NaN for 0/0).
func (o viaFloat64[T]) Div(a, b T) T { return o.round(a.Float64() / b.Float64()) }

// Neg returns -a (the sign bit flipped).
func (viaFloat64[T]) Neg(a T) T { return a.negate() }

// Abs returns |a| (the sign bit cleared).
func (viaFloat64[T]) Abs(a T) T { return a.absolute() }

// Exp returns e^a.
func (o viaFloat64[T]) Exp(a T) T { return o.round(math.Exp(a.Float64())) }

// Log returns ln a (-Inf at 0, NaN below 0).
func (o viaFloat64[T]) Log(a T) T { return o.round(math.Log(a.Float64())) }

// Sqrt returns √a, correctly rounded (NaN below 0).
func (o viaFloat64[T]) Sqrt(a T) T { return o.round(math.Sqrt(a.Float64())) }

// Tanh returns tanh a.
func (o viaFloat64[T]) Tanh(a T) T { return o.round(math.Tanh(a.Float64())) }

// Sigmoid returns 1 / (1 + e^-a).
func (o viaFloat64[T]) Sigmoid(a T) T { return o.round(sigmoid(a.Float64())) }

// AbsGrad returns the sign of x (0 at ±0, NaN at NaN).
func (o viaFloat64[T]) AbsGrad(x T) T { return o.round(sign(x.Float64())) }

// ExpGrad returns e^x.
func (o viaFloat64[T]) ExpGrad(x T) T { return o.round(expGrad(x.Float64())) }

// LogGrad returns 1/x.
func (o viaFloat64[T]) LogGrad(x T) T { return o.round(logGrad(x.Float64())) }

// SqrtGrad returns 1/(2√x).
func (o viaFloat64[T]) SqrtGrad(x T) T { return o.round(sqrtGrad(x.Float64())) }

// TanhGrad returns 1 - tanh(x)².
func (o viaFloat64[T]) TanhGrad(x T) T { return o.round(tanhGrad(x.Float64())) }

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (o viaFloat64[T]) SigmoidGrad(x T) T { return o.round(sigmoidGrad(x.Float64())) }

// FromFloat32 rounds f to T (to nearest, ties to even).
func (viaFloat64[T]) FromFloat32(f float32) T {
	var z T
	return z.fromFloat32(f)
}

// ToFloat32 returns a as a float32 (exact).
func (viaFloat64[T]) ToFloat32(a T) float32 { return a.Float32() }

// FromFloat64 rounds f to T once (to nearest, ties to even).
func (o viaFloat64[T]) FromFloat64(f float64) T { return o.round(f) }

// ToFloat64 returns a as a float64 (exact).
func (viaFloat64[T]) ToFloat64(a T) float64 { return a.Float64() }

// Zero returns +0.
func (viaFloat64[T]) Zero() T { var z T; return z }

// One returns 1.
func (viaFloat64[T]) One() T {
	var z T
	return z.one()
}

// IsZero reports whether a is +0 or -0.
func (viaFloat64[T]) IsZero(a T) bool { return a.isZero() }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (viaFloat64[T]) Equal(a, b T) bool { return a.Float32() == b.Float32() }

// Less reports whether a < b (false if either is NaN).
func (viaFloat64[T]) Less(a, b T) bool { return a.Float32() < b.Float32() }

// Greater reports whether a > b (false if either is NaN).
func (viaFloat64[T]) Greater(a, b T) bool { return a.Float32() > b.Float32() }

// Float16Ops is the Arithmetic for Float16: every operation computes in
// float64 and rounds once to Float16 (ties to even, overflow to ±Inf), so
// Add, Sub, Mul, Div and Sqrt are correctly rounded. Comparisons are false
// when either operand is NaN, and +0 equals -0.
type Float16Ops struct {
	viaFloat64[Float16]
}

// BFloat16Ops is the Arithmetic for BFloat16: every operation computes in
// float64 and rounds once to BFloat16 (ties to even, overflow to ±Inf), so
// Add, Sub, Mul, Div and Sqrt are correctly rounded. Comparisons are false
// when either operand is NaN, and +0 equals -0.
type BFloat16Ops struct {
	viaFloat64[BFloat16]
}

// Float8E4M3FNOps is the Arithmetic for Float8E4M3FN: every operation
// computes in float64 and rounds once to E4M3FN (ties to even; results past
// ±448 saturate to ±448, as the format has no infinities; NaN stays NaN).
type Float8E4M3FNOps struct {
	viaFloat64[Float8E4M3FN]
}

// Float8Ops is the Arithmetic for Float8E4M3FN, the 8-bit float most models
// store weights and activations in. It is the same type as Float8E4M3FNOps;
// use Float8E5M2Ops for the E5M2 format.
type Float8Ops = Float8E4M3FNOps

// Float8E5M2Ops is the Arithmetic for Float8E5M2: every operation computes
// in float64 and rounds once to E5M2 (ties to even, overflow to ±Inf).
type Float8E5M2Ops struct {
	viaFloat64[Float8E5M2]
}

var (
	_ Arithmetic[Float16]      = Float16Ops{}
	_ Arithmetic[BFloat16]     = BFloat16Ops{}
	_ Arithmetic[Float8E4M3FN] = Float8E4M3FNOps{}
	_ Arithmetic[Float8E5M2]   = Float8E5M2Ops{}
)

func (Float16) fromFloat32(f float32) Float16 { return Float16FromFloat32(f) }
func (Float16) fromFloat64(f float64) Float16 { return Float16FromFloat64(f) }
func (Float16) one() Float16                  { return Float16{0x3c00} }

func (BFloat16) fromFloat32(f float32) BFloat16 { return BFloat16FromFloat32(f) }
func (BFloat16) fromFloat64(f float64) BFloat16 { return BFloat16FromFloat64(f) }
func (BFloat16) one() BFloat16                  { return BFloat16{0x3f80} }

func (Float8E4M3FN) fromFloat32(f float32) Float8E4M3FN { return Float8E4M3FNFromFloat32(f) }
func (Float8E4M3FN) fromFloat64(f float64) Float8E4M3FN { return Float8E4M3FNFromFloat64(f) }
func (Float8E4M3FN) one() Float8E4M3FN                  { return Float8E4M3FN{0x38} }

func (Float8E5M2) fromFloat32(f float32) Float8E5M2 { return Float8E5M2FromFloat32(f) }
func (Float8E5M2) fromFloat64(f float64) Float8E5M2 { return Float8E5M2FromFloat64(f) }
func (Float8E5M2) one() Float8E5M2                  { return Float8E5M2{0x3c} }

func (f Float16) negate() Float16   { return Float16{f.bits ^ 0x8000} }
func (f Float16) absolute() Float16 { return Float16{f.bits &^ 0x8000} }
func (f Float16) isZero() bool      { return f.bits&^0x8000 == 0 }

func (b BFloat16) negate() BFloat16   { return BFloat16{b.bits ^ 0x8000} }
func (b BFloat16) absolute() BFloat16 { return BFloat16{b.bits &^ 0x8000} }
func (b BFloat16) isZero() bool       { return b.bits&^0x8000 == 0 }

func (f Float8E4M3FN) negate() Float8E4M3FN   { return Float8E4M3FN{f.bits ^ 0x80} }
func (f Float8E4M3FN) absolute() Float8E4M3FN { return Float8E4M3FN{f.bits &^ 0x80} }
func (f Float8E4M3FN) isZero() bool           { return f.bits&^0x80 == 0 }

func (f Float8E5M2) negate() Float8E5M2   { return Float8E5M2{f.bits ^ 0x80} }
func (f Float8E5M2) absolute() Float8E5M2 { return Float8E5M2{f.bits &^ 0x80} }
func (f Float8E5M2) isZero() bool         { return f.bits&^0x80 == 0 }
