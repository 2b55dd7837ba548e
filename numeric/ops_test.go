package numeric

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testArithmetic is the conformance suite every Arithmetic implementation
// passes. signed and fractional say whether T holds negative numbers and
// fractions.
func testArithmetic[T Number](t *testing.T, ops Arithmetic[T], signed, fractional bool) {
	t.Helper()
	v := ops.FromFloat64
	f := ops.ToFloat64
	check := func(name string, got T, want float64) {
		t.Helper()
		if g := f(got); g != want {
			t.Errorf("%s: got %v, want %v", name, g, want)
		}
	}
	check("Zero()", ops.Zero(), 0)
	check("One()", ops.One(), 1)
	check("FromFloat32(3)", ops.FromFloat32(3), 3)
	if g := ops.ToFloat32(v(3)); g != 3 {
		t.Errorf("ToFloat32(3): got %v, want 3", g)
	}
	check("Add(2, 3)", ops.Add(v(2), v(3)), 5)
	check("Sub(7, 3)", ops.Sub(v(7), v(3)), 4)
	check("Mul(2, 3)", ops.Mul(v(2), v(3)), 6)
	check("Div(6, 3)", ops.Div(v(6), v(3)), 2)
	check("Abs(3)", ops.Abs(v(3)), 3)
	check("Sqrt(4)", ops.Sqrt(v(4)), 2)
	check("Exp(0)", ops.Exp(v(0)), 1)
	check("Log(1)", ops.Log(v(1)), 0)
	check("Tanh(0)", ops.Tanh(v(0)), 0)
	check("AbsGrad(3)", ops.AbsGrad(v(3)), 1)
	check("AbsGrad(0)", ops.AbsGrad(v(0)), 0)
	check("ExpGrad(0)", ops.ExpGrad(v(0)), 1)
	check("LogGrad(1)", ops.LogGrad(v(1)), 1)
	check("TanhGrad(0)", ops.TanhGrad(v(0)), 1)
	if !ops.IsZero(ops.Zero()) || ops.IsZero(ops.One()) {
		t.Errorf("IsZero: got %v for 0 and %v for 1, want true and false", ops.IsZero(ops.Zero()), ops.IsZero(ops.One()))
	}
	cmp := []struct {
		a, b       float64
		eq, lt, gt bool
	}{
		{2, 2, true, false, false},
		{2, 3, false, true, false},
		{3, 2, false, false, true},
	}
	if signed {
		check("Neg(2)", ops.Neg(v(2)), -2)
		check("Abs(-3)", ops.Abs(v(-3)), 3)
		check("AbsGrad(-3)", ops.AbsGrad(v(-3)), -1)
		check("Div(-6, 3)", ops.Div(v(-6), v(3)), -2)
		check("Sub(2, 5)", ops.Sub(v(2), v(5)), -3)
		cmp = append(cmp, struct {
			a, b       float64
			eq, lt, gt bool
		}{-3, 2, false, true, false})
	}
	if fractional {
		check("Sigmoid(0)", ops.Sigmoid(v(0)), 0.5)
		check("SigmoidGrad(0)", ops.SigmoidGrad(v(0)), 0.25)
		check("SqrtGrad(0.25)", ops.SqrtGrad(v(0.25)), 1)
		check("LogGrad(4)", ops.LogGrad(v(4)), 0.25)
		check("Div(1, 4)", ops.Div(v(1), v(4)), 0.25)
		nan := v(math.NaN())
		if !math.IsNaN(f(nan)) {
			t.Errorf("FromFloat64(NaN): got %v, want NaN", f(nan))
		}
		for _, x := range []T{nan, v(1)} {
			if ops.Equal(nan, x) || ops.Less(nan, x) || ops.Greater(nan, x) || ops.Less(x, nan) || ops.Greater(x, nan) {
				t.Errorf("comparisons with NaN: got true, want false")
			}
		}
		negZero := v(math.Copysign(0, -1))
		if !ops.IsZero(negZero) || !ops.Equal(negZero, ops.Zero()) {
			t.Errorf("-0: got IsZero %v, Equal(-0, 0) %v, want true, true", ops.IsZero(negZero), ops.Equal(negZero, ops.Zero()))
		}
	}
	for _, c := range cmp {
		a, b := v(c.a), v(c.b)
		if ops.Equal(a, b) != c.eq || ops.Less(a, b) != c.lt || ops.Greater(a, b) != c.gt {
			t.Errorf("Equal/Less/Greater(%v, %v): got %v/%v/%v, want %v/%v/%v",
				c.a, c.b, ops.Equal(a, b), ops.Less(a, b), ops.Greater(a, b), c.eq, c.lt, c.gt)
		}
	}

	// Unary functions compute in float64 on the exact value and round once
	// through FromFloat64.
	unary := []struct {
		name string
		op   func(T) T
		ref  func(float64) float64
	}{
		{"Exp", ops.Exp, math.Exp},
		{"Log", ops.Log, math.Log},
		{"Sqrt", ops.Sqrt, math.Sqrt},
		{"Tanh", ops.Tanh, math.Tanh},
		{"Sigmoid", ops.Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"ExpGrad", ops.ExpGrad, math.Exp},
		{"LogGrad", ops.LogGrad, func(x float64) float64 { return 1 / x }},
		{"SqrtGrad", ops.SqrtGrad, func(x float64) float64 { return 1 / (2 * math.Sqrt(x)) }},
		{"TanhGrad", ops.TanhGrad, func(x float64) float64 { c := math.Cosh(x); return 1 / (c * c) }},
		{"SigmoidGrad", ops.SigmoidGrad, func(x float64) float64 { e := math.Exp(-x); return e / ((1 + e) * (1 + e)) }},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		x := v(rng.Float64()*16 - 8)
		if !signed {
			x = v(rng.Float64() * 16)
		}
		xf := f(x)
		for _, u := range unary {
			got, want := f(u.op(x)), f(v(u.ref(xf)))
			if got != want && !(math.IsNaN(got) && math.IsNaN(want)) && !nearlyEqual(got, u.ref(xf)) {
				t.Errorf("%s(%v): got %v, want %v", u.name, xf, got, want)
			}
		}
	}
}

