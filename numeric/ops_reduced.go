package numeric

import "math"

// Float16Ops is the Arithmetic for Float16. Each operation decodes its operands
// exactly to float64, computes there and rounds the result once to Float16 (ties
// to even, overflow to ±Inf). Because float64 has more than twice Float16's precision
// plus two bits, Add, Sub, Mul, Div and Sqrt are correctly rounded; Exp,
// Log, Tanh, Sigmoid and the gradients are as accurate as the math package
// plus one rounding. Neg and Abs only change the sign bit. Comparisons
// are false when either operand is NaN, and +0 equals -0.
type Float16Ops struct{}

// Add returns a + b, correctly rounded.
func (Float16Ops) Add(a, b Float16) Float16 { return Float16FromFloat64(a.Float64() + b.Float64()) }

// Sub returns a - b, correctly rounded.
func (Float16Ops) Sub(a, b Float16) Float16 { return Float16FromFloat64(a.Float64() - b.Float64()) }

// Mul returns a * b, correctly rounded.
func (Float16Ops) Mul(a, b Float16) Float16 { return Float16FromFloat64(a.Float64() * b.Float64()) }

// Div returns a / b, correctly rounded (x/0 is ±Inf, or NaN for 0/0).
func (Float16Ops) Div(a, b Float16) Float16 { return Float16FromFloat64(a.Float64() / b.Float64()) }

// Neg returns -a (the sign bit flipped).
func (Float16Ops) Neg(a Float16) Float16 { return Float16{a.bits ^ 0x8000} }

// Abs returns |a| (the sign bit cleared).
func (Float16Ops) Abs(a Float16) Float16 { return Float16{a.bits &^ 0x8000} }

// Exp returns e^a.
func (Float16Ops) Exp(a Float16) Float16 { return Float16FromFloat64(math.Exp(a.Float64())) }

// Log returns ln a (-Inf at 0, NaN below 0).
func (Float16Ops) Log(a Float16) Float16 { return Float16FromFloat64(math.Log(a.Float64())) }

// Sqrt returns √a, correctly rounded (NaN below 0).
func (Float16Ops) Sqrt(a Float16) Float16 { return Float16FromFloat64(math.Sqrt(a.Float64())) }

// Tanh returns tanh a.
func (Float16Ops) Tanh(a Float16) Float16 { return Float16FromFloat64(math.Tanh(a.Float64())) }

// Sigmoid returns 1 / (1 + e^-a).
func (Float16Ops) Sigmoid(a Float16) Float16 { return Float16FromFloat64(sigmoid(a.Float64())) }

// AbsGrad returns the sign of x (0 at ±0, NaN at NaN).
func (Float16Ops) AbsGrad(x Float16) Float16 { return Float16FromFloat64(sign(x.Float64())) }

// ExpGrad returns e^x.
func (Float16Ops) ExpGrad(x Float16) Float16 { return Float16FromFloat64(expGrad(x.Float64())) }

// LogGrad returns 1/x.
func (Float16Ops) LogGrad(x Float16) Float16 { return Float16FromFloat64(logGrad(x.Float64())) }

// SqrtGrad returns 1/(2√x).
func (Float16Ops) SqrtGrad(x Float16) Float16 { return Float16FromFloat64(sqrtGrad(x.Float64())) }

// TanhGrad returns 1 - tanh(x)².
func (Float16Ops) TanhGrad(x Float16) Float16 { return Float16FromFloat64(tanhGrad(x.Float64())) }

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (Float16Ops) SigmoidGrad(x Float16) Float16 { return Float16FromFloat64(sigmoidGrad(x.Float64())) }

// FromFloat32 returns Float16FromFloat32(f).
func (Float16Ops) FromFloat32(f float32) Float16 { return Float16FromFloat32(f) }

// ToFloat32 returns a.Float32() (exact).
func (Float16Ops) ToFloat32(a Float16) float32 { return a.Float32() }

// FromFloat64 returns Float16FromFloat64(f).
func (Float16Ops) FromFloat64(f float64) Float16 { return Float16FromFloat64(f) }

