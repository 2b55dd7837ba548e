package safetensors

import (
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

// DType is a tensor element type as safetensors names it.
type DType uint8

// The element types of the safetensors format. The zero DType is Invalid.
const (
	Invalid DType = iota
	BOOL
	U8
	I8
	F8E5M2 // "F8_E5M2"
	F8E4M3 // "F8_E4M3" (E4M3FN: no infinities)
	F8E8M0 // "F8_E8M0" (exponent-only scales)
	I16
	U16
	F16
	BF16
	I32
	U32
	F32
	F64
	I64
	U64
)

var dtypeNames = [...]string{
	Invalid: "invalid",
	BOOL:    "BOOL",
	U8:      "U8",
	I8:      "I8",
	F8E5M2:  "F8_E5M2",
	F8E4M3:  "F8_E4M3",
	F8E8M0:  "F8_E8M0",
	I16:     "I16",
	U16:     "U16",
	F16:     "F16",
	BF16:    "BF16",
	I32:     "I32",
	U32:     "U32",
	F32:     "F32",
	F64:     "F64",
	I64:     "I64",
	U64:     "U64",
}

var dtypeSizes = [...]int{
	BOOL: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1, F8E8M0: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8,
}

// String returns the name the format uses, such as "BF16" or "F8_E4M3".
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element in bytes (0 for Invalid).
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// ParseDType returns the DType named s ("F32", "BF16", "F8_E4M3", …),
// and false for a name this package does not know (including the
// sub-byte types F4 and F6_*, whose elements are not whole bytes).
func ParseDType(s string) (DType, bool) {
	for d, name := range dtypeNames {
		if d != int(Invalid) && name == s {
			return DType(d), true
		}
	}
	return Invalid, false
}

// Numeric returns the numeric.DType with the same element encoding, or
// numeric.Invalid where there is none (BOOL, the unsigned types wider than
// a byte, F8_E8M0).
func (d DType) Numeric() numeric.DType {
	switch d {
	case U8:
		return numeric.Uint8
	case I8:
		return numeric.Int8
	case F8E5M2:
		return numeric.Float8E5M2Type
	case F8E4M3:
		return numeric.Float8E4M3FNType
	case I16:
		return numeric.Int16
	case F16:
		return numeric.Float16Type
	case BF16:
		return numeric.BFloat16Type
	case I32:
		return numeric.Int32
	case F32:
		return numeric.Float32
	case F64:
		return numeric.Float64
	case I64:
		return numeric.Int64
	}
	return numeric.Invalid
}
