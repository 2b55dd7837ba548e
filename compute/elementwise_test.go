package compute

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestBroadcastShapes(t *testing.T) {
	tests := []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{2, 3}, []int{2, 3}, []int{2, 3}, true},
		{[]int{2, 3}, []int{}, []int{2, 3}, true},
		{[]int{2, 3}, []int{3}, []int{2, 3}, true},
		{[]int{2, 1}, []int{1, 3}, []int{2, 3}, true},
		{[]int{2, 1, 3}, []int{4, 1}, []int{2, 4, 3}, true},
		{[]int{5, 1, 4}, []int{2, 1, 1, 1}, []int{2, 5, 1, 4}, true},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3}, true},
		{[]int{2, 3}, []int{4}, nil, false},
		{[]int{2, 3}, []int{3, 2}, nil, false},
		{[]int{0}, []int{2}, nil, false},
	}
	for _, tc := range tests {
		got, ok := broadcastShapes(tc.a, tc.b)
		if ok != tc.ok || ok && !tensor.SameShape(got, tc.want) {
			t.Errorf("broadcastShapes(%v, %v) = %v, %v; want %v, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBinaryBroadcastFloat32(t *testing.T) {
	ops := map[string]struct {
		run func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error)
		ref func(x, y float64) float64
	}{
		"Add": {func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return e.Add(context.Background(), a, b)
		}, func(x, y float64) float64 { return x + y }},
		"Sub": {func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return e.Sub(context.Background(), a, b)
		}, func(x, y float64) float64 { return x - y }},
		"Mul": {func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return e.Mul(context.Background(), a, b)
		}, func(x, y float64) float64 { return x * y }},
		"Div": {func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return e.Div(context.Background(), a, b)
		}, func(x, y float64) float64 { return x / y }},
		"Pow": {func(e *CPUEngine[float32], a, b *tensor.Tensor[float32]) (*tensor.Tensor[float32], error) {
			return e.Pow(context.Background(), a, b)
		}, math.Pow},
	}
	shapes := []struct{ a, b []int }{
		{[]int{2, 3}, []int{2, 3}},       // same shape
		{[]int{2, 3}, []int{}},           // scalar
		{[]int{}, []int{2, 3}},           // scalar on the left
		{[]int{2, 3}, []int{3}},          // row
		{[]int{2, 3}, []int{2, 1}},       // column
		{[]int{2, 1, 3}, []int{4, 1}},    // both broadcast
		{[]int{4, 1}, []int{2, 1, 3}},    // swapped
		{[]int{3, 1, 5}, []int{1, 4, 1}}, // outer and inner broadcast
		{[]int{2, 3, 4}, []int{3, 1}},    // rank mismatch
		{[]int{1, 1}, []int{1}},          // all ones
		{[]int{0, 3}, []int{3}},          // empty
		{[]int{64, 1000}, []int{1000}},   // row broadcast over many rows (parallel)
		{[]int{70000}, []int{70000}},     // large same shape (parallel)
		{[]int{300, 1}, []int{1, 300}},   // outer product (parallel rows)
		{[]int{1, 70000}, []int{1}},      // one long broadcast run
	}
	rng := rand.New(rand.NewPCG(1, 2))
	e := f32()
	for name, op := range ops {
		for _, sh := range shapes {
			if big := product(sh.a) > 10000 || product(sh.b) > 10000; big && name != "Add" && name != "Sub" {
				continue // the parallel paths are shared; keep -race fast
			}
			t.Run(fmt.Sprintf("%s/%v_%v", name, sh.a, sh.b), func(t *testing.T) {
				a, b := randF32(t, rng, sh.a...), randF32(t, rng, sh.b...)
				if name == "Pow" { // positive bases
					for i, v := range a.Data() {
						a.Data()[i] = v*v + 0.5
					}
				}
				got, err := op.run(e, a, b)
				if err != nil {
					t.Fatal(err)
				}
				out, _ := broadcastShapes(sh.a, sh.b)
				checkShape(t, name, got, out)
				want := refBroadcast(out, sh.a, to64(a.Data()), sh.b, to64(b.Data()), op.ref)
				checkClose(t, fmt.Sprintf("%s(%v, %v)", name, sh.a, sh.b), got.Data(), want, 2e-6)
			})
		}
	}
}