// ToFloat64 returns a.Float64() (exact).
func (Float16Ops) ToFloat64(a Float16) float64 { return a.Float64() }

// Zero returns +0.
func (Float16Ops) Zero() Float16 { return Float16{} }

// One returns 1.
func (Float16Ops) One() Float16 { return Float16{0x3c00} }

// IsZero reports whether a is +0 or -0.
func (Float16Ops) IsZero(a Float16) bool { return a.bits&^0x8000 == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (Float16Ops) Equal(a, b Float16) bool { return a.Float32() == b.Float32() }

// Less reports whether a < b (false if either is NaN).
func (Float16Ops) Less(a, b Float16) bool { return a.Float32() < b.Float32() }

// Greater reports whether a > b (false if either is NaN).
func (Float16Ops) Greater(a, b Float16) bool { return a.Float32() > b.Float32() }

// BFloat16Ops is the Arithmetic for BFloat16. Each operation decodes its operands
// exactly to float64, computes there and rounds the result once to BFloat16 (ties
// to even, overflow to ±Inf). Because float64 has more than twice BFloat16's precision
// plus two bits, Add, Sub, Mul, Div and Sqrt are correctly rounded; Exp,
// Log, Tanh, Sigmoid and the gradients are as accurate as the math package
// plus one rounding. Neg and Abs only change the sign bit. Comparisons
// are false when either operand is NaN, and +0 equals -0.
type BFloat16Ops struct{}

// Add returns a + b, correctly rounded.
func (BFloat16Ops) Add(a, b BFloat16) BFloat16 { return BFloat16FromFloat64(a.Float64() + b.Float64()) }

// Sub returns a - b, correctly rounded.
func (BFloat16Ops) Sub(a, b BFloat16) BFloat16 { return BFloat16FromFloat64(a.Float64() - b.Float64()) }

// Mul returns a * b, correctly rounded.
func (BFloat16Ops) Mul(a, b BFloat16) BFloat16 { return BFloat16FromFloat64(a.Float64() * b.Float64()) }

// Div returns a / b, correctly rounded (x/0 is ±Inf, or NaN for 0/0).
func (BFloat16Ops) Div(a, b BFloat16) BFloat16 { return BFloat16FromFloat64(a.Float64() / b.Float64()) }

// Neg returns -a (the sign bit flipped).
func (BFloat16Ops) Neg(a BFloat16) BFloat16 { return BFloat16{a.bits ^ 0x8000} }

// Abs returns |a| (the sign bit cleared).
func (BFloat16Ops) Abs(a BFloat16) BFloat16 { return BFloat16{a.bits &^ 0x8000} }

// Exp returns e^a.
func (BFloat16Ops) Exp(a BFloat16) BFloat16 { return BFloat16FromFloat64(math.Exp(a.Float64())) }

// Log returns ln a (-Inf at 0, NaN below 0).
func (BFloat16Ops) Log(a BFloat16) BFloat16 { return BFloat16FromFloat64(math.Log(a.Float64())) }

// Sqrt returns √a, correctly rounded (NaN below 0).
func (BFloat16Ops) Sqrt(a BFloat16) BFloat16 { return BFloat16FromFloat64(math.Sqrt(a.Float64())) }

// Tanh returns tanh a.
func (BFloat16Ops) Tanh(a BFloat16) BFloat16 { return BFloat16FromFloat64(math.Tanh(a.Float64())) }

// Sigmoid returns 1 / (1 + e^-a).
func (BFloat16Ops) Sigmoid(a BFloat16) BFloat16 { return BFloat16FromFloat64(sigmoid(a.Float64())) }

// AbsGrad returns the sign of x (0 at ±0, NaN at NaN).
func (BFloat16Ops) AbsGrad(x BFloat16) BFloat16 { return BFloat16FromFloat64(sign(x.Float64())) }

// ExpGrad returns e^x.
func (BFloat16Ops) ExpGrad(x BFloat16) BFloat16 { return BFloat16FromFloat64(expGrad(x.Float64())) }

// LogGrad returns 1/x.
func (BFloat16Ops) LogGrad(x BFloat16) BFloat16 { return BFloat16FromFloat64(logGrad(x.Float64())) }

// SqrtGrad returns 1/(2√x).
func (BFloat16Ops) SqrtGrad(x BFloat16) BFloat16 { return BFloat16FromFloat64(sqrtGrad(x.Float64())) }

// TanhGrad returns 1 - tanh(x)².
func (BFloat16Ops) TanhGrad(x BFloat16) BFloat16 { return BFloat16FromFloat64(tanhGrad(x.Float64())) }

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (BFloat16Ops) SigmoidGrad(x BFloat16) BFloat16 {
	return BFloat16FromFloat64(sigmoidGrad(x.Float64()))
}

// FromFloat32 returns BFloat16FromFloat32(f).
func (BFloat16Ops) FromFloat32(f float32) BFloat16 { return BFloat16FromFloat32(f) }

// ToFloat32 returns a.Float32() (exact).
func (BFloat16Ops) ToFloat32(a BFloat16) float32 { return a.Float32() }

// FromFloat64 returns BFloat16FromFloat64(f).
func (BFloat16Ops) FromFloat64(f float64) BFloat16 { return BFloat16FromFloat64(f) }

// ToFloat64 returns a.Float64() (exact).
func (BFloat16Ops) ToFloat64(a BFloat16) float64 { return a.Float64() }

// Zero returns +0.
func (BFloat16Ops) Zero() BFloat16 { return BFloat16{} }

// One returns 1.
func (BFloat16Ops) One() BFloat16 { return BFloat16{0x3f80} }

// IsZero reports whether a is +0 or -0.
func (BFloat16Ops) IsZero(a BFloat16) bool { return a.bits&^0x8000 == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (BFloat16Ops) Equal(a, b BFloat16) bool { return a.Float32() == b.Float32() }

// Less reports whether a < b (false if either is NaN).
func (BFloat16Ops) Less(a, b BFloat16) bool { return a.Float32() < b.Float32() }

// Greater reports whether a > b (false if either is NaN).
func (BFloat16Ops) Greater(a, b BFloat16) bool { return a.Float32() > b.Float32() }

// Float8E4M3FNOps is the Arithmetic for Float8E4M3FN. Each operation decodes its operands
// exactly to float64, computes there and rounds the result once to Float8E4M3FN (ties
// to even, saturating at ±448 since the format has no infinities). Because float64 has more than twice Float8E4M3FN's precision
// plus two bits, Add, Sub, Mul, Div and Sqrt are correctly rounded; Exp,
// Log, Tanh, Sigmoid and the gradients are as accurate as the math package
// plus one rounding. Neg and Abs only change the sign bit. Comparisons
// are false when either operand is NaN, and +0 equals -0.
type Float8E4M3FNOps struct{}

// Add returns a + b, correctly rounded.
func (Float8E4M3FNOps) Add(a, b Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(a.Float64() + b.Float64())
}

// Sub returns a - b, correctly rounded.
func (Float8E4M3FNOps) Sub(a, b Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(a.Float64() - b.Float64())
}

// Mul returns a * b, correctly rounded.
func (Float8E4M3FNOps) Mul(a, b Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(a.Float64() * b.Float64())
}

// Div returns a / b, correctly rounded (x/0 is ±448, or NaN for 0/0).
func (Float8E4M3FNOps) Div(a, b Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(a.Float64() / b.Float64())
}

// Neg returns -a (the sign bit flipped).
func (Float8E4M3FNOps) Neg(a Float8E4M3FN) Float8E4M3FN { return Float8E4M3FN{a.bits ^ 0x80} }

// Abs returns |a| (the sign bit cleared).
func (Float8E4M3FNOps) Abs(a Float8E4M3FN) Float8E4M3FN { return Float8E4M3FN{a.bits &^ 0x80} }

// Exp returns e^a.
func (Float8E4M3FNOps) Exp(a Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(math.Exp(a.Float64()))
}

// Log returns ln a (-448 at 0, NaN below 0).
func (Float8E4M3FNOps) Log(a Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(math.Log(a.Float64()))
}

// Sqrt returns √a, correctly rounded (NaN below 0).
func (Float8E4M3FNOps) Sqrt(a Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(math.Sqrt(a.Float64()))
}

// Tanh returns tanh a.
func (Float8E4M3FNOps) Tanh(a Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(math.Tanh(a.Float64()))
}

// Sigmoid returns 1 / (1 + e^-a).
func (Float8E4M3FNOps) Sigmoid(a Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(sigmoid(a.Float64()))
}

// AbsGrad returns the sign of x (0 at ±0, NaN at NaN).
func (Float8E4M3FNOps) AbsGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(sign(x.Float64()))
}

// ExpGrad returns e^x.
func (Float8E4M3FNOps) ExpGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(expGrad(x.Float64()))
}

