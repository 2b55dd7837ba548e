package compute

import (
	"context"
	"fmt"
	"testing"

	"github.com/zerfoo/zerfoo/tensor"
)

func i64(shape []int, v ...int64) *tensor.Tensor[int64] {
	return tensor.Must(tensor.New(shape, v))
}

func checkData[T tensor.Numeric](t *testing.T, what string, got *tensor.Tensor[T], shape []int, want []T) {
	t.Helper()
	checkShape(t, what, got, shape)
	for i, w := range want {
		if got.Data()[i] != w {
			t.Fatalf("%s: got %v, want %v", what, got.Data(), want)
		}
	}
}

func TestGather(t *testing.T) {
	ctx := context.Background()
	e := f32()
	p := mk(t, []int{3, 4}, iota32(12, 0)) // rows [0..3], [4..7], [8..11]
	tests := []struct {
		name  string
		idx   *tensor.Tensor[int64]
		axis  int
		shape []int
		want  []float32
	}{
		{"rows", i64([]int{2}, 2, 0), 0, []int{2, 4}, []float32{8, 9, 10, 11, 0, 1, 2, 3}},
		{"negative", i64([]int{1}, -1), 0, []int{1, 4}, []float32{8, 9, 10, 11}},
		{"scalar index", i64([]int{}, 1), 0, []int{4}, []float32{4, 5, 6, 7}},
		{"2-D indices", i64([]int{2, 2}, 0, 1, 1, 0), 0, []int{2, 2, 4},
			[]float32{0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 0, 1, 2, 3}},
		{"columns", i64([]int{3}, 3, 0, -2), 1, []int{3, 3}, []float32{3, 0, 2, 7, 4, 6, 11, 8, 10}},
		{"axis -1", i64([]int{1}, 1), -1, []int{3, 1}, []float32{1, 5, 9}},
		{"repeat", i64([]int{3}, 1, 1, 1), 0, []int{3, 4}, []float32{4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7}},
	}
	for _, tc := range tests {
		got, err := e.Gather(ctx, p, tc.idx, tc.axis)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkData(t, "Gather "+tc.name, got, tc.shape, tc.want)
	}
	for _, bad := range []int64{3, -4, 100} {
		_, err := e.Gather(ctx, p, i64([]int{1}, bad), 0)
		wantErr(t, fmt.Sprintf("Gather index %d", bad), err, tensor.ErrIndex)
	}
	_, err := e.Gather(ctx, p, i64([]int{1}, 0), 2)
	wantErr(t, "Gather axis 2", err, tensor.ErrIndex)
	_, err = e.Gather(ctx, p, nil, 0)
	wantErr(t, "Gather nil indices", err, tensor.ErrShape)
	_, err = e.Gather(ctx, tensor.Scalar[float32](1), i64([]int{1}, 0), 0)
	wantErr(t, "Gather from a scalar", err, tensor.ErrIndex)
}

