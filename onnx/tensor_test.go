package onnx

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// parseBack marshals p and parses it again.
func parseBack(t *testing.T, p *onnxpb.ModelProto) *Model {
	t.Helper()
	b, err := Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	m, err := Parse(b, ReadOptions{Name: "test.onnx"})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// initModel builds a model whose graph outputs the initializer t.
func initModel(t *testing.T, tp *onnxpb.TensorProto) *Model {
	t.Helper()
	b := NewBuilder("g", Opset{"", 21})
	b.AddInitializer(tp)
	b.Output(tp.GetName(), DataType(tp.GetDataType()))
	p, err := b.Model()
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	return parseBack(t, p)
}

func f16(f float32) numeric.Float16   { return numeric.Float16FromFloat32(f) }
func bf16(f float32) numeric.BFloat16 { return numeric.BFloat16FromFloat32(f) }

// roundTrip writes data as an initializer of type dt, reads the model
// back and checks the raw bytes against want (hand-written little-endian)
// and the decoded values against data.
func roundTrip[T Element](t *testing.T, dt DataType, dims []int64, data []T, want []byte) {
	t.Helper()
	tp, err := NewTensor("x", dt, dims, data)
	if err != nil {
		t.Fatalf("NewTensor(%v, %v): %v", dt, dims, err)
	}
	m := initModel(t, tp)
	got := m.Initializer("x")
	if !bytes.Equal(got.GetRawData(), want) {
		t.Errorf("%v raw_data: got % x, want % x", dt, got.GetRawData(), want)
	}
	if !reflect.DeepEqual(got.GetDims(), dims) || DataType(got.GetDataType()) != dt {
		t.Errorf("%v: got dims %v type %v, want %v %v", dt, got.GetDims(), DataType(got.GetDataType()), dims, dt)
	}
	dec, err := TensorData[T](m, got)
	if err != nil {
		t.Fatalf("TensorData[%s](%v): %v", goTypeName[T](), dt, err)
	}
	if !reflect.DeepEqual(dec, data) {
		t.Errorf("%v TensorData: got %v, want %v", dt, dec, data)
	}
	view, err := TensorView[T](m, got)
	if err != nil || !reflect.DeepEqual(view, data) {
		t.Errorf("%v TensorView: got %v, %v, want %v", dt, view, err, data)
	}
}

func TestTensorRoundTrip(t *testing.T) {
	t.Run("FLOAT", func(t *testing.T) {
		roundTrip(t, Float32, []int64{2, 2}, []float32{1, -2, 0.5, float32(math.Inf(1))},
			[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0x3f, 0, 0, 0x80, 0x7f})
	})
	t.Run("DOUBLE", func(t *testing.T) {
		roundTrip(t, Float64, []int64{1}, []float64{-1}, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0xbf})
	})
	t.Run("FLOAT16", func(t *testing.T) {
		roundTrip(t, Float16, []int64{3}, []numeric.Float16{f16(1), f16(-2), f16(65504)},
			[]byte{0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b})
	})
	t.Run("BFLOAT16", func(t *testing.T) {
		roundTrip(t, BFloat16, []int64{2}, []numeric.BFloat16{bf16(1), bf16(-0.5)},
			[]byte{0x80, 0x3f, 0x00, 0xbf})
	})
	t.Run("FLOAT8E4M3FN", func(t *testing.T) {
		roundTrip(t, Float8E4M3FN, []int64{2}, []numeric.Float8E4M3FN{numeric.Float8E4M3FNFromBits(0x38), numeric.Float8E4M3FNFromBits(0xfe)},
			[]byte{0x38, 0xfe})
	})
	t.Run("FLOAT8E5M2", func(t *testing.T) {
		roundTrip(t, Float8E5M2, []int64{1}, []numeric.Float8E5M2{numeric.Float8E5M2FromBits(0x3c)}, []byte{0x3c})
	})
	t.Run("INT8", func(t *testing.T) {
		roundTrip(t, Int8, []int64{3}, []int8{-128, 0, 127}, []byte{0x80, 0, 0x7f})
	})
	t.Run("UINT8", func(t *testing.T) {
		roundTrip(t, Uint8, []int64{2}, []uint8{0, 255}, []byte{0, 0xff})
	})
	t.Run("BOOL", func(t *testing.T) {
		roundTrip(t, Bool, []int64{3}, []uint8{1, 0, 1}, []byte{1, 0, 1})
	})
	t.Run("INT16", func(t *testing.T) {
		roundTrip(t, Int16, []int64{2}, []int16{-2, 0x1234}, []byte{0xfe, 0xff, 0x34, 0x12})
	})
	t.Run("UINT16", func(t *testing.T) {
		roundTrip(t, Uint16, []int64{1}, []uint16{0xbeef}, []byte{0xef, 0xbe})
	})
	t.Run("INT32", func(t *testing.T) {
		roundTrip(t, Int32, []int64{2}, []int32{-1, 0x01020304}, []byte{0xff, 0xff, 0xff, 0xff, 4, 3, 2, 1})
	})
	t.Run("UINT32", func(t *testing.T) {
		roundTrip(t, Uint32, []int64{1}, []uint32{0xdeadbeef}, []byte{0xef, 0xbe, 0xad, 0xde})
	})
	t.Run("INT64", func(t *testing.T) {
		roundTrip(t, Int64, []int64{1, 1}, []int64{-2}, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	})
	t.Run("UINT64", func(t *testing.T) {
		roundTrip(t, Uint64, []int64{1}, []uint64{1 << 63}, []byte{0, 0, 0, 0, 0, 0, 0, 0x80})
	})
	t.Run("INT4", func(t *testing.T) {
		// Elements 1, -2, 7, -8, 3: bytes (lo, hi) = (1, 0xe), (7, 0x8), (3, 0).
		roundTrip(t, Int4, []int64{5}, []int8{1, -2, 7, -8, 3}, []byte{0xe1, 0x87, 0x03})
	})
	t.Run("UINT4", func(t *testing.T) {
		roundTrip(t, Uint4, []int64{2, 2}, []uint8{0, 15, 9, 1}, []byte{0xf0, 0x19})
	})
	t.Run("scalar", func(t *testing.T) {
		roundTrip(t, Float32, nil, []float32{3}, []byte{0, 0, 0x40, 0x40})
	})
	t.Run("empty", func(t *testing.T) {
		roundTrip(t, Int64, []int64{0, 3}, []int64{}, []byte{})
	})
}

// typed builds a tensor stored in typed fields.
func typed(name string, dt DataType, dims []int64, fill func(*onnxpb.TensorProto)) *onnxpb.TensorProto {
	tp := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims}
	fill(tp)
	return tp
}

