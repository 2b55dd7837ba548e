package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// NumElements returns the number of elements of a tensor with the given
// dims (1 for a scalar). It fails on negative dims and on overflow.
func NumElements(dims []int64) (int, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in %v", dims)
		}
		if d != 0 && n > int64(maxInt)/d {
			return 0, fmt.Errorf("shape %v has too many elements", dims)
		}
		n *= d
	}
	return int(n), nil
}

// tensorErr builds an *Error about tensor t.
func (m *Model) tensorErr(t *onnxpb.TensorProto, err error, format string, args ...any) error {
	return &Error{File: m.name(), Tensor: t.GetName(), Msg: fmt.Sprintf(format, args...), Err: err}
}

// TensorBytes returns the elements of t as little-endian bytes laid out as
// in raw_data (4-bit types packed two per byte, low nibble first; BOOL one
// byte per element). For raw_data and external data the result aliases the
// tensor or the read-only memory map of the external file: do not modify
// it, and do not use it after m.Close. Tensors stored in the typed fields
// (float_data, int32_data, ...) are encoded into a new slice.
//
// The receiver may be nil for tensors without external data. Errors name the
// tensor and say what is wrong: a length that does not match dims × data
// type, a missing or short external file, an unsupported data type.
func (m *Model) TensorBytes(t *onnxpb.TensorProto) ([]byte, error) {
	return m.tensorBytes(t, true)
}

// checkTensor checks that t's data is present and matches its dims and
// data type, without encoding typed fields.
func (m *Model) checkTensor(t *onnxpb.TensorProto) error {
	if DataType(t.GetDataType()) == String && !IsExternal(t) {
		_, err := m.TensorStrings(t)
		return err
	}
	_, err := m.tensorBytes(t, false)
	return err
}

func (m *Model) tensorBytes(t *onnxpb.TensorProto, encode bool) ([]byte, error) {
	dt := DataType(t.GetDataType())
	if t.Segment != nil {
		return nil, m.tensorErr(t, ErrUnsupported, "segmented tensors are not supported")
	}
	if dt == String {
		return nil, m.tensorErr(t, ErrUnsupported, "STRING tensor has no byte layout (use TensorStrings)")
	}
	if dt.Bits() == 0 {
		return nil, m.tensorErr(t, ErrUnsupported, "unsupported data type %v", dt)
	}
	n, err := NumElements(t.GetDims())
	if err != nil {
		return nil, m.tensorErr(t, ErrInvalid, "%v", err)
	}
	want := dt.ByteSize(n)
	if want < 0 {
		return nil, m.tensorErr(t, ErrInvalid, "%v %v is too large", dt, t.GetDims())
	}
	var b []byte
	var where string
	switch {
	case IsExternal(t):
		b, err = m.externalBytes(t)
		if err != nil {
			return nil, err
		}
		where = "external data"
	case t.RawData != nil:
		b, where = t.RawData, "raw_data"
	default:
		if _, err := m.typedBytes(t, dt, n, nil); err != nil {
			return nil, err
		}
		if err := m.checkBudget(t, dt, n); err != nil || !encode {
			return nil, err
		}
		return m.typedBytes(t, dt, n, make([]byte, want))
	}
	if len(b) != want {
		return nil, m.tensorErr(t, ErrInvalid, "%s has %d bytes, want %d for %v %v", where, len(b), want, dt, t.GetDims())
	}
	if err := m.checkBudget(t, dt, n); err != nil {
		return nil, err
	}
	return b, nil
}

// checkBudget checks what n elements of dt decode to (TensorData's slice:
// one byte per element for the 4-bit types) against the model's budget.
func (m *Model) checkBudget(t *onnxpb.TensorProto, dt DataType, n int) error {
	if err := m.Budget().CheckElems("its data", max(1, dt.Bits()/8), n); err != nil {
		return m.tensorErr(t, err, "%v %v", dt, t.GetDims())
	}
	return nil
}

