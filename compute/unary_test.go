package compute

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

type unaryFn[T tensor.Numeric] func(e *CPUEngine[T], ctx context.Context, a *tensor.Tensor[T], dst ...*tensor.Tensor[T]) (*tensor.Tensor[T], error)

// unaryCases pairs each unary op with an independent float64 reference
// (written out here rather than shared with the implementation).
func unaryCases[T tensor.Numeric]() []struct {
	name string
	run  unaryFn[T]
	ref  func(float64) float64
	lo   float64 // input range
	hi   float64
} {
	return []struct {
		name string
		run  unaryFn[T]
		ref  func(float64) float64
		lo   float64
		hi   float64
	}{
		{"Neg", (*CPUEngine[T]).Neg, func(x float64) float64 { return -x }, -5, 5},
		{"Abs", (*CPUEngine[T]).Abs, math.Abs, -5, 5},
		{"Exp", (*CPUEngine[T]).Exp, math.Exp, -10, 10},
		{"Log", (*CPUEngine[T]).Log, math.Log, 0.01, 100},
		{"Sqrt", (*CPUEngine[T]).Sqrt, math.Sqrt, 0, 100},
		{"Rsqrt", (*CPUEngine[T]).Rsqrt, func(x float64) float64 { return math.Pow(x, -0.5) }, 0.01, 100},
		{"Tanh", (*CPUEngine[T]).Tanh, math.Tanh, -5, 5},
		{"Erf", (*CPUEngine[T]).Erf, math.Erf, -3, 3},
		{"Sigmoid", (*CPUEngine[T]).Sigmoid, func(x float64) float64 { return 0.5 * (1 + math.Tanh(x/2)) }, -20, 20},
		// Φ(x) = erfc(-x/√2)/2.
		{"Gelu", (*CPUEngine[T]).Gelu, func(x float64) float64 { return x * math.Erfc(-x/math.Sqrt2) / 2 }, -6, 6},
		{"GeluTanh", (*CPUEngine[T]).GeluTanh, func(x float64) float64 {
			return x / 2 * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*math.Pow(x, 3))))
		}, -6, 6},
		{"Silu", (*CPUEngine[T]).Silu, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, -20, 20},
		{"Relu", (*CPUEngine[T]).Relu, func(x float64) float64 { return math.Max(x, 0) }, -5, 5},
	}
}

func TestUnaryFloat32(t *testing.T) {
	ctx := context.Background()
	e := f32()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range unaryCases[float32]() {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 7, 40000} {
				d := make([]float32, n)
				for i := range d {
					d[i] = float32(tc.lo + (tc.hi-tc.lo)*rng.Float64())
				}
				a := mk(t, []int{n}, d)
				got, err := tc.run(e, ctx, a)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float64, n)
				for i, v := range d {
					want[i] = tc.ref(float64(v))
				}
				// float32 rounding of the exact value: relative 2^-24, plus slack.
				checkClose(t, tc.name, got.Data(), want, 3e-7)
			}
		})
	}
}

func TestUnaryFloat64(t *testing.T) {
	ctx := context.Background()
	e := f64()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range unaryCases[float64]() {
		d := make([]float64, 1000)
		for i := range d {
			d[i] = tc.lo + (tc.hi-tc.lo)*rng.Float64()
		}
		got, err := tc.run(e, ctx, mk(t, []int{10, 100}, d))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range d {
			if w := tc.ref(v); !closeTo(got.Data()[i], w, 1e-13) {
				t.Fatalf("%s(%v): got %v, want %v", tc.name, v, got.Data()[i], w)
			}
		}
	}
}

// TestUnaryReducedFloat checks the ops/float64 path: each result is the
// reference rounded to bfloat16, give or take one rounding step.
func TestUnaryReducedFloat(t *testing.T) {
	ctx := context.Background()
	ops := numeric.BFloat16Ops{}
	e := NewCPUEngine[numeric.BFloat16](ops)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range unaryCases[numeric.BFloat16]() {
		d := make([]numeric.BFloat16, 500)
		for i := range d {
			d[i] = ops.FromFloat64(tc.lo + (tc.hi-tc.lo)*rng.Float64())
		}
		got, err := tc.run(e, ctx, mk(t, []int{500}, d))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range d {
			w := tc.ref(ops.ToFloat64(v))
			if g := ops.ToFloat64(got.Data()[i]); !closeTo(g, w, 1.0/128) {
				t.Fatalf("%s(%v): got %v, want %v", tc.name, ops.ToFloat64(v), g, w)
			}
		}
	}
}

