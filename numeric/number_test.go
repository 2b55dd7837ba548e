package numeric

import "testing"

func TestDTypeOf(t *testing.T) {
	tests := []struct {
		got  DType
		want DType
		name string
		size int
	}{
		{DTypeOf[float32](), Float32, "float32", 4},
		{DTypeOf[float64](), Float64, "float64", 8},
		{DTypeOf[Float16](), Float16Type, "float16", 2},
		{DTypeOf[BFloat16](), BFloat16Type, "bfloat16", 2},
		{DTypeOf[Float8E4M3FN](), Float8E4M3FNType, "float8e4m3fn", 1},
		{DTypeOf[Float8E5M2](), Float8E5M2Type, "float8e5m2", 1},
		{DTypeOf[int8](), Int8, "int8", 1},
		{DTypeOf[uint8](), Uint8, "uint8", 1},
		{DTypeOf[int16](), Int16, "int16", 2},
		{DTypeOf[uint16](), Uint16, "uint16", 2},
		{DTypeOf[int32](), Int32, "int32", 4},
		{DTypeOf[uint32](), Uint32, "uint32", 4},
		{DTypeOf[int64](), Int64, "int64", 8},
		{DTypeOf[uint64](), Uint64, "uint64", 8},
	}
	for _, tt := range tests {
		if tt.got != tt.want || tt.got.String() != tt.name || tt.got.Size() != tt.size {
			t.Errorf("DTypeOf = %v (%q, size %d), want %v (%q, size %d)", tt.got, tt.got.String(), tt.got.Size(), tt.want, tt.name, tt.size)
		}
	}
	if Invalid.Size() != 0 || DType(200).String() != "DType(200)" {
		t.Errorf("Invalid.Size() = %d, DType(200) = %q", Invalid.Size(), DType(200).String())
	}
}
