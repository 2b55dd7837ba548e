package numeric

import "math"

// Compile-time checks that every Ops type implements Arithmetic.
var (
	_ Arithmetic[float32]      = Float32Ops{}
	_ Arithmetic[float64]      = Float64Ops{}
	_ Arithmetic[Float16]      = Float16Ops{}
	_ Arithmetic[BFloat16]     = BFloat16Ops{}
	_ Arithmetic[Float8E4M3FN] = Float8E4M3FNOps{}
	_ Arithmetic[Float8E4M3FN] = Float8Ops{}
	_ Arithmetic[Float8E5M2]   = Float8E5M2Ops{}
	_ Arithmetic[int8]         = Int8Ops{}
	_ Arithmetic[uint8]        = Uint8Ops{}
	_ Arithmetic[int16]        = Int16Ops{}
	_ Arithmetic[int32]        = Int32Ops{}
	_ Arithmetic[int64]        = Int64Ops{}
)

// sigmoid returns 1/(1+e^-x) without overflowing e^-x for large negative x.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// sign returns -1, 0 or +1 by the sign of x, and NaN for NaN.
func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // ±0 or NaN
}

// Gradients in float64, shared by the float Ops types.
func expGrad(x float64) float64  { return math.Exp(x) }
func logGrad(x float64) float64  { return 1 / x }
func sqrtGrad(x float64) float64 { return 0.5 / math.Sqrt(x) }
func tanhGrad(x float64) float64 {
	t := math.Tanh(x)
	return 1 - t*t
}
func sigmoidGrad(x float64) float64 {
	s := sigmoid(x)
	return s * (1 - s)
}

// Float32Ops is the Arithmetic for float32: IEEE 754 single precision.
// Add, Sub, Mul, Div and Sqrt are correctly rounded; Exp, Log, Tanh,
// Sigmoid and the gradients are computed in float64 and rounded once to
// float32. AbsGrad is the sign of x (0 at ±0, NaN at NaN).
type Float32Ops struct{}

// Add returns a + b.
func (Float32Ops) Add(a, b float32) float32 { return a + b }

// Sub returns a - b.
func (Float32Ops) Sub(a, b float32) float32 { return a - b }

// Mul returns a * b.
func (Float32Ops) Mul(a, b float32) float32 { return a * b }

// Div returns a / b (±Inf or NaN for b == 0, as IEEE 754 defines).
func (Float32Ops) Div(a, b float32) float32 { return a / b }

// Neg returns -a.
func (Float32Ops) Neg(a float32) float32 { return -a }

// Abs returns |a|.
func (Float32Ops) Abs(a float32) float32 {
	return math.Float32frombits(math.Float32bits(a) &^ (1 << 31))
}

// Exp returns e^a.
func (Float32Ops) Exp(a float32) float32 { return float32(math.Exp(float64(a))) }

// Log returns ln a (-Inf at 0, NaN below 0).
func (Float32Ops) Log(a float32) float32 { return float32(math.Log(float64(a))) }

// Sqrt returns √a (NaN below 0).
func (Float32Ops) Sqrt(a float32) float32 { return float32(math.Sqrt(float64(a))) }

// Tanh returns tanh a.
func (Float32Ops) Tanh(a float32) float32 { return float32(math.Tanh(float64(a))) }

// Sigmoid returns 1 / (1 + e^-a).
func (Float32Ops) Sigmoid(a float32) float32 { return float32(sigmoid(float64(a))) }

// AbsGrad returns the sign of x (0 at ±0).
func (Float32Ops) AbsGrad(x float32) float32 { return float32(sign(float64(x))) }

// ExpGrad returns e^x.
func (Float32Ops) ExpGrad(x float32) float32 { return float32(expGrad(float64(x))) }

// LogGrad returns 1/x.
func (Float32Ops) LogGrad(x float32) float32 { return 1 / x }

// SqrtGrad returns 1/(2√x) (+Inf at 0).
func (Float32Ops) SqrtGrad(x float32) float32 { return float32(sqrtGrad(float64(x))) }

// TanhGrad returns 1 - tanh(x)².
func (Float32Ops) TanhGrad(x float32) float32 { return float32(tanhGrad(float64(x))) }

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (Float32Ops) SigmoidGrad(x float32) float32 { return float32(sigmoidGrad(float64(x))) }

// FromFloat32 returns f.
func (Float32Ops) FromFloat32(f float32) float32 { return f }

