package onnx

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestRead(t *testing.T) {
	p, _, _ := mlp(t)
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	m, err := Read(&buf, ReadOptions{Name: "mem"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "mem" || len(m.Initializers()) != 3 {
		t.Errorf("Read: got name %q, %d initializers, want mem and 3", m.Name, len(m.Initializers()))
	}
	_, err = Read(failReader{}, ReadOptions{Name: "broken"})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "onnx: broken: read model") {
		t.Errorf("Read(failing reader): got %v", err)
	}
}

func TestDataTypeTables(t *testing.T) {
	tests := []struct {
		dt      DataType
		name    string
		bytes10 int // ByteSize(10)
		num     numeric.DType
	}{
		{Float32, "FLOAT", 40, numeric.Float32},
		{Float16, "FLOAT16", 20, numeric.Float16Type},
		{BFloat16, "BFLOAT16", 20, numeric.BFloat16Type},
		{Float64, "DOUBLE", 80, numeric.Float64},
		{Int4, "INT4", 5, numeric.Int8},
		{Uint4, "UINT4", 5, numeric.Uint8},
		{Bool, "BOOL", 10, numeric.Uint8},
		{Int64, "INT64", 80, numeric.Int64},
		{Uint16, "UINT16", 20, numeric.Uint16},
		{Uint32, "UINT32", 40, numeric.Uint32},
		{Uint64, "UINT64", 80, numeric.Uint64},
		{Float8E5M2, "FLOAT8E5M2", 10, numeric.Float8E5M2Type},
		{Complex128, "COMPLEX128", 160, numeric.Invalid},
		{String, "STRING", -1, numeric.String},
		{DataType(77), "DataType(77)", -1, numeric.Invalid},
	}
	for _, tc := range tests {
		num, ok := tc.dt.NumericDType()
		if tc.dt.String() != tc.name || tc.dt.ByteSize(10) != tc.bytes10 || num != tc.num || ok != (tc.num != numeric.Invalid) {
			t.Errorf("%d: got %q, ByteSize(10) %d, NumericDType %v %v; want %q %d %v", int(tc.dt), tc.dt.String(), tc.dt.ByteSize(10), num, ok, tc.name, tc.bytes10, tc.num)
		}
	}
	if got := Int4.ByteSize(7); got != 4 {
		t.Errorf("Int4.ByteSize(7) = %d, want 4", got)
	}
	if got := Float64.ByteSize(maxInt / 4); got != -1 {
		t.Errorf("Float64.ByteSize(huge) = %d, want -1", got)
	}
}

func TestSwapBytes(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	swapBytes(b, 4)
	if want := []byte{4, 3, 2, 1, 8, 7, 6, 5}; !bytes.Equal(b, want) {
		t.Errorf("swapBytes(4): got %v, want %v", b, want)
	}
	swapBytes(b, 2)
	if want := []byte{3, 4, 1, 2, 7, 8, 5, 6}; !bytes.Equal(b, want) {
		t.Errorf("swapBytes(2): got %v, want %v", b, want)
	}
}

func TestDecodeTensor(t *testing.T) {
	cases := []struct {
		dt   DataType
		make func() (any, error)
	}{
		{Float32, func() (any, error) { return tensorOf(Float32, []float32{1.5}) }},
		{Float64, func() (any, error) { return tensorOf(Float64, []float64{2}) }},
		{Float16, func() (any, error) { return tensorOf(Float16, []numeric.Float16{f16(3)}) }},
		{BFloat16, func() (any, error) { return tensorOf(BFloat16, []numeric.BFloat16{bf16(4)}) }},
		{Int4, func() (any, error) { return tensorOf(Int4, []int8{-3, 2}) }},
		{Uint16, func() (any, error) { return tensorOf(Uint16, []uint16{9}) }},
		{Int32, func() (any, error) { return tensorOf(Int32, []int32{-9}) }},
		{Uint64, func() (any, error) { return tensorOf(Uint64, []uint64{1}) }},
		{Int16, func() (any, error) { return tensorOf(Int16, []int16{7}) }},
		{Uint32, func() (any, error) { return tensorOf(Uint32, []uint32{7}) }},
		{Float8E4M3FN, func() (any, error) {
			return tensorOf(Float8E4M3FN, []numeric.Float8E4M3FN{numeric.Float8E4M3FNFromBits(0x40)})
		}},
	}
	for _, c := range cases {
		got, err := c.make()
		if err != nil {
			t.Errorf("%v: %v", c.dt, err)
			continue
		}
		if reflect.ValueOf(got).Len() == 0 {
			t.Errorf("%v: empty result", c.dt)
		}
	}
	cplx, _ := NewTensor("c", Float32, []int64{2}, []float32{1, 2})
	cplx.DataType = ptr(int32(Complex64))
	cplx.Dims = []int64{1}
	if _, err := DecodeTensor(nil, cplx); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cannot decode COMPLEX64") {
		t.Errorf("DecodeTensor(COMPLEX64): got %v, want ErrUnsupported", err)
	}
}

func ptr[T any](v T) *T { return &v }

// tensorOf round-trips data through NewTensor and DecodeTensor and checks
// that the values come back unchanged.
func tensorOf[T Element](dt DataType, data []T) (any, error) {
	tp, err := NewTensor("t", dt, []int64{int64(len(data))}, data)
	if err != nil {
		return nil, err
	}
	got, err := DecodeTensor(nil, tp)
	if err != nil {
		return nil, err
	}
	if !reflect.DeepEqual(got, data) {
		return nil, errors.New("values changed: " + reflect.ValueOf(got).String())
	}
	return got, nil
}

func TestValueInfoAndBadDims(t *testing.T) {
	b := NewBuilder("g", Opset{"", 21})
	b.Input("x", Float32, int64(2), "n")
	b.ValueInfo("h", Float16, 2)
	b.AddNode(Node{Name: "id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}})
	b.Output("y", Float32, 2, "n")
	p, err := b.Model()
	if err != nil {
		t.Fatal(err)
	}
	dt, shape, _, err := TensorType(p.GetGraph().GetValueInfo()[0])
	if err != nil || dt != Float16 || len(shape) != 1 || shape[0].Value != 2 {
		t.Errorf("ValueInfo h: got %v %v %v", dt, shape, err)
	}
	b.Input("bad", Float32, 2.5)
	if _, err := b.Model(); err == nil || !strings.Contains(err.Error(), `tensor "bad": dimension 2.5 of type float64`) {
		t.Errorf("bad dim: got %v", err)
	}
	b2 := NewBuilder("g", Opset{"", 21})
	Initializer(b2, "w", Float32, []int64{3}, []float32{1})
	if _, err := b2.Model(); err == nil || !strings.Contains(err.Error(), `tensor "w": 1 values for shape [3]`) {
		t.Errorf("bad initializer: got %v", err)
	}
	if _, _, _, err := TensorType(&onnxpb.ValueInfoProto{Name: ptr("untyped")}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("TensorType(untyped): got %v, want ErrUnsupported", err)
	}
}
