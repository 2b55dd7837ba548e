package numeric

import (
	"fmt"
	"unsafe"
)

// Float16 is an IEEE 754 binary16 value (1 sign, 5 exponent, 10 mantissa
// bits). It is a struct so that generic code cannot apply integer arithmetic
// to it by accident; its memory layout is exactly one uint16.
type Float16 struct{ bits uint16 }

// BFloat16 is a brain floating point value: the upper 16 bits of an IEEE 754
// binary32 (1 sign, 8 exponent, 7 mantissa bits). Its layout is one uint16.
type BFloat16 struct{ bits uint16 }

// Float8E4M3FN is the OCP 8-bit float with 4 exponent and 3 mantissa bits,
// finite only: it has no infinities, S.1111.111 is NaN and the largest finite
// magnitude is 448. Its layout is one uint8.
type Float8E4M3FN struct{ bits uint8 }

// Float8E5M2 is the OCP 8-bit float with 5 exponent and 2 mantissa bits; it
// follows IEEE 754 conventions (infinities and NaNs). Its layout is one uint8.
type Float8E5M2 struct{ bits uint8 }

// Number is the set of element types a tensor can hold.
//
// The half-precision and 8-bit float types are structs, so generic code over
// Number cannot use the built-in operators; it goes through an Arithmetic[T]
// (or specializes on a concrete type for speed).
type Number interface {
	float32 | float64 | Float16 | BFloat16 | Float8E4M3FN | Float8E5M2 |
		int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// DType names an element type at run time. Use it at boundaries (file
// formats, dtype-erased graph edges); kernels use type parameters.
type DType uint8

// The element types, in no particular order. The zero DType is Invalid.
const (
	Invalid DType = iota
	Float32
	Float64
	Float16Type
	BFloat16Type
	Float8E4M3FNType
	Float8E5M2Type
	Int8
	Uint8
	Int16
	Int32
	Int64
	Uint16
	Uint32
	Uint64
	// String is the element type of tensor.Strings (ONNX STRING tensors).
	// It is not a Number; its Size is that of a Go string header.
	String
)

var dtypeNames = [...]string{
	Invalid:          "invalid",
	Float32:          "float32",
	Float64:          "float64",
	Float16Type:      "float16",
	BFloat16Type:     "bfloat16",
	Float8E4M3FNType: "float8e4m3fn",
	Float8E5M2Type:   "float8e5m2",
	Int8:             "int8",
	Uint8:            "uint8",
	Int16:            "int16",
	Int32:            "int32",
	Int64:            "int64",
	Uint16:           "uint16",
	Uint32:           "uint32",
	Uint64:           "uint64",
	String:           "string",
}

var dtypeSizes = [...]int{
	Float32: 4, Float64: 8, Float16Type: 2, BFloat16Type: 2,
	Float8E4M3FNType: 1, Float8E5M2Type: 1, Int8: 1, Uint8: 1, Int16: 2, Int32: 4, Int64: 8,
	Uint16: 2, Uint32: 4, Uint64: 8, String: int(unsafe.Sizeof("")),
}

// String returns the lower-case name of d, such as "float32".
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element of d in bytes (0 for Invalid).
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// DTypeOf returns the DType of T.
func DTypeOf[T Number]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return Float32
	case float64:
		return Float64
	case Float16:
		return Float16Type
	case BFloat16:
		return BFloat16Type
	case Float8E4M3FN:
		return Float8E4M3FNType
	case Float8E5M2:
		return Float8E5M2Type
	case int8:
		return Int8
	case uint8:
		return Uint8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	}
	return Invalid
}
