package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type tag of a metadata value (gguf_metadata_value_type).
type ValueType uint32

// The metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the lower-case name of t ("uint32"), or "type(N)".
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// size returns the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. V holds, by Type: uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, or an Array.
type Value struct {
	Type ValueType
	V    any
}

// Array is a metadata array. Values is a slice of the Go type for Elem
// ([]uint8 … []float64, []bool, []string), or []Array for arrays of arrays.
type Array struct {
	Elem   ValueType
	Values any
}

// Len returns the number of elements of a.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// ValueOf returns the Value of a Go value of one of the types listed at
// Value (or a slice of them, or an Array, or a []Array), or an error.
func ValueOf(v any) (Value, error) {
	switch x := v.(type) {
	case Value:
		return x, nil
	case uint8:
		return Value{TypeUint8, x}, nil
	case int8:
		return Value{TypeInt8, x}, nil
	case uint16:
		return Value{TypeUint16, x}, nil
	case int16:
		return Value{TypeInt16, x}, nil
	case uint32:
		return Value{TypeUint32, x}, nil
	case int32:
		return Value{TypeInt32, x}, nil
	case float32:
		return Value{TypeFloat32, x}, nil
	case bool:
		return Value{TypeBool, x}, nil
	case string:
		return Value{TypeString, x}, nil
	case uint64:
		return Value{TypeUint64, x}, nil
	case int64:
		return Value{TypeInt64, x}, nil
	case float64:
		return Value{TypeFloat64, x}, nil
	case Array:
		return Value{TypeArray, x}, nil
	case []uint8:
		return Value{TypeArray, Array{TypeUint8, x}}, nil
	case []int8:
		return Value{TypeArray, Array{TypeInt8, x}}, nil
	case []uint16:
		return Value{TypeArray, Array{TypeUint16, x}}, nil
	case []int16:
		return Value{TypeArray, Array{TypeInt16, x}}, nil
	case []uint32:
		return Value{TypeArray, Array{TypeUint32, x}}, nil
	case []int32:
		return Value{TypeArray, Array{TypeInt32, x}}, nil
	case []float32:
		return Value{TypeArray, Array{TypeFloat32, x}}, nil
	case []bool:
		return Value{TypeArray, Array{TypeBool, x}}, nil
	case []string:
		return Value{TypeArray, Array{TypeString, x}}, nil
	case []uint64:
		return Value{TypeArray, Array{TypeUint64, x}}, nil
	case []int64:
		return Value{TypeArray, Array{TypeInt64, x}}, nil
	case []float64:
		return Value{TypeArray, Array{TypeFloat64, x}}, nil
	case []Array:
		return Value{TypeArray, Array{TypeArray, x}}, nil
	}
	return Value{}, fmt.Errorf("gguf: no metadata type for Go type %T", v)
}

// Uint returns v as a uint64 if it is an integer type holding a
// non-negative value.
func (v Value) Uint() (uint64, bool) {
	switch x := v.V.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8, int16, int32, int64:
		if i, _ := v.Int(); i >= 0 {
			return uint64(i), true
		}
	}
	return 0, false
}

// Int returns v as an int64 if it is an integer type whose value fits.
func (v Value) Int() (int64, bool) {
	switch x := v.V.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32, uint64:
		u, _ := v.Uint()
		if u <= math.MaxInt64 {
			return int64(u), true
		}
	}
	return 0, false
}

// Float returns v as a float64 if it is a float or integer type.
func (v Value) Float() (float64, bool) {
	switch x := v.V.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	if u, ok := v.Uint(); ok {
		return float64(u), true
	}
	return 0, false
}

// String formats v for people: scalars as Go formats them, strings quoted,
// arrays as their element type and length plus up to 8 leading elements.
func (v Value) String() string {
	switch x := v.V.(type) {
	case string:
		return strconv.Quote(x)
	case Array:
		return x.summary(8)
	}
	return fmt.Sprint(v.V)
}

func (a Array) summary(max int) string {
	n := a.Len()
	var b strings.Builder
	fmt.Fprintf(&b, "[%d]%s{", n, a.Elem)
	for i := 0; i < n && i < max; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		switch s := a.Values.(type) {
		case []string:
			b.WriteString(strconv.Quote(s[i]))
		case []Array:
			b.WriteString(s[i].summary(2))
		default:
			fmt.Fprint(&b, indexAny(a.Values, i))
		}
	}
	if n > max {
		b.WriteString(", …")
	}
	b.WriteString("}")
	return b.String()
}

func indexAny(s any, i int) any {
	switch v := s.(type) {
	case []uint8:
		return v[i]
	case []int8:
		return v[i]
	case []uint16:
		return v[i]
	case []int16:
		return v[i]
	case []uint32:
		return v[i]
	case []int32:
		return v[i]
	case []float32:
		return v[i]
	case []bool:
		return v[i]
	case []uint64:
		return v[i]
	case []int64:
		return v[i]
	case []float64:
		return v[i]
	}
	return nil
}