// typedBytes encodes the typed repeated field that holds t's data into out
// (len(out) is the raw byte size of t), or only checks it when out is nil.
func (m *Model) typedBytes(t *onnxpb.TensorProto, dt DataType, n int, out []byte) ([]byte, error) {
	want := dt.ByteSize(n)
	count := func(field string, got, wantN int) error {
		if got != wantN {
			return m.tensorErr(t, ErrInvalid, "%s has %d values, want %d for %v %v", field, got, wantN, dt, t.GetDims())
		}
		return nil
	}
	le := binary.LittleEndian
	switch dt {
	case Float32, Complex64:
		v := t.GetFloatData()
		if err := count("float_data", len(v), want/4); err != nil {
			return nil, err
		}
		for i, x := range v {
			if out != nil {
				le.PutUint32(out[4*i:], math.Float32bits(x))
			}
		}
	case Float64, Complex128:
		v := t.GetDoubleData()
		if err := count("double_data", len(v), want/8); err != nil {
			return nil, err
		}
		for i, x := range v {
			if out != nil {
				le.PutUint64(out[8*i:], math.Float64bits(x))
			}
		}
	case Int64:
		v := t.GetInt64Data()
		if err := count("int64_data", len(v), n); err != nil {
			return nil, err
		}
		for i, x := range v {
			if out != nil {
				le.PutUint64(out[8*i:], uint64(x))
			}
		}
	case Uint64, Uint32:
		v := t.GetUint64Data()
		if err := count("uint64_data", len(v), n); err != nil {
			return nil, err
		}
		for i, x := range v {
			switch {
			case dt == Uint32 && x > math.MaxUint32:
				return nil, m.tensorErr(t, ErrInvalid, "uint64_data[%d] = %d is out of range for UINT32", i, x)
			case out == nil:
			case dt == Uint64:
				le.PutUint64(out[8*i:], x)
			default:
				le.PutUint32(out[4*i:], uint32(x))
			}
		}
	default: // the types stored in int32_data, each as one value per storage unit
		v := t.GetInt32Data()
		bits := dt.Bits()
		units := n
		if bits == 4 {
			bits, units = 8, want // one packed byte per int32
		}
		if err := count("int32_data", len(v), units); err != nil {
			return nil, err
		}
		lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
		if bits < 32 {
			// Signed or unsigned: accept either reading of the bits.
			lo, hi = -(int64(1) << (bits - 1)), int64(1)<<bits-1
		}
		for i, x := range v {
			if int64(x) < lo || int64(x) > hi {
				return nil, m.tensorErr(t, ErrInvalid, "int32_data[%d] = %d is out of range for %v", i, x, dt)
			}
			if out == nil {
				continue
			}
			switch bits {
			case 8:
				out[i] = uint8(x)
			case 16:
				le.PutUint16(out[2*i:], uint16(x))
			case 32:
				le.PutUint32(out[4*i:], uint32(x))
			}
		}
	}
	return out, nil
}

// TensorStrings returns the elements of a STRING tensor.
func (m *Model) TensorStrings(t *onnxpb.TensorProto) ([][]byte, error) {
	if dt := DataType(t.GetDataType()); dt != String {
		return nil, m.tensorErr(t, ErrInvalid, "data type is %v, not STRING", dt)
	}
	n, err := NumElements(t.GetDims())
	if err != nil {
		return nil, m.tensorErr(t, ErrInvalid, "%v", err)
	}
	if len(t.GetStringData()) != n {
		return nil, m.tensorErr(t, ErrInvalid, "string_data has %d values, want %d for %v", len(t.GetStringData()), n, t.GetDims())
	}
	return t.GetStringData(), nil
}

// TensorData decodes t into a new []T with one element per tensor element
// in row-major order. T must be the Go type for t's data type (see
// Element); 4-bit types are unpacked to one element per value (INT4
// sign-extended), so the length always equals the product of dims. m may be
// nil for tensors without external data.
func TensorData[T Element](m *Model, t *onnxpb.TensorProto) ([]T, error) {
	dt := DataType(t.GetDataType())
	if !goTypeFits[T](dt) {
		return nil, m.tensorErr(t, ErrInvalid, "data type is %v, cannot decode as %s", dt, goTypeName[T]())
	}
	b, err := m.TensorBytes(t)
	if err != nil {
		return nil, err
	}
	n, _ := NumElements(t.GetDims()) // checked by TensorBytes
	out := make([]T, n)
	if dt.Bits() == 4 {
		unpack4(out, b, dt == Int4)
		return out, nil
	}
	copy(asBytes(out), b)
	if !littleEndian {
		swapBytes(asBytes(out), int(unsafe.Sizeof(out[0])))
	}
	return out, nil
}