func TestTypedFields(t *testing.T) {
	check := func(t *testing.T, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	t.Run("float_data", func(t *testing.T) {
		got, err := TensorData[float32](nil, typed("f", Float32, []int64{2}, func(p *onnxpb.TensorProto) { p.FloatData = []float32{1.5, -3} }))
		check(t, got, []float32{1.5, -3}, err)
	})
	t.Run("int32_data FLOAT16 bits", func(t *testing.T) {
		got, err := TensorData[numeric.Float16](nil, typed("h", Float16, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3c00, 0xc000} }))
		check(t, got, []numeric.Float16{f16(1), f16(-2)}, err)
	})
	t.Run("int32_data BFLOAT16 bits", func(t *testing.T) {
		got, err := TensorData[numeric.BFloat16](nil, typed("b", BFloat16, []int64{1}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3f80} }))
		check(t, got, []numeric.BFloat16{bf16(1)}, err)
	})
	t.Run("int32_data INT8", func(t *testing.T) {
		got, err := TensorData[int8](nil, typed("i8", Int8, []int64{3}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-128, 5, 127} }))
		check(t, got, []int8{-128, 5, 127}, err)
	})
	t.Run("int32_data UINT8", func(t *testing.T) {
		got, err := TensorData[uint8](nil, typed("u8", Uint8, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{200, 3} }))
		check(t, got, []uint8{200, 3}, err)
	})
	t.Run("int32_data BOOL", func(t *testing.T) {
		got, err := TensorData[uint8](nil, typed("b", Bool, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1, 0} }))
		check(t, got, []uint8{1, 0}, err)
	})
	t.Run("int32_data INT16", func(t *testing.T) {
		got, err := TensorData[int16](nil, typed("i16", Int16, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{-300, 300} }))
		check(t, got, []int16{-300, 300}, err)
	})
	t.Run("int32_data INT32", func(t *testing.T) {
		got, err := TensorData[int32](nil, typed("i32", Int32, []int64{1}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{math.MinInt32} }))
		check(t, got, []int32{math.MinInt32}, err)
	})
	t.Run("int32_data INT4 packed", func(t *testing.T) {
		// Three elements in two packed bytes: (-1, 2) = 0x2f, (-8) = 0x08.
		got, err := TensorData[int8](nil, typed("i4", Int4, []int64{3}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x2f, 0x08} }))
		check(t, got, []int8{-1, 2, -8}, err)
	})
	t.Run("int32_data UINT4 packed", func(t *testing.T) {
		got, err := TensorData[uint8](nil, typed("u4", Uint4, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0xa5} }))
		check(t, got, []uint8{5, 10}, err)
	})
	t.Run("int64_data", func(t *testing.T) {
		got, err := TensorData[int64](nil, typed("i64", Int64, []int64{2}, func(p *onnxpb.TensorProto) { p.Int64Data = []int64{-1, 1 << 40} }))
		check(t, got, []int64{-1, 1 << 40}, err)
	})
	t.Run("double_data", func(t *testing.T) {
		got, err := TensorData[float64](nil, typed("d", Float64, []int64{1}, func(p *onnxpb.TensorProto) { p.DoubleData = []float64{math.Pi} }))
		check(t, got, []float64{math.Pi}, err)
	})
	t.Run("uint64_data UINT32", func(t *testing.T) {
		got, err := TensorData[uint32](nil, typed("u32", Uint32, []int64{1}, func(p *onnxpb.TensorProto) { p.Uint64Data = []uint64{math.MaxUint32} }))
		check(t, got, []uint32{math.MaxUint32}, err)
	})
	t.Run("TensorBytes encodes typed fields", func(t *testing.T) {
		var m *Model
		got, err := m.TensorBytes(typed("f", Float16, []int64{2}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{0x3c00, 0x1234} }))
		check(t, got, []byte{0x00, 0x3c, 0x34, 0x12}, err)
	})
	t.Run("strings", func(t *testing.T) {
		var m *Model
		got, err := m.TensorStrings(typed("s", String, []int64{2}, func(p *onnxpb.TensorProto) { p.StringData = [][]byte{[]byte("a"), []byte("bc")} }))
		check(t, got, [][]byte{[]byte("a"), []byte("bc")}, err)
	})
}