// ToFloat32 returns a.
func (Float32Ops) ToFloat32(a float32) float32 { return a }

// FromFloat64 returns f rounded to nearest even float32 (±Inf on overflow).
func (Float32Ops) FromFloat64(f float64) float32 { return float32(f) }

// ToFloat64 returns a (exact).
func (Float32Ops) ToFloat64(a float32) float64 { return float64(a) }

// Zero returns 0.
func (Float32Ops) Zero() float32 { return 0 }

// One returns 1.
func (Float32Ops) One() float32 { return 1 }

// IsZero reports whether a is +0 or -0.
func (Float32Ops) IsZero(a float32) bool { return a == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (Float32Ops) Equal(a, b float32) bool { return a == b }

// Less reports whether a < b (false if either is NaN).
func (Float32Ops) Less(a, b float32) bool { return a < b }

// Greater reports whether a > b (false if either is NaN).
func (Float32Ops) Greater(a, b float32) bool { return a > b }

// Float64Ops is the Arithmetic for float64: IEEE 754 double precision, with
// the math package's functions. AbsGrad is the sign of x (0 at ±0, NaN at
// NaN).
type Float64Ops struct{}

// Add returns a + b.
func (Float64Ops) Add(a, b float64) float64 { return a + b }

// Sub returns a - b.
func (Float64Ops) Sub(a, b float64) float64 { return a - b }

// Mul returns a * b.
func (Float64Ops) Mul(a, b float64) float64 { return a * b }

// Div returns a / b (±Inf or NaN for b == 0, as IEEE 754 defines).
func (Float64Ops) Div(a, b float64) float64 { return a / b }

// Neg returns -a.
func (Float64Ops) Neg(a float64) float64 { return -a }

// Abs returns |a|.
func (Float64Ops) Abs(a float64) float64 { return math.Abs(a) }

// Exp returns e^a.
func (Float64Ops) Exp(a float64) float64 { return math.Exp(a) }

// Log returns ln a (-Inf at 0, NaN below 0).
func (Float64Ops) Log(a float64) float64 { return math.Log(a) }

// Sqrt returns √a (NaN below 0).
func (Float64Ops) Sqrt(a float64) float64 { return math.Sqrt(a) }

// Tanh returns tanh a.
func (Float64Ops) Tanh(a float64) float64 { return math.Tanh(a) }

// Sigmoid returns 1 / (1 + e^-a).
func (Float64Ops) Sigmoid(a float64) float64 { return sigmoid(a) }

// AbsGrad returns the sign of x (0 at ±0).
func (Float64Ops) AbsGrad(x float64) float64 { return sign(x) }

// ExpGrad returns e^x.
func (Float64Ops) ExpGrad(x float64) float64 { return expGrad(x) }

// LogGrad returns 1/x.
func (Float64Ops) LogGrad(x float64) float64 { return logGrad(x) }

// SqrtGrad returns 1/(2√x) (+Inf at 0).
func (Float64Ops) SqrtGrad(x float64) float64 { return sqrtGrad(x) }

// TanhGrad returns 1 - tanh(x)².
func (Float64Ops) TanhGrad(x float64) float64 { return tanhGrad(x) }

// SigmoidGrad returns s(1-s) with s = sigmoid(x).
func (Float64Ops) SigmoidGrad(x float64) float64 { return sigmoidGrad(x) }

// FromFloat32 returns f (exact).
func (Float64Ops) FromFloat32(f float32) float64 { return float64(f) }

// ToFloat32 returns a rounded to nearest even float32 (±Inf on overflow).
func (Float64Ops) ToFloat32(a float64) float32 { return float32(a) }

// FromFloat64 returns f.
func (Float64Ops) FromFloat64(f float64) float64 { return f }

// ToFloat64 returns a.
func (Float64Ops) ToFloat64(a float64) float64 { return a }

// Zero returns 0.
func (Float64Ops) Zero() float64 { return 0 }

// One returns 1.
func (Float64Ops) One() float64 { return 1 }

// IsZero reports whether a is +0 or -0.
func (Float64Ops) IsZero(a float64) bool { return a == 0 }

// Equal reports whether a == b (false if either is NaN; +0 equals -0).
func (Float64Ops) Equal(a, b float64) bool { return a == b }

// Less reports whether a < b (false if either is NaN).
func (Float64Ops) Less(a, b float64) bool { return a < b }

// Greater reports whether a > b (false if either is NaN).
func (Float64Ops) Greater(a, b float64) bool { return a > b }