// LogGrad returns 1/x.
func (Float8E4M3FNOps) LogGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(logGrad(x.Float64()))
}

// SqrtGrad returns 1/(2√x).
func (Float8E4M3FNOps) SqrtGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(sqrtGrad(x.Float64()))
}

// TanhGrad returns 1 - tanh(x)².
func (Float8E4M3FNOps) TanhGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(tanhGrad(x.Float64()))
}

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (Float8E4M3FNOps) SigmoidGrad(x Float8E4M3FN) Float8E4M3FN {
	return Float8E4M3FNFromFloat64(sigmoidGrad(x.Float64()))
}

// FromFloat32 returns Float8E4M3FNFromFloat32(f).
func (Float8E4M3FNOps) FromFloat32(f float32) Float8E4M3FN { return Float8E4M3FNFromFloat32(f) }

// ToFloat32 returns a.Float32() (exact).
func (Float8E4M3FNOps) ToFloat32(a Float8E4M3FN) float32 { return a.Float32() }

// FromFloat64 returns Float8E4M3FNFromFloat64(f).
func (Float8E4M3FNOps) FromFloat64(f float64) Float8E4M3FN { return Float8E4M3FNFromFloat64(f) }

// ToFloat64 returns a.Float64() (exact).
func (Float8E4M3FNOps) ToFloat64(a Float8E4M3FN) float64 { return a.Float64() }