// nearlyEqual allows a last-place difference when a reference formula and
// the implementation round differently in float64.
func nearlyEqual(got, ref float64) bool {
	return math.Abs(got-ref) <= 1e-6*math.Abs(ref)
}

func TestArithmeticConformance(t *testing.T) {
	t.Run("Float32Ops", func(t *testing.T) { testArithmetic[float32](t, Float32Ops{}, true, true) })
	t.Run("Float64Ops", func(t *testing.T) { testArithmetic[float64](t, Float64Ops{}, true, true) })
	t.Run("Float16Ops", func(t *testing.T) { testArithmetic[Float16](t, Float16Ops{}, true, true) })
	t.Run("BFloat16Ops", func(t *testing.T) { testArithmetic[BFloat16](t, BFloat16Ops{}, true, true) })
	t.Run("Float8Ops", func(t *testing.T) { testArithmetic[Float8E4M3FN](t, Float8Ops{}, true, true) })
	t.Run("Float8E5M2Ops", func(t *testing.T) { testArithmetic[Float8E5M2](t, Float8E5M2Ops{}, true, true) })
	t.Run("Int8Ops", func(t *testing.T) { testArithmetic[int8](t, Int8Ops{}, true, false) })
	t.Run("Uint8Ops", func(t *testing.T) { testArithmetic[uint8](t, Uint8Ops{}, false, false) })
	t.Run("Int16Ops", func(t *testing.T) { testArithmetic[int16](t, Int16Ops{}, true, false) })
	t.Run("Int32Ops", func(t *testing.T) { testArithmetic[int32](t, Int32Ops{}, true, false) })
	t.Run("Int64Ops", func(t *testing.T) { testArithmetic[int64](t, Int64Ops{}, true, false) })
}