func TestBinaryHandValues(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk(t, []int{2, 1, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := mk(t, []int{2, 1}, []float32{10, 20})
	got, err := e.Add(ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26}
	checkShape(t, "Add", got, []int{2, 2, 3})
	for i := range want {
		if got.Data()[i] != want[i] {
			t.Fatalf("Add([2,1,3], [2,1]) element %d: got %v, want %v", i, got.Data()[i], want[i])
		}
	}
	s, err := e.AddScalar(ctx, a, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.MulScalar(ctx, a, -2)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Data() {
		if s.Data()[i] != v+0.5 || m.Data()[i] != -2*v {
			t.Fatalf("element %d: AddScalar got %v, want %v; MulScalar got %v, want %v", i, s.Data()[i], v+0.5, m.Data()[i], -2*v)
		}
	}
	// IEEE division by zero.
	q, err := e.Div(ctx, mk(t, []int{3}, []float32{1, -1, 0}), tensor.Scalar[float32](0))
	if err != nil {
		t.Fatal(err)
	}
	if d := q.Data(); !math.IsInf(float64(d[0]), 1) || !math.IsInf(float64(d[1]), -1) || !math.IsNaN(float64(d[2])) {
		t.Fatalf("Div by zero: got %v, want [+Inf -Inf NaN]", d)
	}
}

func TestBinaryDestination(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk(t, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	b := mk(t, []int{3}, []float32{1, 1, 1})
	// In place into a.
	got, err := e.Add(ctx, a, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if got != a {
		t.Fatalf("Add with dst: got a different tensor back")
	}
	for i, v := range a.Data() {
		if v != float32(i+2) {
			t.Fatalf("in-place Add element %d: got %v, want %v", i, v, i+2)
		}
	}
	// Wrong destination shape.
	_, err = e.Add(ctx, a, b, mk[float32](t, []int{3, 2}, nil))
	wantErr(t, "Add into [3 2]", err, tensor.ErrShape)
	// Too many destinations.
	_, err = e.Add(ctx, a, b, a, a)
	wantErr(t, "Add with 2 destinations", err, tensor.ErrShape)
}

func TestBinaryErrors(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk[float32](t, []int{2, 3}, nil)
	_, err := e.Add(ctx, a, mk[float32](t, []int{4}, nil))
	wantErr(t, "Add [2 3]+[4]", err, tensor.ErrShape)
	_, err = e.Mul(ctx, a, mk[float32](t, []int{3, 2}, nil))
	wantErr(t, "Mul [2 3]*[3 2]", err, tensor.ErrShape)
	_, err = e.Sub(ctx, nil, a)
	wantErr(t, "Sub nil", err, tensor.ErrShape)
	_, err = e.AddScalar(ctx, nil, 1)
	wantErr(t, "AddScalar nil", err, tensor.ErrShape)
}

// TestBinaryAllTypes runs Add, Mul and Div over every element type against
// values computed by hand.
func TestBinaryAllTypes(t *testing.T) {
	t.Run("float64", func(t *testing.T) { testBinaryType(t, numeric.Float64Ops{}) })
	t.Run("float16", func(t *testing.T) { testBinaryType(t, numeric.Float16Ops{}) })
	t.Run("bfloat16", func(t *testing.T) { testBinaryType(t, numeric.BFloat16Ops{}) })
	t.Run("float8e4m3fn", func(t *testing.T) { testBinaryType(t, numeric.Float8E4M3FNOps{}) })
	t.Run("float8e5m2", func(t *testing.T) { testBinaryType(t, numeric.Float8E5M2Ops{}) })
	t.Run("int8", func(t *testing.T) { testBinaryType(t, numeric.Int8Ops{}) })
	t.Run("uint8", func(t *testing.T) { testBinaryType(t, numeric.Uint8Ops{}) })
	t.Run("int16", func(t *testing.T) { testBinaryType(t, numeric.Int16Ops{}) })
	t.Run("int32", func(t *testing.T) { testBinaryType(t, numeric.Int32Ops{}) })
	t.Run("int64", func(t *testing.T) { testBinaryType(t, numeric.Int64Ops{}) })
}

// testBinaryType checks small exact values (representable in every type).
func testBinaryType[T tensor.Numeric](t *testing.T, ops numeric.Arithmetic[T]) {
	ctx := context.Background()
	e := NewCPUEngine[T](ops)
	conv := func(xs ...float64) []T {
		r := make([]T, len(xs))
		for i, x := range xs {
			r[i] = ops.FromFloat64(x)
		}
		return r
	}
	a := mk(t, []int{2, 3}, conv(1, 2, 3, 4, 5, 6))
	b := mk(t, []int{3}, conv(2, 1, 3))
	cases := []struct {
		name string
		run  func() (*tensor.Tensor[T], error)
		want []float64
	}{
		{"Add", func() (*tensor.Tensor[T], error) { return e.Add(ctx, a, b) }, []float64{3, 3, 6, 6, 6, 9}},
		{"Sub", func() (*tensor.Tensor[T], error) { return e.Sub(ctx, a, b) }, []float64{-1, 1, 0, 2, 4, 3}},
		{"Mul", func() (*tensor.Tensor[T], error) { return e.Mul(ctx, a, b) }, []float64{2, 2, 9, 8, 5, 18}},
		{"Div", func() (*tensor.Tensor[T], error) { return e.Div(ctx, a, mk(t, []int{}, conv(2))) }, []float64{0.5, 1, 1.5, 2, 2.5, 3}},
		{"Pow", func() (*tensor.Tensor[T], error) { return e.Pow(ctx, a, mk(t, []int{}, conv(2))) }, []float64{1, 4, 9, 16, 25, 36}},
		{"Sum0", func() (*tensor.Tensor[T], error) { return e.Sum(ctx, a, 0, false) }, []float64{5, 7, 9}},
		{"Sum1", func() (*tensor.Tensor[T], error) { return e.Sum(ctx, a, -1, true) }, []float64{6, 15}},
		{"Max1", func() (*tensor.Tensor[T], error) { return e.Max(ctx, a, 1, false) }, []float64{3, 6}},
		{"Mean0", func() (*tensor.Tensor[T], error) { return e.Mean(ctx, a, 0, false) }, []float64{2.5, 3.5, 4.5}},
		{"MatMul", func() (*tensor.Tensor[T], error) { return e.MatMul(ctx, a, b) }, []float64{13, 31}},
		{"Relu", func() (*tensor.Tensor[T], error) { return e.Relu(ctx, a) }, []float64{1, 2, 3, 4, 5, 6}},
		{"Neg", func() (*tensor.Tensor[T], error) { return e.Neg(ctx, b) }, []float64{-2, -1, -3}},
	}
	dt := numeric.DTypeOf[T]()
	integer := dt == numeric.Int8 || dt == numeric.Uint8 || dt == numeric.Int16 || dt == numeric.Int32 || dt == numeric.Int64
	for _, tc := range cases {
		if dt == numeric.Uint8 && (tc.name == "Sub" || tc.name == "Neg") {
			continue // negative results are not representable
		}
		got, err := tc.run()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i, w := range tc.want {
			if integer && tc.name == "Div" {
				w = math.Trunc(w) // integer division truncates
			} else {
				w = ops.ToFloat64(ops.FromFloat64(w)) // one rounding of the exact result
			}
			if g := ops.ToFloat64(got.Data()[i]); g != w {
				t.Fatalf("%s element %d: got %v, want %v", tc.name, i, g, w)
			}
		}
	}
}
