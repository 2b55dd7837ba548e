package numeric

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
		dst[i] = Float16FromFloat32(v)
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
