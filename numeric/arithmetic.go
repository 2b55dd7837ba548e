package numeric

// Arithmetic is the element arithmetic that generic kernels and layers use
// for a Number type T. Implementations are stateless value types
// (Float32Ops{}, Uint8Ops{}, ...), safe for concurrent use.
//
// Floating-point types follow IEEE 754 (or the format's own rules for NaN,
// infinity and saturation). Integer types document their overflow and
// division-by-zero behaviour on their Ops type.
type Arithmetic[T any] interface {
	// Add returns a + b.
	Add(a, b T) T
	// Sub returns a - b.
	Sub(a, b T) T
	// Mul returns a * b.
	Mul(a, b T) T
	// Div returns a / b.
	Div(a, b T) T
	// Neg returns -a.
	Neg(a T) T
	// Abs returns |a|.
	Abs(a T) T
	// Exp returns e^a.
	Exp(a T) T
	// Log returns the natural logarithm of a.
	Log(a T) T
	// Sqrt returns the square root of a.
	Sqrt(a T) T
	// Tanh returns the hyperbolic tangent of a.
	Tanh(a T) T
	// Sigmoid returns 1 / (1 + e^-a).
	Sigmoid(a T) T

	// AbsGrad returns d|x|/dx at x (the sign of x; 0 at 0).
	AbsGrad(x T) T
	// ExpGrad returns d(e^x)/dx at x.
	ExpGrad(x T) T
	// LogGrad returns d(ln x)/dx = 1/x at x.
	LogGrad(x T) T
	// SqrtGrad returns d(sqrt x)/dx = 1/(2 sqrt x) at x.
	SqrtGrad(x T) T
	// TanhGrad returns d(tanh x)/dx = 1 - tanh(x)^2 at x.
	TanhGrad(x T) T
	// SigmoidGrad returns d(sigmoid x)/dx = s(1-s) at x.
	SigmoidGrad(x T) T

	// FromFloat32 converts f to T (rounding and saturating as T defines).
	FromFloat32(f float32) T
	// ToFloat32 converts a to float32.
	ToFloat32(a T) float32
	// FromFloat64 converts f to T (rounding and saturating as T defines).
	FromFloat64(f float64) T
	// ToFloat64 converts a to float64.
	ToFloat64(a T) float64

	// Zero returns the additive identity.
	Zero() T
	// One returns the multiplicative identity.
	One() T
	// IsZero reports whether a equals zero (both signed zeros for floats).
	IsZero(a T) bool
	// Equal reports whether a == b (false if either is NaN).
	Equal(a, b T) bool
	// Less reports whether a < b (false if either is NaN).
	Less(a, b T) bool
	// Greater reports whether a > b (false if either is NaN).
	Greater(a, b T) bool
}
