package quant

import (
	"errors"
	"fmt"
)

// Type is a ggml tensor element type (enum ggml_type), the type id stored in
// GGUF tensor infos.
type Type uint32

// The ggml types. Ids 4, 5 and 31–33, 36–38 are retired and never valid in
// a file. Only the types for which Supported reports true can be converted
// to float32 (and only those for which CanQuantize reports true from
// float32); the others are known by geometry only.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
	NVFP4   Type = 40
	Q1_0    Type = 41
	Q2_0    Type = 42
)

// Block sizes in elements.
const (
	// QK is the number of elements in a block of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0.
	QK = 32
	// QKK is the number of elements in a K-quant super-block.
	QKK = 256
)

// ErrType is wrapped by errors about an unknown or unsupported Type.
var ErrType = errors.New("quant: unsupported type")

// ErrSize is wrapped by errors about a buffer or element count that does not
// fit a type's blocks.
var ErrSize = errors.New("quant: size mismatch")

type traits struct {
	name       string
	blockSize  int  // elements per block
	blockBytes int  // bytes per block
	supported  bool // Dequantize handles it
	quantize   bool // Quantize handles it
}

var typeTraits = map[Type]traits{
	F32:     {"F32", 1, 4, true, true},
	F16:     {"F16", 1, 2, true, true},
	Q4_0:    {"Q4_0", QK, 18, true, true},
	Q4_1:    {"Q4_1", QK, 20, true, true},
	Q5_0:    {"Q5_0", QK, 22, true, true},
	Q5_1:    {"Q5_1", QK, 24, true, true},
	Q8_0:    {"Q8_0", QK, 34, true, true},
	Q8_1:    {"Q8_1", QK, 36, false, false},
	Q2_K:    {"Q2_K", QKK, 84, true, true},
	Q3_K:    {"Q3_K", QKK, 110, true, true},
	Q4_K:    {"Q4_K", QKK, 144, true, true},
	Q5_K:    {"Q5_K", QKK, 176, true, true},
	Q6_K:    {"Q6_K", QKK, 210, true, true},
	Q8_K:    {"Q8_K", QKK, 292, true, true},
	IQ2_XXS: {"IQ2_XXS", QKK, 66, true, false},
	IQ2_XS:  {"IQ2_XS", QKK, 74, true, false},
	IQ3_XXS: {"IQ3_XXS", QKK, 98, true, false},
	IQ1_S:   {"IQ1_S", QKK, 50, true, false},
	IQ4_NL:  {"IQ4_NL", QK, 18, true, true},
	IQ3_S:   {"IQ3_S", QKK, 110, true, false},
	IQ2_S:   {"IQ2_S", QKK, 82, true, false},
	IQ4_XS:  {"IQ4_XS", QKK, 136, true, true},
	I8:      {"I8", 1, 1, false, false},
	I16:     {"I16", 1, 2, false, false},
	I32:     {"I32", 1, 4, false, false},
	I64:     {"I64", 1, 8, false, false},
	F64:     {"F64", 1, 8, false, false},
	IQ1_M:   {"IQ1_M", QKK, 56, true, false},
	BF16:    {"BF16", 1, 2, true, true},
	TQ1_0:   {"TQ1_0", QKK, 54, true, true},
	TQ2_0:   {"TQ2_0", QKK, 66, true, true},
	MXFP4:   {"MXFP4", QK, 17, true, true},
	NVFP4:   {"NVFP4", QKNVFP4, 36, true, true},
	Q1_0:    {"Q1_0", QK1_0, 18, true, true},
	Q2_0:    {"Q2_0", QK2_0, 18, true, true},
}

// Known reports whether t is a ggml type whose block geometry is known.
func (t Type) Known() bool { _, ok := typeTraits[t]; return ok }

// Supported reports whether Dequantize handles t.
func (t Type) Supported() bool { return typeTraits[t].supported }

// CanQuantize reports whether Quantize handles t. It implies Supported; the
// IQ1, IQ2 and IQ3 types decode but do not encode (their quantizers need
// search tables and, in practice, an importance matrix).
func (t Type) CanQuantize() bool { return typeTraits[t].quantize }

// String returns ggml's name of t ("Q4_K"), or "type(N)" if t is unknown.
func (t Type) String() string {
	if tr, ok := typeTraits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the number of elements in one block of t (1 for the
// plain types), or 0 if t is unknown.
func (t Type) BlockSize() int { return typeTraits[t].blockSize }

// BlockBytes returns the encoded size of one block of t in bytes, or 0 if t
// is unknown.
func (t Type) BlockBytes() int { return typeTraits[t].blockBytes }

// BitsPerWeight returns the storage cost of one element of t in bits, or 0
// if t is unknown.
func (t Type) BitsPerWeight() float64 {
	tr := typeTraits[t]
	if tr.blockSize == 0 {
		return 0
	}
	return float64(8*tr.blockBytes) / float64(tr.blockSize)
}

// RowBytes returns the encoded size of n elements of t. It fails if t is
// unknown, n is negative or n is not a multiple of t's block size.
func (t Type) RowBytes(n int) (int, error) {
	tr, ok := typeTraits[t]
	if !ok {
		return 0, fmt.Errorf("quant: %v: %w", t, ErrType)
	}
	if n < 0 || n%tr.blockSize != 0 {
		return 0, fmt.Errorf("quant: %v: %d elements are not a whole number of %d-element blocks: %w", t, n, tr.blockSize, ErrSize)
	}
	return n / tr.blockSize * tr.blockBytes, nil
}

// ParseType returns the Type named s (as String prints it).
func ParseType(s string) (Type, error) {
	for t, tr := range typeTraits {
		if tr.name == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("quant: unknown type name %q: %w", s, ErrType)
}