// TensorView returns t's elements as a []T like TensorData, but without
// copying when the data is raw or external, the host is little-endian, the
// type is not 4-bit and the bytes are aligned for T: the slice then aliases
// the model's memory (a read-only memory map for external data), must not
// be modified, and must not be used after m.Close. Otherwise it returns
// TensorData's copy.
func TensorView[T Element](m *Model, t *onnxpb.TensorProto) ([]T, error) {
	dt := DataType(t.GetDataType())
	if !goTypeFits[T](dt) || dt.Bits() == 4 || !littleEndian {
		return TensorData[T](m, t)
	}
	b, err := m.TensorBytes(t)
	if err != nil {
		return nil, err
	}
	var z T
	size := int(unsafe.Sizeof(z))
	if len(b) == 0 {
		return []T{}, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%uintptr(unsafe.Alignof(z)) != 0 {
		return TensorData[T](m, t)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size), nil
}

// unpack4 expands packed 4-bit values (low nibble first) into out.
func unpack4[T Element](out []T, b []byte, signed bool) {
	for i := range out {
		nib := b[i/2] >> (4 * uint(i&1)) & 0xf
		if signed {
			*(*int8)(unsafe.Pointer(&out[i])) = int8(nib<<4) >> 4
		} else {
			*(*uint8)(unsafe.Pointer(&out[i])) = nib
		}
	}
}

// asBytes views s as bytes.
func asBytes[T Element](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// swapBytes reverses the byte order of each size-byte element of b.
func swapBytes(b []byte, size int) {
	if size == 1 {
		return
	}
	for i := 0; i+size <= len(b); i += size {
		e := b[i : i+size]
		for j, k := 0, size-1; j < k; j, k = j+1, k-1 {
			e[j], e[k] = e[k], e[j]
		}
	}
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// DecodeTensor decodes t into a new slice of the Go type for its data type
// (see Element): []float32 for FLOAT, []numeric.Float16 for FLOAT16, []int8
// for INT8 and INT4, []uint8 for UINT8, BOOL and UINT4, and so on; [][]byte
// for STRING. m may be nil for tensors without external data.
func DecodeTensor(m *Model, t *onnxpb.TensorProto) (any, error) {
	switch DataType(t.GetDataType()) {
	case Float32:
		return TensorData[float32](m, t)
	case Float64:
		return TensorData[float64](m, t)
	case Float16:
		return TensorData[numeric.Float16](m, t)
	case BFloat16:
		return TensorData[numeric.BFloat16](m, t)
	case Float8E4M3FN:
		return TensorData[numeric.Float8E4M3FN](m, t)
	case Float8E5M2:
		return TensorData[numeric.Float8E5M2](m, t)
	case Int8, Int4:
		return TensorData[int8](m, t)
	case Uint8, Bool, Uint4, Float4E2M1, Float8E4M3FNUZ, Float8E5M2FNUZ:
		return TensorData[uint8](m, t)
	case Int16:
		return TensorData[int16](m, t)
	case Uint16:
		return TensorData[uint16](m, t)
	case Int32:
		return TensorData[int32](m, t)
	case Uint32:
		return TensorData[uint32](m, t)
	case Int64:
		return TensorData[int64](m, t)
	case Uint64:
		return TensorData[uint64](m, t)
	case String:
		return m.TensorStrings(t)
	}
	_, err := m.TensorBytes(t) // reports the unsupported type or bad layout
	if err == nil {
		err = m.tensorErr(t, ErrUnsupported, "cannot decode %v elements", DataType(t.GetDataType()))
	}
	return nil, err
}