// Zero returns +0.
func (Float8E4M3FNOps) Zero() Float8E4M3FN { return Float8E4M3FN{} }

// One returns 1.
func (Float8E4M3FNOps) One() Float8E4M3FN { return Float8E4M3FN{0x38} }

// IsZero reports whether a is +0 or -0.
func (Float8E4M3FNOps) IsZero(a Float8E4M3FN) bool { return a.bits&^0x80 == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (Float8E4M3FNOps) Equal(a, b Float8E4M3FN) bool { return a.Float32() == b.Float32() }

// Less reports whether a < b (false if either is NaN).
func (Float8E4M3FNOps) Less(a, b Float8E4M3FN) bool { return a.Float32() < b.Float32() }

// Greater reports whether a > b (false if either is NaN).
func (Float8E4M3FNOps) Greater(a, b Float8E4M3FN) bool { return a.Float32() > b.Float32() }

// Float8Ops is the Arithmetic for Float8E4M3FN, the 8-bit float most models
// use for weights and activations; it is the same type as Float8E4M3FNOps.
// Use Float8E5M2Ops for E5M2.
type Float8Ops = Float8E4M3FNOps

// Float8E5M2Ops is the Arithmetic for Float8E5M2. Each operation decodes its operands
// exactly to float64, computes there and rounds the result once to Float8E5M2 (ties
// to even, overflow to ±Inf). Because float64 has more than twice Float8E5M2's precision
// plus two bits, Add, Sub, Mul, Div and Sqrt are correctly rounded; Exp,
// Log, Tanh, Sigmoid and the gradients are as accurate as the math package
// plus one rounding. Neg and Abs only change the sign bit. Comparisons
// are false when either operand is NaN, and +0 equals -0.
type Float8E5M2Ops struct{}

// Add returns a + b, correctly rounded.
func (Float8E5M2Ops) Add(a, b Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(a.Float64() + b.Float64())
}

// Sub returns a - b, correctly rounded.
func (Float8E5M2Ops) Sub(a, b Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(a.Float64() - b.Float64())
}

// Mul returns a * b, correctly rounded.
func (Float8E5M2Ops) Mul(a, b Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(a.Float64() * b.Float64())
}

// Div returns a / b, correctly rounded (x/0 is ±Inf, or NaN for 0/0).
func (Float8E5M2Ops) Div(a, b Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(a.Float64() / b.Float64())
}

// Neg returns -a (the sign bit flipped).
func (Float8E5M2Ops) Neg(a Float8E5M2) Float8E5M2 { return Float8E5M2{a.bits ^ 0x80} }

// Abs returns |a| (the sign bit cleared).
func (Float8E5M2Ops) Abs(a Float8E5M2) Float8E5M2 { return Float8E5M2{a.bits &^ 0x80} }

// Exp returns e^a.
func (Float8E5M2Ops) Exp(a Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(math.Exp(a.Float64()))
}

// Log returns ln a (-Inf at 0, NaN below 0).
func (Float8E5M2Ops) Log(a Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(math.Log(a.Float64()))
}

// Sqrt returns √a, correctly rounded (NaN below 0).
func (Float8E5M2Ops) Sqrt(a Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(math.Sqrt(a.Float64()))
}

// Tanh returns tanh a.
func (Float8E5M2Ops) Tanh(a Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(math.Tanh(a.Float64()))
}

// Sigmoid returns 1 / (1 + e^-a).
func (Float8E5M2Ops) Sigmoid(a Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(sigmoid(a.Float64()))
}

// AbsGrad returns the sign of x (0 at ±0, NaN at NaN).
func (Float8E5M2Ops) AbsGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(sign(x.Float64()))
}

