package numeric

import "fmt"

// Packing of 2-, 4- and 8-bit codes into bytes, in the order of ONNX
// (INT4/UINT4 tensors, MatMulNBits B and zero points): element i is the
// bits-wide field at bit offset i*bits, low bits first. For 4 bits, element
// 2j is the low nibble of byte j and element 2j+1 the high nibble; for 2 bits,
// element 4j sits in bits 0-1 of byte j and element 4j+3 in bits 6-7.
//
// When the element count is not a multiple of 8/bits, the unused high fields
// of the last byte are written as 0. Unpacking cannot tell such padding from
// real zeros, so the slice forms unpack every field (a whole number of
// bytes); use UnpackBits with a destination of the true length to drop it.

// PackedLen returns the bytes needed to pack n codes of bits bits,
// ceil(n*bits/8).
func PackedLen(n, bits int) int { return (n*bits + 7) / 8 }

func checkPackBits(bits int) error {
	if bits != 2 && bits != 4 && bits != 8 {
		return fmt.Errorf("numeric: pack bits %d is not 2, 4 or 8: %w", bits, ErrQuantization)
	}
	return nil
}

// PackBits packs the codes of src, bits bits each (2, 4 or 8), into
// dst[:PackedLen(len(src), bits)] and returns that length. It returns an
// error wrapping ErrQuantization, and leaves dst unchanged, if bits is not
// supported, dst is too short, or a code does not fit in bits bits (the error
// names its index and value). dst may be src itself (packing in place).
func PackBits(dst, src []uint8, bits int) (int, error) {
	if err := checkPackBits(bits); err != nil {
		return 0, err
	}
	n := PackedLen(len(src), bits)
	if len(dst) < n {
		return 0, fmt.Errorf("numeric: pack %d %d-bit codes needs %d bytes, dst has %d: %w",
			len(src), bits, n, len(dst), ErrQuantization)
	}
	maxCode := uint8(1<<bits - 1)
	for i, v := range src {
		if v > maxCode {
			return 0, fmt.Errorf("numeric: pack %d-bit codes: src[%d] = %d exceeds %d: %w", bits, i, v, maxCode, ErrQuantization)
		}
	}
	switch bits {
	case 8:
		copy(dst, src)
	case 4:
		for j := 0; j < n; j++ {
			b := src[2*j]
			if 2*j+1 < len(src) {
				b |= src[2*j+1] << 4
			}
			dst[j] = b
		}
	case 2:
		for j := 0; j < n; j++ {
			var b uint8
			for l := 0; l < 4 && 4*j+l < len(src); l++ {
				b |= src[4*j+l] << (2 * l)
			}
			dst[j] = b
		}
	}
	return n, nil
}

// UnpackBits unpacks len(dst) codes of bits bits (2, 4 or 8) from src, the
// inverse of PackBits. Fields of src beyond len(dst) are ignored. It returns
// an error wrapping ErrQuantization if bits is not supported or src holds
// fewer than len(dst) codes.
func UnpackBits(dst, src []uint8, bits int) error {
	if err := checkPackBits(bits); err != nil {
		return err
	}
	if need := PackedLen(len(dst), bits); len(src) < need {
		return fmt.Errorf("numeric: unpack %d %d-bit codes needs %d bytes, src has %d: %w",
			len(dst), bits, need, len(src), ErrQuantization)
	}
	switch bits {
	case 8:
		copy(dst, src)
	case 4:
		for i := range dst {
			dst[i] = src[i>>1] >> (uint(i&1) << 2) & 0xF
		}
	case 2:
		for i := range dst {
			dst[i] = src[i>>2] >> (uint(i&3) << 1) & 0x3
		}
	}
	return nil
}

// Pack4Bit is PackBits(dst, src, 4): it packs 4-bit codes two per byte,
// first in the low nibble, and reports codes above 15 as errors.
func Pack4Bit(dst, src []uint8) (int, error) { return PackBits(dst, src, 4) }

// Unpack4Bit is UnpackBits(dst, src, 4): it unpacks len(dst) 4-bit codes.
func Unpack4Bit(dst, src []uint8) error { return UnpackBits(dst, src, 4) }

// mustPack is the panicking core of the Pack*Slice functions.
func mustPack(src []uint8, bits int, name string) []uint8 {
	dst := make([]uint8, PackedLen(len(src), bits))
	if _, err := PackBits(dst, src, bits); err != nil {
		panic(fmt.Sprintf("%v (%s panics on invalid codes; use PackBits for an error)", err, name))
	}
	return dst
}

func unpackAll(src []uint8, bits int) []uint8 {
	dst := make([]uint8, len(src)*8/bits)
	_ = UnpackBits(dst, src, bits) // cannot fail: bits is valid, src is long enough
	return dst
}

// Pack4BitSlice returns src packed two codes per byte, the first in the low
// nibble: Pack4BitSlice([]uint8{1, 2, 3, 4}) is []uint8{0x21, 0x43}. An odd
// count leaves the high nibble of the last byte 0, so the result has
// ceil(len(src)/2) bytes. A code above 15 is a programmer error and panics
// with a message naming its index and value (values are never truncated);
// use Pack4Bit to get an error instead.
func Pack4BitSlice(src []uint8) []uint8 { return mustPack(src, 4, "Pack4BitSlice") }

// Unpack4BitSlice returns the 2*len(packed) nibbles of packed, low nibble
// first: Unpack4BitSlice([]uint8{0x21, 0x43}) is []uint8{1, 2, 3, 4}. It
// inverts Pack4BitSlice for even counts; after packing an odd count the
// result ends with the extra padding 0. Use Unpack4Bit to unpack an exact
// count.
func Unpack4BitSlice(packed []uint8) []uint8 { return unpackAll(packed, 4) }

// Pack2BitSlice returns src packed four codes per byte, the first in bits
// 0-1: Pack2BitSlice([]uint8{0, 1, 2, 3}) is []uint8{0xE4}. Unused fields of
// the last byte are 0. A code above 3 panics (see Pack4BitSlice); use
// PackBits(dst, src, 2) to get an error instead.
func Pack2BitSlice(src []uint8) []uint8 { return mustPack(src, 2, "Pack2BitSlice") }

// Unpack2BitSlice returns the 4*len(packed) 2-bit fields of packed, lowest
// first; it inverts Pack2BitSlice when the count was a multiple of 4.
func Unpack2BitSlice(packed []uint8) []uint8 { return unpackAll(packed, 2) }

// Pack8BitSlice returns a copy of src: 8-bit codes occupy one byte each. It
// exists so that code generic over the bit width can call the same family.
func Pack8BitSlice(src []uint8) []uint8 { return mustPack(src, 8, "Pack8BitSlice") }

// Unpack8BitSlice returns a copy of packed.
func Unpack8BitSlice(packed []uint8) []uint8 { return unpackAll(packed, 8) }
