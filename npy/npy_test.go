package npy

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		t      tensor.Any
		isBool bool
		descr  string
	}{
		{"float32", tensor.Must(tensor.New([]int{2, 3}, []float32{1, -2, 3.5, 0, 1e-7, 6})), false, "<f4"},
		{"float16", tensor.Must(tensor.New([]int{2}, []numeric.Float16{numeric.Float16FromFloat32(1.5), numeric.Float16FromFloat32(-2)})), false, "<f2"},
		{"int64 scalar", tensor.Scalar[int64](-7), false, "<i8"},
		{"int32 1-D", tensor.Must(tensor.New([]int{3}, []int32{1, -2, 1 << 30})), false, "<i4"},
		{"int8", tensor.Must(tensor.New([]int{2}, []int8{-128, 127})), false, "|i1"},
		{"uint8 empty", tensor.Must(tensor.New([]int{0, 4}, []uint8{})), false, "|u1"},
		{"bool", tensor.Must(tensor.New([]int{3}, []uint8{1, 0, 1})), true, "|b1"},
		{"uint16", tensor.Must(tensor.New([]int{2}, []uint16{0, 65535})), false, "<u2"},
		{"uint32", tensor.Must(tensor.New([]int{2}, []uint32{7, 1<<32 - 1})), false, "<u4"},
		{"uint64", tensor.Must(tensor.New([]int{1, 2}, []uint64{1 << 63, 1<<64 - 1})), false, "<u8"},
		{"bfloat16", tensor.Must(tensor.New([]int{2}, []numeric.BFloat16{numeric.BFloat16FromFloat32(1.5), numeric.BFloat16FromFloat32(-3)})), false, "<V2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tc.t, tc.isBool); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if (10+int(raw[8])+int(raw[9])<<8)%64 != 0 {
				t.Errorf("header not 64-byte aligned: %q", raw[:10])
			}
			if !bytes.Contains(raw, []byte("'descr': '"+tc.descr+"'")) {
				t.Errorf("header %q lacks descr %s", raw[10:], tc.descr)
			}
			a, err := Read(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if a.Bool != tc.isBool || a.Tensor.String() != tc.t.String() || !tensor.SameShape(a.Tensor.Shape(), tc.t.Shape()) {
				t.Errorf("got %v (bool %v) %v, want %v (bool %v) %v", a.Tensor, a.Bool, a.Tensor.Shape(), tc.t, tc.isBool, tc.t.Shape())
			}
		})
	}
}

// TestReadNumPy reads a file as NumPy 1.26 writes np.array([[1, 2], [3, 4]], dtype='<i4').
func TestReadNumPy(t *testing.T) {
	h := "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }"
	h += string(bytes.Repeat([]byte(" "), 128-10-len(h)-1)) + "\n"
	file := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
	file = append(file, h...)
	file = append(file, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0)
	a, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	got := a.Tensor.(*tensor.Tensor[int32]).Data()
	if len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Errorf("got %v, want [1 2 3 4]", got)
	}
	// Errors: truncated data, bad magic, Fortran order, big-endian, bad bool.
	bad := map[string][]byte{
		"truncated":  file[:len(file)-3],
		"magic":      append([]byte("XNUMPY"), file[6:]...),
		"fortran":    bytes.Replace(file, []byte("False"), []byte("True "), 1),
		"big endian": bytes.Replace(file, []byte("<i4"), []byte(">i4"), 1),
		"bool 2":     bytes.Replace(bytes.Replace(file, []byte("<i4"), []byte("|b1"), 1), []byte("(2, 2)"), []byte("(16,) "), 1),
		"empty":      nil,
	}
	for name, b := range bad {
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// TestReadBudget checks that shapes larger than the memory budget are
// refused before their data is read, also when they have no elements.
func TestReadBudget(t *testing.T) {
	for _, shape := range []string{"(2147483647, 2147483647)", "(0, 2147483647, 2147483647)"} {
		h := "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }\n"
		file := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
		file = append(file, h...)
		_, err := Read(bytes.NewReader(file))
		if !errors.Is(err, budget.ErrExceeded) || !strings.HasPrefix(err.Error(), "npy: array <f8[") {
			t.Errorf("shape %s: got %v, want an error wrapping budget.ErrExceeded naming the array", shape, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	_ = Write(&buf, tensor.Must(tensor.New([]int{2, 2}, []float32{1, 2, 3, 4})), false)
	f.Add(buf.Bytes())
	for _, h := range []string{objectNpy, strNpy, bytesNpy} { // strings.go's readers
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Read(bytes.NewReader(b)) })
}

// TestReadBFloat16 reads bfloat16 as ml_dtypes' arrays are saved by np.save
// ('<V2') and as tools that write the dtype's name do ('bfloat16').
func TestReadBFloat16(t *testing.T) {
	for _, descr := range []string{"<V2", "|V2", "bfloat16"} {
		h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }\n"
		file := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0)
		file = append(file, h...)
		file = append(file, 0xc0, 0x3f, 0x40, 0xc0) // 1.5, -3
		a, err := Read(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", descr, err)
		}
		got, ok := a.Tensor.(*tensor.Tensor[numeric.BFloat16])
		if !ok || got.Data()[0].Float32() != 1.5 || got.Data()[1].Float32() != -3 {
			t.Errorf("%s: got %v, want bfloat16 [1.5 -3]", descr, a.Tensor)
		}
	}
}