func TestUnarySpecialValues(t *testing.T) {
	ctx := context.Background()
	e := f32()
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	a := mk(t, []int{5}, []float32{-inf, -1e30, 0, 1e30, inf})
	tests := []struct {
		name string
		run  unaryFn[float32]
		want []float64
	}{
		{"Sigmoid", (*CPUEngine[float32]).Sigmoid, []float64{0, 0, 0.5, 1, 1}},
		{"Silu", (*CPUEngine[float32]).Silu, []float64{0, 0, 0, 1e30, math.Inf(1)}},
		{"Gelu", (*CPUEngine[float32]).Gelu, []float64{0, 0, 0, 1e30, math.Inf(1)}},
		{"GeluTanh", (*CPUEngine[float32]).GeluTanh, []float64{0, 0, 0, 1e30, math.Inf(1)}},
		{"Tanh", (*CPUEngine[float32]).Tanh, []float64{-1, -1, 0, 1, 1}},
		{"Exp", (*CPUEngine[float32]).Exp, []float64{0, 0, 1, math.Inf(1), math.Inf(1)}},
		{"Relu", (*CPUEngine[float32]).Relu, []float64{0, 0, 0, 1e30, math.Inf(1)}},
	}
	for _, tc := range tests {
		got, err := tc.run(e, ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, tc.name, got.Data(), tc.want, 1e-6)
	}
	r, err := e.Relu(ctx, mk(t, []int{1}, []float32{nan}))
	if err != nil || !math.IsNaN(float64(r.Data()[0])) {
		t.Fatalf("Relu(NaN): got %v, %v, want NaN", r, err)
	}
}

func TestUnaryInPlaceAndMap(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk(t, []int{2, 2}, []float32{1, 4, 9, 16})
	if _, err := e.Sqrt(ctx, a, a); err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Data() {
		if v != float32(i+1) {
			t.Fatalf("in-place Sqrt element %d: got %v, want %v", i, v, i+1)
		}
	}
	m, err := e.Map(ctx, a, func(x float32) float32 { return 10*x + 1 })
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Data() {
		if v != float32(10*(i+1)+1) {
			t.Fatalf("Map element %d: got %v, want %v", i, v, 10*(i+1)+1)
		}
	}
	_, err = e.Map(ctx, a, nil)
	wantErr(t, "Map(nil fn)", err, tensor.ErrShape)
	_, err = e.Exp(ctx, nil)
	wantErr(t, "Exp(nil)", err, tensor.ErrShape)
	_, err = e.Exp(ctx, a, mk[float32](t, []int{4}, nil))
	wantErr(t, "Exp into [4]", err, tensor.ErrShape)
}

func TestUnaryIntegers(t *testing.T) {
	ctx := context.Background()
	e := NewCPUEngine[int32](numeric.Int32Ops{})
	a := mk(t, []int{4}, []int32{-3, -1, 0, 5})
	tests := []struct {
		name string
		run  unaryFn[int32]
		want []int32
	}{
		{"Neg", (*CPUEngine[int32]).Neg, []int32{3, 1, 0, -5}},
		{"Abs", (*CPUEngine[int32]).Abs, []int32{3, 1, 0, 5}},
		{"Relu", (*CPUEngine[int32]).Relu, []int32{0, 0, 0, 5}},
	}
	for _, tc := range tests {
		got, err := tc.run(e, ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if got.Data()[i] != w {
				t.Fatalf("%s(%v): got %v, want %v", tc.name, a.Data(), got.Data(), tc.want)
			}
		}
	}
}

// TestExp32 checks exp32 against math.Exp rounded to float32 on a spread of
// float32 bit patterns covering the reduced range, the edges and beyond.
func TestExp32(t *testing.T) {
	maxULP := 0.0
	check := func(x float32) {
		got, want := exp32(x), math.Exp(float64(x))
		if math.IsInf(want, 0) || want == 0 || float32(want) == 0 || math.IsInf(float64(float32(want)), 0) {
			if got != float32(want) {
				t.Fatalf("exp32(%v) = %v, want %v", x, got, float32(want))
			}
			return
		}
		w32 := float32(want)
		ulp := float64(math.Nextafter32(w32, float32(math.Inf(1))) - w32)
		if u := math.Abs(float64(got)-want) / ulp; u > maxULP {
			maxULP = u
			if u > 1 {
				t.Fatalf("exp32(%v) = %v, want %v: %.2f ulp", x, got, want, u)
			}
		}
	}
	for b := uint64(0); b < 1<<32; b += 1 << 13 {
		if x := math.Float32frombits(uint32(b)); x == x {
			check(x)
		}
	}
	for _, x := range []float32{0, -0, 1, -1, 88.72283, 88.72284, 88.5, 88.38, -87.33654, -87.34, -100, -104, 1e-8, -1e-8} {
		check(x)
	}
	if g := exp32(float32(math.NaN())); g == g {
		t.Fatalf("exp32(NaN) = %v, want NaN", g)
	}
	t.Logf("max error %.3f ulp", maxULP)
}