func TestScatterAdd(t *testing.T) {
	ctx := context.Background()
	e := f32()
	dst := mk(t, []int{3, 2}, []float32{1, 1, 1, 1, 1, 1})
	upd := mk(t, []int{4, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	if err := e.ScatterAdd(ctx, dst, i64([]int{4}, 0, 2, 0, -1), upd); err != nil {
		t.Fatal(err)
	}
	// Row 0 gets updates 0 and 2; row 2 gets 1 and 3 (index -1); row 1 none.
	checkData(t, "ScatterAdd", dst, []int{3, 2}, []float32{7, 9, 1, 1, 11, 13})

	// ScatterAdd is the adjoint of Gather on axis 0: <Gather(x), y> == <x, ScatterAdd(y)>.
	xs := mk(t, []int{5, 3}, iota32(15, 1))
	idx := i64([]int{2, 3}, 4, 0, 4, 1, 1, 3)
	g, err := e.Gather(ctx, xs, idx, 0)
	if err != nil {
		t.Fatal(err)
	}
	y := mk(t, g.Shape(), iota32(g.Size(), -3))
	back := mk[float32](t, []int{5, 3}, nil)
	if err := e.ScatterAdd(ctx, back, idx, y); err != nil {
		t.Fatal(err)
	}
	var lhs, rhs float64
	for i := range g.Data() {
		lhs += float64(g.Data()[i] * y.Data()[i])
	}
	for i := range xs.Data() {
		rhs += float64(xs.Data()[i] * back.Data()[i])
	}
	if lhs != rhs {
		t.Fatalf("<Gather(x), y> = %v, <x, ScatterAdd(y)> = %v; want equal", lhs, rhs)
	}

	_, err = e.Gather(ctx, xs, i64([]int{1}, 5), 0)
	wantErr(t, "Gather past end", err, tensor.ErrIndex)
	err = e.ScatterAdd(ctx, dst, i64([]int{1}, 3), mk[float32](t, []int{1, 2}, nil))
	wantErr(t, "ScatterAdd index 3", err, tensor.ErrIndex)
	err = e.ScatterAdd(ctx, dst, i64([]int{2}, 0, 1), mk[float32](t, []int{2, 3}, nil))
	wantErr(t, "ScatterAdd updates [2 3]", err, tensor.ErrShape)
	err = e.ScatterAdd(ctx, tensor.Scalar[float32](0), i64([]int{1}, 0), mk[float32](t, []int{1}, nil))
	wantErr(t, "ScatterAdd into a scalar", err, tensor.ErrShape)
	err = e.ScatterAdd(ctx, dst, nil, upd)
	wantErr(t, "ScatterAdd nil indices", err, tensor.ErrShape)
}

func TestConcatSplit(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk(t, []int{2, 2}, []float32{1, 2, 3, 4})
	b := mk(t, []int{2, 1}, []float32{5, 6})
	c := mk(t, []int{1, 2}, []float32{7, 8})
	got, err := e.Concat(ctx, []*tensor.Tensor[float32]{a, b}, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Concat axis 1", got, []int{2, 3}, []float32{1, 2, 5, 3, 4, 6})
	got, err = e.Concat(ctx, []*tensor.Tensor[float32]{a, c, a}, -2)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Concat axis 0", got, []int{5, 2}, []float32{1, 2, 3, 4, 7, 8, 1, 2, 3, 4})

	parts, err := e.Split(ctx, got, 0, []int{2, 1, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Split part 0", parts[0], []int{2, 2}, []float32{1, 2, 3, 4})
	checkData(t, "Split part 1", parts[1], []int{1, 2}, []float32{7, 8})
	checkData(t, "Split part 2", parts[2], []int{0, 2}, nil)
	checkData(t, "Split part 3", parts[3], []int{2, 2}, []float32{1, 2, 3, 4})
	cols, err := e.Split(ctx, mk(t, []int{2, 3}, []float32{1, 2, 5, 3, 4, 6}), -1, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Split cols 0", cols[0], []int{2, 2}, []float32{1, 2, 3, 4})
	checkData(t, "Split cols 1", cols[1], []int{2, 1}, []float32{5, 6})
	// Split then Concat round-trips.
	back, err := e.Concat(ctx, cols, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Concat(Split)", back, []int{2, 3}, []float32{1, 2, 5, 3, 4, 6})

	_, err = e.Concat(ctx, []*tensor.Tensor[float32]{a, b}, 0)
	wantErr(t, "Concat [2 2],[2 1] on axis 0", err, tensor.ErrShape)
	_, err = e.Concat(ctx, []*tensor.Tensor[float32]{a, mk[float32](t, []int{4}, nil)}, 0)
	wantErr(t, "Concat rank mismatch", err, tensor.ErrShape)
	_, err = e.Concat(ctx, nil, 0)
	wantErr(t, "Concat nothing", err, tensor.ErrShape)
	_, err = e.Concat(ctx, []*tensor.Tensor[float32]{a}, 2)
	wantErr(t, "Concat axis 2", err, tensor.ErrIndex)
	_, err = e.Concat(ctx, []*tensor.Tensor[float32]{a, nil}, 0)
	wantErr(t, "Concat nil", err, tensor.ErrShape)
	_, err = e.Split(ctx, a, 0, []int{1, 2})
	wantErr(t, "Split sizes summing to 3", err, tensor.ErrShape)
	_, err = e.Split(ctx, a, 0, []int{3, -1})
	wantErr(t, "Split negative size", err, tensor.ErrShape)
	_, err = e.Split(ctx, a, -3, []int{2})
	wantErr(t, "Split axis -3", err, tensor.ErrIndex)
}

func TestSlice(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk(t, []int{3, 4}, iota32(12, 0))
	tests := []struct {
		starts, ends, shape []int
		want                []float32
	}{
		{[]int{0, 0}, []int{3, 4}, []int{3, 4}, iota32(12, 0)},
		{[]int{1, 1}, []int{3, 3}, []int{2, 2}, []float32{5, 6, 9, 10}},
		{[]int{0, 3}, []int{3, 4}, []int{3, 1}, []float32{3, 7, 11}},
		{[]int{2, 0}, []int{3, 4}, []int{1, 4}, []float32{8, 9, 10, 11}},
		{[]int{1, 2}, []int{1, 4}, []int{0, 2}, nil},
	}
	for _, tc := range tests {
		got, err := e.Slice(ctx, a, tc.starts, tc.ends)
		if err != nil {
			t.Fatal(err)
		}
		checkData(t, fmt.Sprintf("Slice %v:%v", tc.starts, tc.ends), got, tc.shape, tc.want)
	}
	b := mk(t, []int{2, 3, 4}, iota32(24, 0))
	got, err := e.Slice(ctx, b, []int{1, 0, 1}, []int{2, 3, 3})
	if err != nil {
		t.Fatal(err)
	}
	checkData(t, "Slice 3-D", got, []int{1, 3, 2}, []float32{13, 14, 17, 18, 21, 22})
	for _, bad := range []struct{ s, e []int }{
		{[]int{0}, []int{1}},
		{[]int{-1, 0}, []int{1, 1}},
		{[]int{2, 0}, []int{1, 1}},
		{[]int{0, 0}, []int{4, 1}},
	} {
		_, err := e.Slice(ctx, a, bad.s, bad.e)
		if err == nil {
			t.Fatalf("Slice %v:%v: got nil error", bad.s, bad.e)
		}
	}
	_, err = e.Slice(ctx, a, []int{0, 0}, []int{4, 1})
	wantErr(t, "Slice past the end", err, tensor.ErrIndex)
	_, err = e.Slice(ctx, a, []int{0}, []int{1})
	wantErr(t, "Slice with one range for rank 2", err, tensor.ErrShape)
}

func TestFillCopyZero(t *testing.T) {
	ctx := context.Background()
	e := f32()
	a := mk[float32](t, []int{300, 300}, nil)
	if err := e.Fill(ctx, a, 2.5); err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Data() {
		if v != 2.5 {
			t.Fatalf("Fill element %d: got %v, want 2.5", i, v)
		}
	}
	b := mk[float32](t, []int{90000}, nil)
	if err := e.Copy(ctx, b, a); err != nil {
		t.Fatal(err)
	}
	if b.Data()[89999] != 2.5 {
		t.Fatalf("Copy: got %v at the end, want 2.5", b.Data()[89999])
	}
	if err := e.Zero(ctx, a); err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Data() {
		if v != 0 {
			t.Fatalf("Zero element %d: got %v, want 0", i, v)
		}
	}
	if b.Data()[0] != 2.5 {
		t.Fatalf("Copy shares storage: after Zero(a), b[0] = %v, want 2.5", b.Data()[0])
	}
	wantErr(t, "Copy size mismatch", e.Copy(ctx, mk[float32](t, []int{2}, nil), a), tensor.ErrShape)
	wantErr(t, "Fill nil", e.Fill(ctx, nil, 1), tensor.ErrShape)
	wantErr(t, "Zero nil", e.Zero(ctx, nil), tensor.ErrShape)
	wantErr(t, "Copy nil", e.Copy(ctx, nil, a), tensor.ErrShape)
}
