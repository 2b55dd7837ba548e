package simd

// maxU8Generic sets dst[i] = max(dst[i], x[i]) for i < len(x).
func maxU8Generic(dst, x []uint8) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = max(dst[i], v)
	}
}

// MaxU8 sets dst[i] = max(dst[i], x[i]) for i < len(x) (uint8 codes, as
// MaxPool of a quantized CNN takes them); len(x) ≤ len(dst).
func MaxU8(dst, x []uint8) {
	n := 0
	if hasAVX512 {
		n = len(x) &^ 63
		if n > 0 {
			_ = dst[n-1]
			maxU8AVX512(&dst[0], &x[0], n/64)
		}
	}
	maxU8Generic(dst[n:len(x)], x[n:])
}

// addU8Args are the scalar parameters of AddU8; the assembly reads them
// at fixed offsets.
type addU8Args struct {
	ra, rb, base, lo, hi float32
}

// addU8Generic sets dst[i] = round(clamp(ra·a[i] + rb·b[i] + base, lo,
// hi)) for i < len(dst), the float32 operations in that order, rounded
// half to even.
func addU8Generic(dst, a, b []uint8, p *addU8Args) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		v := min(max(p.ra*float32(a[i])+p.rb*float32(b[i])+p.base, p.lo), p.hi)
		dst[i] = uint8(int32((v + roundMagic) - roundMagic))
	}
}

// AddU8 sets dst[i] = round(clamp(ra·a[i] + rb·b[i] + base, lo, hi))
// (float32, in that order, ties to even) for i < len(dst): the
// element-wise com.microsoft.QLinearAdd of uint8 codes as ONNX Runtime
// computes it, with ra = a_scale/c_scale, rb = b_scale/c_scale, base =
// c_zp − (ra·a_zp + rb·b_zp). lo and hi must lie in [0, 255]; a and b need
// len(dst) elements.
func AddU8(dst, a, b []uint8, ra, rb, base, lo, hi float32) {
	p := addU8Args{ra: ra, rb: rb, base: base, lo: lo, hi: hi}
	n := 0
	if hasAVX512 {
		n = len(dst) &^ 15
		if n > 0 {
			_, _ = a[n-1], b[n-1]
			addU8AVX512(&dst[0], &a[0], &b[0], n/16, &p)
		}
	}
	addU8Generic(dst[n:], a[n:], b[n:], &p)
}