// ExpGrad returns e^x.
func (Float8E5M2Ops) ExpGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(expGrad(x.Float64()))
}

// LogGrad returns 1/x.
func (Float8E5M2Ops) LogGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(logGrad(x.Float64()))
}

// SqrtGrad returns 1/(2√x).
func (Float8E5M2Ops) SqrtGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(sqrtGrad(x.Float64()))
}

// TanhGrad returns 1 - tanh(x)².
func (Float8E5M2Ops) TanhGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(tanhGrad(x.Float64()))
}

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (Float8E5M2Ops) SigmoidGrad(x Float8E5M2) Float8E5M2 {
	return Float8E5M2FromFloat64(sigmoidGrad(x.Float64()))
}

// FromFloat32 returns Float8E5M2FromFloat32(f).
func (Float8E5M2Ops) FromFloat32(f float32) Float8E5M2 { return Float8E5M2FromFloat32(f) }

// ToFloat32 returns a.Float32() (exact).
func (Float8E5M2Ops) ToFloat32(a Float8E5M2) float32 { return a.Float32() }

// FromFloat64 returns Float8E5M2FromFloat64(f).
func (Float8E5M2Ops) FromFloat64(f float64) Float8E5M2 { return Float8E5M2FromFloat64(f) }

// ToFloat64 returns a.Float64() (exact).
func (Float8E5M2Ops) ToFloat64(a Float8E5M2) float64 { return a.Float64() }

// Zero returns +0.
func (Float8E5M2Ops) Zero() Float8E5M2 { return Float8E5M2{} }

// One returns 1.
func (Float8E5M2Ops) One() Float8E5M2 { return Float8E5M2{0x3c} }

// IsZero reports whether a is +0 or -0.
func (Float8E5M2Ops) IsZero(a Float8E5M2) bool { return a.bits&^0x80 == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (Float8E5M2Ops) Equal(a, b Float8E5M2) bool { return a.Float32() == b.Float32() }

// Less reports whether a < b (false if either is NaN).
func (Float8E5M2Ops) Less(a, b Float8E5M2) bool { return a.Float32() < b.Float32() }

// Greater reports whether a > b (false if either is NaN).
func (Float8E5M2Ops) Greater(a, b Float8E5M2) bool { return a.Float32() > b.Float32() }
