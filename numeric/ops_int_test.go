package numeric

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// satRef clamps the exact float64 result r to [lo, hi]; the reference for
// the saturating integer ops, computed in float64 rather than int64.
func satRef(r, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, r)) }

// divRef is the documented division: truncation, saturation, and x/0 as
// the saturated ±Inf (0 for 0/0).
func divRef(a, b, lo, hi float64) float64 {
	if b == 0 {
		switch {
		case a > 0:
			return hi
		case a < 0:
			return lo
		}
		return 0
	}
	return satRef(math.Trunc(a/b), lo, hi)
}

// testSmallIntExhaustive checks Add, Sub, Mul, Div, Neg and Abs of an 8-bit
// type on every pair of operands.
func testSmallIntExhaustive[T int8 | uint8](t *testing.T, ops Arithmetic[T], lo, hi float64) {
	for i := int(lo); i <= int(hi); i++ {
		a := T(i)
		fa := float64(i)
		if got, want := float64(ops.Neg(a)), satRef(-fa, lo, hi); got != want {
			t.Errorf("Neg(%v): got %v, want %v", a, got, want)
		}
		if got, want := float64(ops.Abs(a)), satRef(math.Abs(fa), lo, hi); got != want {
			t.Errorf("Abs(%v): got %v, want %v", a, got, want)
		}
		for j := int(lo); j <= int(hi); j++ {
			b := T(j)
			fb := float64(j)
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"Add", float64(ops.Add(a, b)), satRef(fa+fb, lo, hi)},
				{"Sub", float64(ops.Sub(a, b)), satRef(fa-fb, lo, hi)},
				{"Mul", float64(ops.Mul(a, b)), satRef(fa*fb, lo, hi)},
				{"Div", float64(ops.Div(a, b)), divRef(fa, fb, lo, hi)},
			} {
				if c.got != c.want {
					t.Fatalf("%s(%v, %v): got %v, want %v", c.name, a, b, c.got, c.want)
				}
			}
		}
	}
}

func TestInt8OpsExhaustive(t *testing.T)  { testSmallIntExhaustive[int8](t, Int8Ops{}, -128, 127) }
func TestUint8OpsExhaustive(t *testing.T) { testSmallIntExhaustive[uint8](t, Uint8Ops{}, 0, 255) }

