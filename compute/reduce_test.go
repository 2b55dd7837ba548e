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

// refReduce reduces data of shape along axis with f over each lane, the
// slow obvious way, returning the keepDims shape.
func refReduce(data []float64, shape []int, axis int, f func(lane []float64) float64) ([]float64, []int) {
	out := append([]int(nil), shape...)
	out[axis] = 1
	n := 1
	for _, d := range out {
		n *= d
	}
	st := tensor.Strides(shape)
	r := make([]float64, n)
	for i := range r {
		idx := refIndex(i, out)
		lane := make([]float64, shape[axis])
		for k := range lane {
			idx[axis] = k
			off := 0
			for ax, x := range idx {
				off += x * st[ax]
			}
			lane[k] = data[off]
		}
		r[i] = f(lane)
	}
	return r, out
}

func TestReduceFloat32(t *testing.T) {
	ctx := context.Background()
	e := f32()
	rng := rand.New(rand.NewPCG(9, 10))
	sum := func(l []float64) float64 {
		s := 0.0
		for _, v := range l {
			s += v
		}
		return s
	}
	mx := func(l []float64) float64 {
		m := math.Inf(-1)
		for _, v := range l {
			m = math.Max(m, v)
		}
		return m
	}
	type red func(ctx context.Context, a *tensor.Tensor[float32], axis int, keep bool, dst ...*tensor.Tensor[float32]) (*tensor.Tensor[float32], error)
	ops := []struct {
		name string
		run  red
		ref  func([]float64) float64
	}{
		{"Sum", e.Sum, sum},
		{"Mean", e.Mean, func(l []float64) float64 { return sum(l) / float64(len(l)) }},
		{"Max", e.Max, mx},
	}
	shapes := [][]int{{7}, {3, 4}, {2, 3, 5}, {4, 1, 6}, {2, 3000}, {3000, 5}, {20, 30, 20}}
	for _, op := range ops {
		for _, sh := range shapes {
			for axis := -len(sh); axis < len(sh); axis++ {
				for _, keep := range []bool{false, true} {
					name := fmt.Sprintf("%s/%v/axis=%d/keep=%v", op.name, sh, axis, keep)
					a := randF32(t, rng, sh...)
					got, err := op.run(ctx, a, axis, keep)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					ax := (axis + len(sh)) % len(sh)
					want, keepShape := refReduce(to64(a.Data()), sh, ax, op.ref)
					wantShape := keepShape
					if !keep {
						wantShape = append(append([]int(nil), sh[:ax]...), sh[ax+1:]...)
					}
					checkShape(t, name, got, wantShape)
					checkClose(t, name, got.Data(), want, 1e-6)
				}
			}
		}
	}
}

func TestArgMax(t *testing.T) {
	ctx := context.Background()
	e := f32()
	nan := float32(math.NaN())
	tests := []struct {
		shape []int
		data  []float32
		axis  int
		keep  bool
		want  []int64
		wantS []int
	}{
		{[]int{5}, []float32{1, 3, 2, 3, 0}, 0, false, []int64{1}, []int{}},
		{[]int{2, 3}, []float32{1, 5, 2, 7, 0, 7}, 1, false, []int64{1, 0}, []int{2}},
		{[]int{2, 3}, []float32{1, 5, 2, 7, 0, 7}, 0, true, []int64{1, 0, 1}, []int{1, 3}},
		{[]int{2, 3}, []float32{1, 5, 2, 7, 0, 7}, -1, true, []int64{1, 0}, []int{2, 1}},
		{[]int{4}, []float32{1, nan, 9, nan}, 0, false, []int64{1}, []int{}},
		{[]int{3}, []float32{-1, -1, -2}, 0, false, []int64{0}, []int{}},
	}
	for _, tc := range tests {
		got, err := e.ArgMax(ctx, mk(t, tc.shape, tc.data), tc.axis, tc.keep)
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, "ArgMax", got, tc.wantS)
		for i, w := range tc.want {
			if got.Data()[i] != w {
				t.Fatalf("ArgMax(%v, axis %d): got %v, want %v", tc.data, tc.axis, got.Data(), tc.want)
			}
		}
	}
	// Integers through ops.
	ei := NewCPUEngine[uint8](numeric.Uint8Ops{})
	got, err := ei.ArgMax(ctx, mk(t, []int{2, 3}, []uint8{0, 255, 7, 9, 9, 1}), 1, false)
	if err != nil || got.Data()[0] != 1 || got.Data()[1] != 0 {
		t.Fatalf("uint8 ArgMax: got %v, %v, want [1 0]", got, err)
	}
}