func TestTensorErrors(t *testing.T) {
	raw := func(name string, dt DataType, dims []int64, b []byte) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: b}
	}
	tests := []struct {
		name     string
		decode   func() error
		sentinel error
		want     []string // substrings of the message
	}{
		{"raw too short", func() error {
			_, err := TensorData[float32](nil, raw("w", Float32, []int64{2, 2}, make([]byte, 12)))
			return err
		}, ErrInvalid, []string{`tensor "w"`, "raw_data has 12 bytes, want 16 for FLOAT [2 2]"}},
		{"raw too long int4", func() error {
			_, err := TensorData[int8](nil, raw("q", Int4, []int64{3}, make([]byte, 3)))
			return err
		}, ErrInvalid, []string{`tensor "q"`, "raw_data has 3 bytes, want 2 for INT4 [3]"}},
		{"negative dim", func() error {
			_, err := TensorData[float32](nil, raw("n", Float32, []int64{-1}, nil))
			return err
		}, ErrInvalid, []string{`tensor "n"`, "negative dimension"}},
		{"huge dims", func() error {
			_, err := TensorData[float32](nil, raw("h", Float32, []int64{1 << 40, 1 << 40}, nil))
			return err
		}, ErrInvalid, []string{`tensor "h"`, "too many elements"}},
		{"huge dims typed", func() error {
			_, err := TensorData[float32](nil, typed("h2", Float32, []int64{1 << 40}, func(*onnxpb.TensorProto) {}))
			return err
		}, ErrInvalid, []string{`tensor "h2"`, "float_data has 0 values, want 1099511627776"}},
		{"wrong Go type", func() error {
			_, err := TensorData[float32](nil, raw("i", Int64, []int64{1}, make([]byte, 8)))
			return err
		}, ErrInvalid, []string{`tensor "i"`, "data type is INT64, cannot decode as float32"}},
		{"unknown data type", func() error {
			var m *Model
			_, err := m.TensorBytes(raw("u", DataType(99), []int64{1}, make([]byte, 8)))
			return err
		}, ErrUnsupported, []string{`tensor "u"`, "unsupported data type DataType(99)"}},
		{"complex64 as TensorData", func() error {
			_, err := TensorData[float32](nil, raw("c", Complex64, []int64{1}, make([]byte, 8)))
			return err
		}, ErrInvalid, []string{"COMPLEX64, cannot decode as float32"}},
		{"string bytes", func() error {
			var m *Model
			_, err := m.TensorBytes(raw("s", String, []int64{1}, nil))
			return err
		}, ErrUnsupported, []string{"STRING"}},
		{"int32_data out of range", func() error {
			_, err := TensorData[uint8](nil, typed("b", Uint8, []int64{1}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{256} }))
			return err
		}, ErrInvalid, []string{`tensor "b"`, "int32_data[0] = 256 is out of range for UINT8"}},
		{"int32_data count", func() error {
			_, err := TensorData[int32](nil, typed("c", Int32, []int64{3}, func(p *onnxpb.TensorProto) { p.Int32Data = []int32{1} }))
			return err
		}, ErrInvalid, []string{"int32_data has 1 values, want 3"}},
		{"segment", func() error {
			tp := raw("seg", Float32, []int64{1}, make([]byte, 4))
			tp.Segment = &onnxpb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(1)}
			_, err := TensorData[float32](nil, tp)
			return err
		}, ErrUnsupported, []string{"segmented"}},
		{"external without model", func() error {
			tp := raw("e", Float32, []int64{1}, nil)
			tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			tp.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
			_, err := TensorData[float32](nil, tp)
			return err
		}, ErrInvalid, []string{`tensor "e"`, "no directory"}},
		{"NewTensor count", func() error {
			_, err := NewTensor("n", Float32, []int64{2, 3}, []float32{1})
			return err
		}, ErrInvalid, []string{`tensor "n"`, "1 values for shape [2 3]"}},
		{"NewTensor int4 range", func() error {
			_, err := NewTensor("n", Int4, []int64{2}, []int8{1, 8})
			return err
		}, ErrInvalid, []string{"value 8 at 1 does not fit in INT4"}},
		{"NewTensor type", func() error {
			_, err := NewTensor("n", Float16, []int64{1}, []float32{1})
			return err
		}, ErrInvalid, []string{"cannot store float32 values as FLOAT16"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode()
			if err == nil {
				t.Fatalf("got nil error, want %v", tc.sentinel)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "onnx: ") {
				t.Errorf("error %q does not start with \"onnx: \"", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestTensorViewAliases(t *testing.T) {
	tp, err := NewTensor("w", Float32, []int64{4}, []float32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	v, err := TensorView[float32](nil, tp)
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.Pointer(&v[0]) != unsafe.Pointer(&tp.RawData[0]) {
		t.Errorf("TensorView copied aligned raw data; want a view")
	}
	d, _ := TensorData[float32](nil, tp)
	if unsafe.Pointer(&d[0]) == unsafe.Pointer(&tp.RawData[0]) {
		t.Errorf("TensorData aliases raw data; want a copy")
	}
	// Misaligned raw data is copied.
	buf := make([]byte, 17)
	tp.RawData = buf[1:17]
	v, err = TensorView[float32](nil, tp)
	if err != nil || len(v) != 4 {
		t.Fatalf("misaligned TensorView: %v, %v", v, err)
	}
	if uintptr(unsafe.Pointer(&v[0]))%4 != 0 {
		t.Errorf("misaligned TensorView returned a misaligned slice")
	}
}
