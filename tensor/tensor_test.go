package tensor_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		shape   []int
		data    []float32
		size    int
		wantErr bool
	}{
		{"zeros", []int{2, 3}, nil, 6, false},
		{"with data", []int{3}, []float32{1, 2, 3}, 3, false},
		{"scalar", []int{}, nil, 1, false},
		{"nil shape scalar", nil, []float32{7}, 1, false},
		{"empty axis", []int{4, 0, 2}, nil, 0, false},
		{"empty axis with empty data", []int{0}, []float32{}, 0, false},
		{"short data", []int{2, 3}, []float32{1, 2}, 0, true},
		{"long data", []int{2}, []float32{1, 2, 3}, 0, true},
		{"negative dim", []int{2, -1}, nil, 0, true},
		{"overflow", []int{math.MaxInt / 2, 3}, nil, 0, true},
		{"overflow after zero-free prefix", []int{1 << (strconv.IntSize/2 + 4), 1 << (strconv.IntSize/2 + 4)}, nil, 0, true},
	}
	for _, tc := range tests {
		x, err := tensor.New(tc.shape, tc.data)
		if tc.wantErr {
			if !errors.Is(err, tensor.ErrShape) {
				t.Errorf("%s: New(%v, len %d): got error %v, want one wrapping ErrShape", tc.name, tc.shape, len(tc.data), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: New(%v): %v", tc.name, tc.shape, err)
		}
		if x.Size() != tc.size || len(x.Data()) != tc.size || x.Dims() != len(tc.shape) {
			t.Errorf("%s: got size %d, len(Data) %d, dims %d; want %d, %d, %d", tc.name, x.Size(), len(x.Data()), x.Dims(), tc.size, tc.size, len(tc.shape))
		}
		if x.DType() != numeric.Float32 {
			t.Errorf("%s: DType got %v, want float32", tc.name, x.DType())
		}
	}
}

func TestNewErrorNamesShapeAndLength(t *testing.T) {
	_, err := tensor.New([]int{2, 3}, []float32{1, 2})
	if err == nil || !strings.Contains(err.Error(), "[2 3]") || !strings.Contains(err.Error(), "2 elements") {
		t.Fatalf("got %v, want an error naming shape [2 3] and length 2", err)
	}
	_, err = tensor.New[int8]([]int{2, -5}, nil)
	if err == nil || !strings.Contains(err.Error(), "-5") {
		t.Fatalf("got %v, want an error naming dimension -5", err)
	}
}

func TestShapeIsCopied(t *testing.T) {
	shape := []int{2, 3}
	x := tensor.Must(tensor.New[float32](shape, nil))
	shape[0] = 99
	if x.Dim(0) != 2 {
		t.Fatalf("changing the caller's shape changed the tensor: Dim(0) = %d, want 2", x.Dim(0))
	}
	s := x.Shape()
	s[1] = 99
	if x.Dim(1) != 3 || x.Dim(-1) != 3 {
		t.Fatalf("changing Shape()'s result changed the tensor: Dim(1) = %d, want 3", x.Dim(1))
	}
	st := x.Strides()
	if len(st) != 2 || st[0] != 3 || st[1] != 1 {
		t.Fatalf("Strides() = %v, want [3 1]", st)
	}
}

func TestStrides(t *testing.T) {
	tests := []struct{ shape, want []int }{
		{[]int{}, []int{}},
		{[]int{5}, []int{1}},
		{[]int{2, 3, 4}, []int{12, 4, 1}},
		{[]int{3, 0, 2}, []int{0, 2, 1}},
	}
	for _, tc := range tests {
		if got := tensor.Strides(tc.shape); !tensor.SameShape(got, tc.want) {
			t.Errorf("Strides(%v) = %v, want %v", tc.shape, got, tc.want)
		}
	}
}

func TestAtSet(t *testing.T) {
	x := tensor.Must(tensor.New([]int{2, 3}, []int32{0, 1, 2, 3, 4, 5}))
	v, err := x.At(1, 2)
	if err != nil || v != 5 {
		t.Fatalf("At(1, 2) = %v, %v; want 5", v, err)
	}
	if err := x.Set(42, 0, 1); err != nil {
		t.Fatal(err)
	}
	if x.Data()[1] != 42 {
		t.Fatalf("after Set(42, 0, 1): Data()[1] = %d, want 42", x.Data()[1])
	}
	for _, idx := range [][]int{{2, 0}, {0, 3}, {-1, 0}, {0}, {0, 0, 0}} {
		if _, err := x.At(idx...); !errors.Is(err, tensor.ErrIndex) {
			t.Errorf("At(%v): got %v, want ErrIndex", idx, err)
		}
		if err := x.Set(1, idx...); !errors.Is(err, tensor.ErrIndex) {
			t.Errorf("Set(%v): got %v, want ErrIndex", idx, err)
		}
	}
	s := tensor.Scalar[float64](2.5)
	if v, err := s.At(); err != nil || v != 2.5 || s.Dims() != 0 || s.Size() != 1 {
		t.Fatalf("Scalar: At() = %v, %v, dims %d, size %d; want 2.5, rank 0, size 1", v, err, s.Dims(), s.Size())
	}
}

func TestReshape(t *testing.T) {
	x := tensor.Must(tensor.New([]int{2, 3}, []float32{0, 1, 2, 3, 4, 5}))
	tests := []struct {
		shape []int
		want  []int
		ok    bool
	}{
		{[]int{3, 2}, []int{3, 2}, true},
		{[]int{6}, []int{6}, true},
		{[]int{-1}, []int{6}, true},
		{[]int{3, -1}, []int{3, 2}, true},
		{[]int{1, -1, 2}, []int{1, 3, 2}, true},
		{[]int{4, -1}, nil, false},
		{[]int{-1, -1}, nil, false},
		{[]int{7}, nil, false},
		{[]int{-2, 3}, nil, false},
		{[]int{0, -1}, nil, false},
	}
	for _, tc := range tests {
		r, err := x.Reshape(tc.shape...)
		if !tc.ok {
			if !errors.Is(err, tensor.ErrShape) {
				t.Errorf("Reshape(%v): got %v, want ErrShape", tc.shape, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Reshape(%v): %v", tc.shape, err)
		}
		if !tensor.SameShape(r.Shape(), tc.want) {
			t.Errorf("Reshape(%v): got shape %v, want %v", tc.shape, r.Shape(), tc.want)
		}
	}
	// A reshape shares storage.
	r, _ := x.Reshape(3, 2)
	if err := r.Set(100, 2, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := x.At(1, 2); v != 100 {
		t.Fatalf("write through reshape: x[1,2] = %v, want 100", v)
	}
}

func TestViews(t *testing.T) {
	x := tensor.Must(tensor.New([]int{3, 2}, []int64{0, 1, 2, 3, 4, 5}))
	row, err := x.Index(1)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(row.Shape(), []int{2}) || row.Data()[0] != 2 || row.Data()[1] != 3 {
		t.Fatalf("Index(1) = %v, want [2 3]", row)
	}
	_ = row.Set(-7, 1)
	if x.Data()[3] != -7 {
		t.Fatalf("write through Index view: x.Data()[3] = %d, want -7", x.Data()[3])
	}
	// Appending to a view must not overwrite the next row (capacity is capped).
	_ = append(row.Data(), 99)
	if x.Data()[4] != 4 {
		t.Fatalf("append to Index view overwrote the parent: x.Data()[4] = %d, want 4", x.Data()[4])
	}
	sl, err := x.Slice(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(sl.Shape(), []int{2, 2}) || sl.Data()[0] != 2 {
		t.Fatalf("Slice(1, 3) = %v, want rows 1..2", sl)
	}
	_ = sl.Set(50, 1, 0)
	if x.Data()[4] != 50 {
		t.Fatalf("write through Slice view: x.Data()[4] = %d, want 50", x.Data()[4])
	}
	if e, err := x.Slice(2, 2); err != nil || e.Size() != 0 || e.Dim(0) != 0 {
		t.Fatalf("empty Slice(2, 2): got %v, %v", e, err)
	}
	for _, r := range [][2]int{{-1, 1}, {2, 1}, {0, 4}} {
		if _, err := x.Slice(r[0], r[1]); !errors.Is(err, tensor.ErrIndex) {
			t.Errorf("Slice(%d, %d): got %v, want ErrIndex", r[0], r[1], err)
		}
	}
	for _, i := range []int{-1, 3} {
		if _, err := x.Index(i); !errors.Is(err, tensor.ErrIndex) {
			t.Errorf("Index(%d): got %v, want ErrIndex", i, err)
		}
	}
	s := tensor.Scalar[int64](1)
	if _, err := s.Index(0); !errors.Is(err, tensor.ErrIndex) {
		t.Errorf("Index on a scalar: got %v, want ErrIndex", err)
	}
	if _, err := s.Slice(0, 1); !errors.Is(err, tensor.ErrIndex) {
		t.Errorf("Slice on a scalar: got %v, want ErrIndex", err)
	}
}

func TestCopyIsIndependent(t *testing.T) {
	x := tensor.Must(tensor.New([]int{2, 2}, []float64{1, 2, 3, 4}))
	c := x.Copy()
	c.Data()[0] = 100
	_ = x.Set(-1, 1, 1)
	if x.Data()[0] != 1 || c.Data()[3] != 4 {
		t.Fatalf("Copy shares storage: x = %v, c = %v", x.Data(), c.Data())
	}
	if !tensor.SameShape(c.Shape(), x.Shape()) {
		t.Fatalf("Copy shape %v, want %v", c.Shape(), x.Shape())
	}
}

func TestString(t *testing.T) {
	bf := numeric.BFloat16Ops{}
	tests := []struct {
		got  fmt.Stringer
		want string
	}{
		{tensor.Must(tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})), "Tensor[float32](2x3)[[1 2 3] [4 5 6]]"},
		{tensor.Scalar[int8](-3), "Tensor[int8]()-3"},
		{tensor.Must(tensor.New([]int{10}, []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 255})), "Tensor[uint8](10)[0 1 2 ... 7 8 255]"},
		{tensor.Must(tensor.New([]int{0, 2}, []int32{})), "Tensor[int32](0x2)[]"},
		{tensor.Must(tensor.New([]int{2}, []numeric.BFloat16{bf.FromFloat64(1.5), bf.FromFloat64(-2)})), "Tensor[bfloat16](2)[1.5 -2]"},
	}
	for _, tc := range tests {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("String() = %q, want %q", s, tc.want)
		}
	}
}

func TestAnyInterface(t *testing.T) {
	var a tensor.Any = tensor.Must(tensor.New[numeric.Float16]([]int{4, 2}, nil))
	if a.DType() != numeric.Float16Type || a.Size() != 8 || a.Dims() != 2 {
		t.Fatalf("Any: dtype %v size %d dims %d, want float16, 8, 2", a.DType(), a.Size(), a.Dims())
	}
}

func TestSameShape(t *testing.T) {
	tests := []struct {
		a, b []int
		want bool
	}{
		{nil, []int{}, true},
		{[]int{2, 3}, []int{2, 3}, true},
		{[]int{2, 3}, []int{3, 2}, false},
		{[]int{2}, []int{2, 1}, false},
	}
	for _, tc := range tests {
		if got := tensor.SameShape(tc.a, tc.b); got != tc.want {
			t.Errorf("SameShape(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMustPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Must with an error did not panic")
		}
	}()
	tensor.Must(tensor.New([]int{2}, []float32{1}))
}

func ExampleNew() {
	x, err := tensor.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	if err != nil {
		panic(err)
	}
	row, _ := x.Index(1)
	v, _ := x.At(0, 2)
	fmt.Println(x)
	fmt.Println(row, v)
	_, err = tensor.New([]int{2, 3}, []float32{1, 2})
	fmt.Println(err)
	// Output:
	// Tensor[float32](2x3)[[1 2 3] [4 5 6]]
	// Tensor[float32](3)[4 5 6] 3
	// tensor: shape error: data has 2 elements, shape [2 3] needs 6
}

func TestStrings(t *testing.T) {
	s, err := tensor.NewStrings([]int{2, 2}, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Reshape(4)
	if err != nil || r.Size() != 4 || r.Dims() != 1 || r.Data()[3] != "d" || s.Dims() != 2 {
		t.Errorf("Reshape(4) = %v, %v", r, err)
	}
	if s.DType() != numeric.String || s.String() != `Strings(2x2)["a" "b" "c" "d"]` {
		t.Errorf("DType %v, String %q", s.DType(), s.String())
	}
	if _, err := tensor.NewStrings([]int{3}, []string{"a"}); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("3 dims, 1 string: got %v, want tensor.ErrShape", err)
	}
	if _, err := s.Reshape(3); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("Reshape(3) of 4: got %v, want tensor.ErrShape", err)
	}
	e, err := tensor.NewStrings([]int{0, 2}, nil)
	if err != nil || e.Size() != 0 {
		t.Errorf("empty: got %v, %v", e, err)
	}
}