func TestFloatOpsEdges(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	o32, o64 := Float32Ops{}, Float64Ops{}
	tests := []struct {
		name      string
		got, want float64
	}{
		{"f32 Div(1, 0)", float64(o32.Div(1, 0)), inf},
		{"f32 Div(-1, 0)", float64(o32.Div(-1, 0)), -inf},
		{"f32 Sigmoid(-1000)", float64(o32.Sigmoid(-1000)), 0},
		{"f32 Sigmoid(1000)", float64(o32.Sigmoid(1000)), 1},
		{"f32 Sigmoid(-2)", float64(o32.Sigmoid(-2)), float64(float32(1 / (1 + math.Exp(2))))},
		{"f32 Log(0)", float64(o32.Log(0)), -inf},
		{"f32 SqrtGrad(0)", float64(o32.SqrtGrad(0)), inf},
		{"f32 LogGrad(-2)", float64(o32.LogGrad(-2)), -0.5},
		{"f32 Exp(1)", float64(o32.Exp(1)), float64(float32(math.E))},
		{"f32 Abs(-0) sign", float64(math.Float32bits(o32.Abs(float32(math.Copysign(0, -1))))), 0},
		{"f32 Neg(1.5)", float64(o32.Neg(1.5)), -1.5},
		{"f32 Mul(1.5, -2)", float64(o32.Mul(1.5, -2)), -3},
		{"f32 FromFloat64(1e40)", float64(o32.FromFloat64(1e40)), inf},
		{"f32 AbsGrad(NaN)", float64(o32.AbsGrad(float32(nan))), nan},
		{"f64 Sigmoid(-1000)", o64.Sigmoid(-1000), 0},
		{"f64 Div(0, 0)", o64.Div(0, 0), nan},
		{"f64 Abs(-2)", o64.Abs(-2), 2},
		{"f64 Neg(2)", o64.Neg(2), -2},
		{"f64 FromFloat32(0.1)", o64.FromFloat32(0.1), float64(float32(0.1))},
		{"f64 ToFloat32(0.1)", float64(o64.ToFloat32(0.1)), float64(float32(0.1))},
		{"f16 Add(65504, 32) overflows", Float16Ops{}.Add(Float16FromFloat32(65504), Float16FromFloat32(32)).Float64(), inf},
		{"f16 Add(65504, 15.9) rounds to max", Float16Ops{}.Add(Float16FromFloat32(65504), Float16FromFloat32(15.9)).Float64(), 65504},
		{"f16 Div(1, 0)", Float16Ops{}.Div(Float16FromFloat32(1), Float16{}).Float64(), inf},
		{"f16 Div(0, 0)", Float16Ops{}.Div(Float16{}, Float16{}).Float64(), nan},
		{"f16 Neg(Inf)", Float16Ops{}.Neg(Float16FromBits(f16Inf)).Float64(), -inf},
		{"f16 Abs(-Inf)", Float16Ops{}.Abs(Float16FromBits(0xfc00)).Float64(), inf},
		{"f16 Sqrt(-1)", Float16Ops{}.Sqrt(Float16FromFloat32(-1)).Float64(), nan},
		{"f16 Log(0)", Float16Ops{}.Log(Float16{}).Float64(), -inf},
		{"bf16 Mul(1e38, 10)", BFloat16Ops{}.Mul(BFloat16FromFloat32(1e38), BFloat16FromFloat32(10)).Float64(), inf},
		{"bf16 1+2^-8 rounds to even", BFloat16Ops{}.Add(BFloat16FromFloat32(1), BFloat16FromFloat32(0x1p-8)).Float64(), 1},
		{"e4m3 Mul(448, 2) saturates", Float8Ops{}.Mul(Float8E4M3FNFromFloat32(448), Float8E4M3FNFromFloat32(2)).Float64(), 448},
		{"e4m3 Div(-1, 0) saturates", Float8Ops{}.Div(Float8E4M3FNFromFloat32(-1), Float8E4M3FN{}).Float64(), -448},
		{"e4m3 Log(0) saturates", Float8Ops{}.Log(Float8E4M3FN{}).Float64(), -448},
		{"e4m3 Exp(10) saturates", Float8Ops{}.Exp(Float8E4M3FNFromFloat32(10)).Float64(), 448},
		{"e4m3 Neg(NaN)", Float8Ops{}.Neg(Float8E4M3FNFromBits(0x7f)).Float64(), nan},
		{"e5m2 Mul(57344, 2)", Float8E5M2Ops{}.Mul(Float8E5M2FromFloat32(57344), Float8E5M2FromFloat32(2)).Float64(), inf},
		{"e5m2 Sub(1, 1)", Float8E5M2Ops{}.Sub(Float8E5M2FromFloat32(1), Float8E5M2FromFloat32(1)).Float64(), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want && !(math.IsNaN(tt.got) && math.IsNaN(tt.want)) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestMathHelpers checks the float64 helpers against independent formulas.
func TestMathHelpers(t *testing.T) {
	for _, x := range []float64{-700, -30, -5, -1, -0.25, 0, 0.25, 1, 5, 30, 700} {
		e := math.Exp(-x)
		tests := []struct {
			name      string
			got, want float64
		}{
			{"sigmoid", sigmoid(x), 0.5 * (1 + math.Tanh(x/2))},
			{"sigmoidGrad", sigmoidGrad(x), e / ((1 + e) * (1 + e))},
			{"tanhGrad", tanhGrad(x), 1 / (math.Cosh(x) * math.Cosh(x))},
		}
		for _, tt := range tests {
			if math.IsNaN(tt.want) || math.IsInf(e, 0) {
				tt.want = 0
			}
			if d := math.Abs(tt.got - tt.want); d > 1e-15 && d > 1e-13*math.Abs(tt.want) {
				t.Errorf("%s(%v): got %v, want %v", tt.name, x, tt.got, tt.want)
			}
		}
	}
	if !math.IsNaN(sign(math.NaN())) || sign(-3) != -1 || sign(2) != 1 || sign(0) != 0 {
		t.Errorf("sign: got %v %v %v %v, want NaN -1 1 0", sign(math.NaN()), sign(-3), sign(2), sign(0))
	}
}
