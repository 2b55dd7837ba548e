package compute

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// f32 returns a float32 engine.
func f32() *CPUEngine[float32] { return NewCPUEngine[float32](numeric.Float32Ops{}) }

// f64 returns a float64 engine.
func f64() *CPUEngine[float64] { return NewCPUEngine[float64](numeric.Float64Ops{}) }

// mk returns a tensor or fails the test.
func mk[T tensor.Numeric](t testing.TB, shape []int, data []T) *tensor.Tensor[T] {
	t.Helper()
	x, err := tensor.New(shape, data)
	if err != nil {
		t.Fatalf("tensor.New(%v): %v", shape, err)
	}
	return x
}

// randF32 returns a tensor of uniform values in [-1, 1).
func randF32(t testing.TB, rng *rand.Rand, shape ...int) *tensor.Tensor[float32] {
	t.Helper()
	n, err := tensor.SizeOf(shape)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = rng.Float32()*2 - 1
	}
	return mk(t, shape, d)
}

// iota32 returns the float32 values start, start+1, ...
func iota32(n int, start float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = start + float32(i)
	}
	return d
}

// to64 widens a float32 slice.
func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// close32 reports whether got is within tol (relative, with an absolute
// floor of tol) of want; NaNs must match NaNs.
func closeTo(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// checkClose fails unless got matches want elementwise within tol.
func checkClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d elements, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !closeTo(float64(got[i]), want[i], tol) {
			t.Fatalf("%s: element %d: got %v, want %v (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

// checkShape fails unless x has shape want.
func checkShape[T tensor.Numeric](t *testing.T, what string, x *tensor.Tensor[T], want []int) {
	t.Helper()
	if !tensor.SameShape(x.Shape(), want) {
		t.Fatalf("%s: got shape %v, want %v", what, x.Shape(), want)
	}
}

// wantErr fails unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error, want %v", what, target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// refIndex converts a flat index of shape to per-axis indices.
func refIndex(flat int, shape []int) []int {
	idx := make([]int, len(shape))
	for ax := len(shape) - 1; ax >= 0; ax-- {
		if shape[ax] > 0 {
			idx[ax] = flat % shape[ax]
			flat /= shape[ax]
		}
	}
	return idx
}

// refAt reads data of shape at idx, broadcasting idx (aligned right; size-1
// axes read index 0).
func refAt(data []float64, shape, idx []int) float64 {
	off, st := 0, 1
	for i := 1; i <= len(shape); i++ {
		ax := len(shape) - i
		if shape[ax] != 1 {
			off += idx[len(idx)-i] * st
		}
		st *= shape[ax]
	}
	return data[off]
}

// refBroadcast computes f over the broadcast of a and b element by element,
// the slow obvious way.
func refBroadcast(out, as []int, a []float64, bs []int, b []float64, f func(x, y float64) float64) []float64 {
	n := 1
	for _, d := range out {
		n *= d
	}
	r := make([]float64, n)
	idx := make([]int, len(out))
	for i := range r {
		r[i] = f(refAt(a, as, idx), refAt(b, bs, idx))
		for ax := len(out) - 1; ax >= 0; ax-- { // next index, row-major
			if idx[ax]++; idx[ax] < out[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return r
}
