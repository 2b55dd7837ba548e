package numeric

import "math"

// Slice conversions between float32 and the 16-bit float types. Each
// converts min(len(dst), len(src)) elements, like copy, and returns that
// count; the per-element rules are those of Float16FromFloat32 and the
// other scalar conversions.

// Float32SliceToFloat16 rounds src into dst and returns the number of
// elements converted.
func Float32SliceToFloat16(dst []Float16, src []float32) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		// Float16FromFloat32 with its fast path inlined by hand.
		x := math.Float32bits(v)
		a := x &^ (1 << 31)
		if a-0x38800000 < 0x477ff000-0x38800000 {
			a -= (127 - 15) << 23
			a += 0xfff + (a>>13)&1
			dst[i] = Float16{uint16(x>>16)&f16SignMask | uint16(a>>13)}
			continue
		}
		dst[i] = float16FromFloat32Slow(x)
	}
	return n
}

// Float16SliceToFloat32 decodes src into dst (exactly) and returns the
// number of elements converted.
func Float16SliceToFloat32(dst []float32, src []Float16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = v.Float32()
	}
	return n
}

// Float32SliceToBFloat16 rounds src into dst and returns the number of
// elements converted.
func Float32SliceToBFloat16(dst []BFloat16, src []float32) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = BFloat16FromFloat32(v)
	}
	return n
}

// BFloat16SliceToFloat32 decodes src into dst (exactly) and returns the
// number of elements converted.
func BFloat16SliceToFloat32(dst []float32, src []BFloat16) int {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = v.Float32()
	}
	return n
}