func TestMaxNaN(t *testing.T) {
	e := f32()
	nan := float32(math.NaN())
	got, err := e.Max(context.Background(), mk(t, []int{2, 3}, []float32{1, nan, 3, 4, 5, 6}), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(got.Data()[0])) || got.Data()[1] != 6 {
		t.Fatalf("Max with NaN: got %v, want [NaN 6]", got.Data())
	}
}

func refSoftmax(l []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range l {
		s += math.Exp(v - m)
	}
	r := make([]float64, len(l))
	for i, v := range l {
		r[i] = math.Exp(v-m) / s
	}
	return r
}

func TestSoftmax(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, sh := range [][]int{{5}, {3, 4}, {2, 3, 5}, {4, 1000}, {1000, 3}} {
		for axis := range sh {
			a := randF32(t, rng, sh...)
			for i := range a.Data() {
				a.Data()[i] *= 30 // large logits exercise the max shift
			}
			for _, logOut := range []bool{false, true} {
				name := fmt.Sprintf("%v/axis=%d/log=%v", sh, axis, logOut)
				var got *tensor.Tensor[float32]
				var err error
				if logOut {
					got, err = f32().LogSoftmax(ctx, a, axis)
				} else {
					got, err = f32().Softmax(ctx, a, axis)
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				checkShape(t, name, got, sh)
				// Reference: softmax of each lane, scattered back.
				want := make([]float64, a.Size())
				st := tensor.Strides(sh)
				keep := append([]int(nil), sh...)
				keep[axis] = 1
				for i := 0; i < a.Size()/sh[axis]; i++ {
					idx := refIndex(i, keep)
					base := 0
					for ax, x := range idx {
						base += x * st[ax]
					}
					lane := make([]float64, sh[axis])
					for k := range lane {
						lane[k] = float64(a.Data()[base+k*st[axis]])
					}
					for k, v := range refSoftmax(lane) {
						if logOut {
							v = math.Log(v)
						}
						want[base+k*st[axis]] = v
					}
				}
				tol := 1e-6
				if logOut {
					tol = 2e-6
				}
				checkClose(t, name, got.Data(), want, tol)
			}
		}
	}
}

func TestSoftmaxHandValues(t *testing.T) {
	ctx := context.Background()
	e := f64()
	// softmax([0, ln 3]) = [1/4, 3/4] and a huge shift must not overflow.
	a := mk(t, []int{2, 2}, []float64{0, math.Log(3), 1000, 1000 + math.Log(3)})
	got, err := e.Softmax(ctx, a, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.25, 0.75, 0.25, 0.75}
	for i, w := range want {
		if !closeTo(got.Data()[i], w, 1e-12) { // 1000+ln 3 carries ~1e-13 rounding
			t.Fatalf("Softmax element %d: got %v, want %v", i, got.Data()[i], w)
		}
	}
	ls, err := e.LogSoftmax(ctx, a, -1)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if !closeTo(ls.Data()[i], math.Log(w), 1e-12) {
			t.Fatalf("LogSoftmax element %d: got %v, want %v", i, ls.Data()[i], math.Log(w))
		}
	}
	// In place.
	b := mk(t, []int{2}, []float32{0, float32(math.Log(3))})
	if _, err := f32().Softmax(ctx, b, 0, b); err != nil {
		t.Fatal(err)
	}
	checkClose(t, "in-place Softmax", b.Data(), []float64{0.25, 0.75}, 1e-6)
	// Reduced float: float64 math, rounded once.
	ops := numeric.Float16Ops{}
	h := mk(t, []int{2}, []numeric.Float16{ops.FromFloat64(0), ops.FromFloat64(math.Log(3))})
	hs, err := NewCPUEngine[numeric.Float16](ops).Softmax(ctx, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if g0, g1 := ops.ToFloat64(hs.Data()[0]), ops.ToFloat64(hs.Data()[1]); g0 != 0.25 || g1 != 0.75 {
		t.Fatalf("float16 Softmax: got [%v %v], want [0.25 0.75]", g0, g1)
	}
}

func TestReduceAllTypesSum(t *testing.T) {
	ctx := context.Background()
	// 100 ones along the axis: exact in every type but the 8-bit floats,
	// which round 100 to a representable neighbour.
	check := func(name string, got []float64, want float64) {
		t.Helper()
		for i, g := range got {
			if g != want {
				t.Fatalf("%s: element %d: got %v, want %v", name, i, g, want)
			}
		}
	}
	{
		ops := numeric.Int8Ops{}
		e := NewCPUEngine[int8](ops)
		a := mk(t, []int{100, 2}, make([]int8, 200))
		_ = e.Fill(ctx, a, 1)
		s, err := e.Sum(ctx, a, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		check("int8 Sum", []float64{float64(s.Data()[0]), float64(s.Data()[1])}, 100)
	}
	{
		ops := numeric.BFloat16Ops{}
		e := NewCPUEngine[numeric.BFloat16](ops)
		a := mk[numeric.BFloat16](t, []int{2, 300}, nil)
		_ = e.Fill(ctx, a, ops.One())
		s, err := e.Sum(ctx, a, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		// float64 accumulation: 300 exactly (bfloat16 adding one at a time
		// would stall at 256).
		check("bfloat16 Sum", []float64{ops.ToFloat64(s.Data()[0]), ops.ToFloat64(s.Data()[1])}, 300)
	}
	{
		ops := numeric.Int64Ops{}
		e := NewCPUEngine[int64](ops)
		big := int64(1) << 60
		a := mk(t, []int{3}, []int64{big, 1, 3})
		s, err := e.Sum(ctx, a, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		if s.Data()[0] != big+4 {
			t.Fatalf("int64 Sum: got %d, want %d (exact integer accumulation)", s.Data()[0], big+4)
		}
	}
}

func TestReduceErrors(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk[float32](t, []int{2, 3}, nil)
	for _, axis := range []int{2, -3, 100} {
		_, err := e.Sum(ctx, a, axis, false)
		wantErr(t, fmt.Sprintf("Sum axis %d", axis), err, tensor.ErrIndex)
		_, err = e.Softmax(ctx, a, axis)
		wantErr(t, fmt.Sprintf("Softmax axis %d", axis), err, tensor.ErrIndex)
		_, err = e.ArgMax(ctx, a, axis, false)
		wantErr(t, fmt.Sprintf("ArgMax axis %d", axis), err, tensor.ErrIndex)
	}
	_, err := e.Sum(ctx, tensor.Scalar[float32](1), 0, false)
	wantErr(t, "Sum of a scalar", err, tensor.ErrIndex)
	empty := mk[float32](t, []int{2, 0}, nil)
	_, err = e.Max(ctx, empty, 1, false)
	wantErr(t, "Max over empty axis", err, tensor.ErrShape)
	_, err = e.ArgMax(ctx, empty, 1, false)
	wantErr(t, "ArgMax over empty axis", err, tensor.ErrShape)
	_, err = e.Mean(ctx, empty, 1, false)
	wantErr(t, "Mean over empty axis", err, tensor.ErrShape)
	s, err := e.Sum(ctx, empty, 1, false)
	if err != nil || s.Data()[0] != 0 || s.Data()[1] != 0 {
		t.Fatalf("Sum over empty axis: got %v, %v, want [0 0]", s, err)
	}
	_, err = e.Sum(ctx, a, 0, false, mk[float32](t, []int{1, 3}, nil))
	wantErr(t, "Sum into keepDims shape without keepDims", err, tensor.ErrShape)
	_, err = e.Mean(ctx, nil, 0, false)
	wantErr(t, "Mean(nil)", err, tensor.ErrShape)
	_, err = e.LogSoftmax(ctx, a, 1, mk[float32](t, []int{3, 2}, nil))
	wantErr(t, "LogSoftmax into wrong shape", err, tensor.ErrShape)
}