func TestIntOpsEdges(t *testing.T) {
	i16, i32, i64, u8, i8 := Int16Ops{}, Int32Ops{}, Int64Ops{}, Uint8Ops{}, Int8Ops{}
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		name      string
		got, want int64
	}{
		{"u8 250+10", int64(u8.Add(250, 10)), 255},
		{"u8 3-5", int64(u8.Sub(3, 5)), 0},
		{"u8 16*16", int64(u8.Mul(16, 16)), 255},
		{"u8 7/0", int64(u8.Div(7, 0)), 255},
		{"u8 0/0", int64(u8.Div(0, 0)), 0},
		{"u8 Neg(5)", int64(u8.Neg(5)), 0},
		{"u8 FromFloat32(255.6)", int64(u8.FromFloat32(255.6)), 255},
		{"u8 FromFloat32(-3)", int64(u8.FromFloat32(-3)), 0},
		{"u8 FromFloat64(2.5) ties to even", int64(u8.FromFloat64(2.5)), 2},
		{"u8 FromFloat64(3.5) ties to even", int64(u8.FromFloat64(3.5)), 4},
		{"u8 FromFloat64(NaN)", int64(u8.FromFloat64(nan)), 0},
		{"u8 Log(0)", int64(u8.Log(0)), 0},
		{"u8 Exp(6)", int64(u8.Exp(6)), 255},
		{"u8 Exp(3)", int64(u8.Exp(3)), 20},
		{"u8 Sqrt(200)", int64(u8.Sqrt(200)), 14},
		{"u8 AbsGrad(9)", int64(u8.AbsGrad(9)), 1},
		{"i8 Div(-128, -1)", int64(i8.Div(-128, -1)), 127},
		{"i8 Abs(-128)", int64(i8.Abs(-128)), 127},
		{"i8 -7/2 truncates", int64(i8.Div(-7, 2)), -3},
		{"i8 -5/0", int64(i8.Div(-5, 0)), -128},
		{"i8 FromFloat64(-2.5)", int64(i8.FromFloat64(-2.5)), -2},
		{"i8 FromFloat64(-Inf)", int64(i8.FromFloat64(-inf)), -128},
		{"i8 Log(-1) is NaN → 0", int64(i8.Log(-1)), 0},
		{"i8 Log(0)", int64(i8.Log(0)), -128},
		{"i8 Sigmoid(3)", int64(i8.Sigmoid(3)), 1},
		{"i8 Sigmoid(0) ties to 0", int64(i8.Sigmoid(0)), 0},
		{"i8 Tanh(-2)", int64(i8.Tanh(-2)), -1},
		{"i8 LogGrad(0)", int64(i8.LogGrad(0)), 127},
		{"i8 SqrtGrad(0)", int64(i8.SqrtGrad(0)), 127},
		{"i8 TanhGrad(0)", int64(i8.TanhGrad(0)), 1},
		{"i8 SigmoidGrad(0)", int64(i8.SigmoidGrad(0)), 0},
		{"i16 30000+30000", int64(i16.Add(30000, 30000)), math.MaxInt16},
		{"i16 -30000-30000", int64(i16.Sub(-30000, 30000)), math.MinInt16},
		{"i16 1/0", int64(i16.Div(1, 0)), math.MaxInt16},
		{"i16 Neg(min)", int64(i16.Neg(math.MinInt16)), math.MaxInt16},
		{"i16 FromFloat32(1e9)", int64(i16.FromFloat32(1e9)), math.MaxInt16},
		{"i32 max*2", int64(i32.Mul(math.MaxInt32, 2)), math.MaxInt32},
		{"i32 min*2", int64(i32.Mul(math.MinInt32, 2)), math.MinInt32},
		{"i32 min/-1", int64(i32.Div(math.MinInt32, -1)), math.MaxInt32},
		{"i32 -1/0", int64(i32.Div(-1, 0)), math.MinInt32},
		{"i32 Exp(30)", int64(i32.Exp(30)), math.MaxInt32},
		{"i32 Exp(20)", int64(i32.Exp(20)), 485165195},
		{"i32 FromFloat64(-1e10)", int64(i32.FromFloat64(-1e10)), math.MinInt32},
		{"i64 max+1", i64.Add(math.MaxInt64, 1), math.MaxInt64},
		{"i64 min-1", i64.Sub(math.MinInt64, 1), math.MinInt64},
		{"i64 min+max", i64.Add(math.MinInt64, math.MaxInt64), -1},
		{"i64 -1-max", i64.Sub(-1, math.MaxInt64), math.MinInt64},
		{"i64 0-min", i64.Sub(0, math.MinInt64), math.MaxInt64},
		{"i64 max*-1", i64.Mul(math.MaxInt64, -1), -math.MaxInt64},
		{"i64 min*1", i64.Mul(math.MinInt64, 1), math.MinInt64},
		{"i64 min*-1", i64.Mul(math.MinInt64, -1), math.MaxInt64},
		{"i64 2^32*2^31", i64.Mul(1<<32, 1<<31), math.MaxInt64},
		{"i64 -2^32*2^31", i64.Mul(-1<<32, 1<<31), math.MinInt64},
		{"i64 -2^32*2^31 exact", i64.Mul(-1<<32, 1<<30), -1 << 62},
		{"i64 min/-1", i64.Div(math.MinInt64, -1), math.MaxInt64},
		{"i64 7/-1", i64.Div(7, -1), -7},
		{"i64 -7/2", i64.Div(-7, 2), -3},
		{"i64 5/0", i64.Div(5, 0), math.MaxInt64},
		{"i64 -5/0", i64.Div(-5, 0), math.MinInt64},
		{"i64 0/0", i64.Div(0, 0), 0},
		{"i64 Abs(min)", i64.Abs(math.MinInt64), math.MaxInt64},
		{"i64 Abs(-3)", i64.Abs(-3), 3},
		{"i64 Neg(5)", i64.Neg(5), -5},
		{"i64 FromFloat64(9.3e18)", i64.FromFloat64(9.3e18), math.MaxInt64},
		{"i64 FromFloat64(-9.3e18)", i64.FromFloat64(-9.3e18), math.MinInt64},
		{"i64 FromFloat64(2^62)", i64.FromFloat64(1 << 62), 1 << 62},
		{"i64 FromFloat32(-2.5)", i64.FromFloat32(-2.5), -2},
		{"i64 FromFloat64(NaN)", i64.FromFloat64(nan), 0},
		{"i64 Exp(40)", i64.Exp(40), int64(math.Exp(40))},
		{"i64 Exp(100)", i64.Exp(100), math.MaxInt64},
		{"i64 Log(0)", i64.Log(0), math.MinInt64},
		{"i64 Sqrt(1e12)", i64.Sqrt(1e12), 1e6},
		{"i64 Sqrt(-4)", i64.Sqrt(-4), 0},
		{"i64 Tanh(-9)", i64.Tanh(-9), -1},
		{"i64 Sigmoid(5)", i64.Sigmoid(5), 1},
		{"i64 AbsGrad(-9)", i64.AbsGrad(-9), -1},
		{"i64 ExpGrad(2)", i64.ExpGrad(2), 7},
		{"i64 LogGrad(0)", i64.LogGrad(0), math.MaxInt64},
		{"i64 LogGrad(-1)", i64.LogGrad(-1), -1},
		{"i64 SqrtGrad(0)", i64.SqrtGrad(0), math.MaxInt64},
		{"i64 TanhGrad(0)", i64.TanhGrad(0), 1},
		{"i64 SigmoidGrad(1)", i64.SigmoidGrad(1), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if got := i64.ToFloat32(1<<40 + 1); got != 1<<40 {
		t.Errorf("Int64Ops.ToFloat32(2^40+1): got %v, want 2^40", got)
	}
	if got := i64.ToFloat64(1<<62 + 1); got != 1<<62 {
		t.Errorf("Int64Ops.ToFloat64(2^62+1): got %v, want 2^62", got)
	}
}

// TestInt64OpsRandom compares saturating Add, Sub, Mul and Div with
// math/big on operands of every magnitude.
func TestInt64OpsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ops := Int64Ops{}
	minB, maxB := big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	clamp := func(z *big.Int) int64 {
		if z.Cmp(maxB) > 0 {
			return math.MaxInt64
		}
		if z.Cmp(minB) < 0 {
			return math.MinInt64
		}
		return z.Int64()
	}
	operand := func() int64 {
		v := int64(rng.Uint64() >> rng.IntN(64))
		if rng.IntN(2) == 0 {
			v = -v
		}
		return v
	}
	edges := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 31, -1 << 31, 1 << 32, 3037000499, 3037000500}
	for i := range 30000 {
		a, b := operand(), operand()
		if i < len(edges)*len(edges) {
			a, b = edges[i/len(edges)], edges[i%len(edges)]
		}
		A, B := big.NewInt(a), big.NewInt(b)
		checks := []struct {
			name      string
			got, want int64
		}{
			{"Add", ops.Add(a, b), clamp(new(big.Int).Add(A, B))},
			{"Sub", ops.Sub(a, b), clamp(new(big.Int).Sub(A, B))},
			{"Mul", ops.Mul(a, b), clamp(new(big.Int).Mul(A, B))},
		}
		if b != 0 {
			checks = append(checks, struct {
				name      string
				got, want int64
			}{"Div", ops.Div(a, b), clamp(new(big.Int).Quo(A, B))})
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Fatalf("%s(%d, %d): got %d, want %d", c.name, a, b, c.got, c.want)
			}
		}
	}
}
