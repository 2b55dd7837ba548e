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

// requantRowsArgs are RequantRows' arguments for the assembly (strides in
// bytes); it reads the fields at fixed offsets.
type requantRowsArgs struct {
	dst     *uint8   // 0
	ldd     int      // 8
	acc     *int32   // 16
	lda     int      // 24
	rows    int      // 32
	blocks  int      // 40
	add     *int32   // 48
	sub     *int32   // 56
	mult    *float32 // 64
	addStep int      // 72: 4, or 0 for one add shared by the rows
	lo, hi  float32  // 80, 84
	z       int32    // 88
	_       int32
}

// RequantRows is Requant on rows rows: row r of dst and acc starts at
// r·ldd and r·lda, with add[r] (add nil: 0 for every row); sub and mult
// (len(mult) columns) are shared by the rows. mult must hold no NaN.
func RequantRows(dst []uint8, ldd int, acc []int32, lda, rows int, add, sub []int32, mult []float32, lo, hi float32, z int32) {
	cols := len(mult)
	if rows <= 0 || cols == 0 {
		return
	}
	_, _, _ = dst[(rows-1)*ldd+cols-1], acc[(rows-1)*lda+cols-1], sub[cols-1]
	var zero int32
	addAt := func(r int) int32 {
		if add == nil {
			return 0
		}
		return add[r]
	}
	if add != nil {
		_ = add[rows-1]
	}
	n := 0
	if hasAVX512 {
		n = cols &^ 15
		if n > 0 {
			p := requantRowsArgs{dst: &dst[0], ldd: ldd, acc: &acc[0], lda: 4 * lda, rows: rows, blocks: n / 16,
				add: &zero, sub: &sub[0], mult: &mult[0], lo: lo, hi: hi, z: z}
			if add != nil {
				p.add, p.addStep = &add[0], 4
			}
			requantRowsAVX512(&p)
		}
	}
	if n < cols {
		for r := 0; r < rows; r++ {
			requantGeneric(dst[r*ldd+n:r*ldd+cols], acc[r*lda+n:r*lda+cols], addAt(r), sub[n:cols], mult[n:cols], lo, hi, z)
		}
	}
}
