package onnx

import (
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

// DataType is an ONNX tensor element type (TensorProto.DataType); its
// values are those of the ONNX schema, so DataType(t.GetDataType()) converts.
type DataType int32

// The ONNX tensor element types.
const (
	Undefined      DataType = 0
	Float32        DataType = 1  // FLOAT
	Uint8          DataType = 2  // UINT8
	Int8           DataType = 3  // INT8
	Uint16         DataType = 4  // UINT16
	Int16          DataType = 5  // INT16
	Int32          DataType = 6  // INT32
	Int64          DataType = 7  // INT64
	String         DataType = 8  // STRING
	Bool           DataType = 9  // BOOL, one byte per element (0 or 1)
	Float16        DataType = 10 // FLOAT16
	Float64        DataType = 11 // DOUBLE
	Uint32         DataType = 12 // UINT32
	Uint64         DataType = 13 // UINT64
	Complex64      DataType = 14 // COMPLEX64
	Complex128     DataType = 15 // COMPLEX128
	BFloat16       DataType = 16 // BFLOAT16
	Float8E4M3FN   DataType = 17 // FLOAT8E4M3FN
	Float8E4M3FNUZ DataType = 18 // FLOAT8E4M3FNUZ
	Float8E5M2     DataType = 19 // FLOAT8E5M2
	Float8E5M2FNUZ DataType = 20 // FLOAT8E5M2FNUZ
	Uint4          DataType = 21 // UINT4, two per byte, first element in the low nibble
	Int4           DataType = 22 // INT4, two per byte, first element in the low nibble
	Float4E2M1     DataType = 23 // FLOAT4E2M1, two per byte, first element in the low nibble
)

var dataTypeNames = [...]string{
	Undefined: "UNDEFINED", Float32: "FLOAT", Uint8: "UINT8", Int8: "INT8", Uint16: "UINT16",
	Int16: "INT16", Int32: "INT32", Int64: "INT64", String: "STRING", Bool: "BOOL",
	Float16: "FLOAT16", Float64: "DOUBLE", Uint32: "UINT32", Uint64: "UINT64",
	Complex64: "COMPLEX64", Complex128: "COMPLEX128", BFloat16: "BFLOAT16",
	Float8E4M3FN: "FLOAT8E4M3FN", Float8E4M3FNUZ: "FLOAT8E4M3FNUZ", Float8E5M2: "FLOAT8E5M2",
	Float8E5M2FNUZ: "FLOAT8E5M2FNUZ", Uint4: "UINT4", Int4: "INT4", Float4E2M1: "FLOAT4E2M1",
}

// bitSizes is the storage size of one element in bits (0: no fixed size).
var bitSizes = [...]int{
	Float32: 32, Uint8: 8, Int8: 8, Uint16: 16, Int16: 16, Int32: 32, Int64: 64,
	Bool: 8, Float16: 16, Float64: 64, Uint32: 32, Uint64: 64, Complex64: 64,
	Complex128: 128, BFloat16: 16, Float8E4M3FN: 8, Float8E4M3FNUZ: 8, Float8E5M2: 8,
	Float8E5M2FNUZ: 8, Uint4: 4, Int4: 4, Float4E2M1: 4,
}

// String returns the ONNX name of d, such as "FLOAT" or "INT4".
func (d DataType) String() string {
	if d >= 0 && int(d) < len(dataTypeNames) {
		return dataTypeNames[d]
	}
	return fmt.Sprintf("DataType(%d)", int32(d))
}

// Bits returns the storage size of one element of d in bits (4 for the
// packed 4-bit types), or 0 for STRING, UNDEFINED and unknown values.
func (d DataType) Bits() int {
	if d >= 0 && int(d) < len(bitSizes) {
		return bitSizes[d]
	}
	return 0
}

// ByteSize returns the number of bytes that n elements of d occupy in
// raw_data: n × size, or ⌈n/2⌉ for the 4-bit types. It returns -1 for types
// without a fixed size and when the result overflows an int.
func (d DataType) ByteSize(n int) int {
	bits := d.Bits()
	if bits == 0 || n < 0 {
		return -1
	}
	if bits == 4 {
		return n/2 + n%2
	}
	per := bits / 8
	if n > maxInt/per {
		return -1
	}
	return n * per
}

const maxInt = int(^uint(0) >> 1)

// NumericDType returns the numeric.DType that holds elements of d in Zerfoo
// tensors and reports whether there is one. BOOL maps to Uint8, INT4 to Int8
// and UINT4 to Uint8 (unpacked, one element per byte), STRING to
// numeric.String (a tensor.Strings).
func (d DataType) NumericDType() (numeric.DType, bool) {
	switch d {
	case Float32:
		return numeric.Float32, true
	case Float64:
		return numeric.Float64, true
	case Float16:
		return numeric.Float16Type, true
	case BFloat16:
		return numeric.BFloat16Type, true
	case Float8E4M3FN:
		return numeric.Float8E4M3FNType, true
	case Float8E5M2:
		return numeric.Float8E5M2Type, true
	case Int8, Int4:
		return numeric.Int8, true
	case Uint8, Bool, Uint4:
		return numeric.Uint8, true
	case Int16:
		return numeric.Int16, true
	case Int32:
		return numeric.Int32, true
	case Int64:
		return numeric.Int64, true
	case Uint16:
		return numeric.Uint16, true
	case Uint32:
		return numeric.Uint32, true
	case Uint64:
		return numeric.Uint64, true
	case String:
		return numeric.String, true
	}
	return numeric.Invalid, false
}

// Element is the set of Go types that TensorData and NewTensor convert ONNX
// tensor elements to and from. Which Go type goes with which DataType:
//
//	FLOAT float32          DOUBLE float64         FLOAT16 numeric.Float16
//	BFLOAT16 numeric.BFloat16                     FLOAT8E4M3FN numeric.Float8E4M3FN
//	FLOAT8E5M2 numeric.Float8E5M2                 INT8, INT4 int8
//	UINT8, BOOL, UINT4, FLOAT4E2M1, FLOAT8E4M3FNUZ, FLOAT8E5M2FNUZ uint8 (bits)
//	INT16 int16   UINT16 uint16   INT32 int32   UINT32 uint32
//	INT64 int64   UINT64 uint64
//
// The 4-bit types are unpacked: one element per Go value, in the low nibble
// (INT4 sign-extended).
type Element interface {
	float32 | float64 | numeric.Float16 | numeric.BFloat16 | numeric.Float8E4M3FN |
		numeric.Float8E5M2 | int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// goTypeFits reports whether T is the Go type for elements of d.
func goTypeFits[T Element](d DataType) bool {
	var z T
	switch any(z).(type) {
	case float32:
		return d == Float32
	case float64:
		return d == Float64
	case numeric.Float16:
		return d == Float16
	case numeric.BFloat16:
		return d == BFloat16
	case numeric.Float8E4M3FN:
		return d == Float8E4M3FN
	case numeric.Float8E5M2:
		return d == Float8E5M2
	case int8:
		return d == Int8 || d == Int4
	case uint8:
		return d == Uint8 || d == Bool || d == Uint4 || d == Float4E2M1 ||
			d == Float8E4M3FNUZ || d == Float8E5M2FNUZ
	case int16:
		return d == Int16
	case uint16:
		return d == Uint16
	case int32:
		return d == Int32
	case uint32:
		return d == Uint32
	case int64:
		return d == Int64
	case uint64:
		return d == Uint64
	}
	return false
}

// goTypeName names T for error messages.
func goTypeName[T Element]() string {
	var z T
	return fmt.Sprintf("%T", z)
}
