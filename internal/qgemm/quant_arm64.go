//go:build !purego

package qgemm

import "unsafe"

//go:generate env -u GOOS -u GOARCH go run gen_quant_arm64.go

// quantizeRowNEON quantizes nblocks ≥ 1 whole blocks of bs values (bs a
// positive multiple of 16) as quantizeRowGo does (see quant_arm64.s).
//
//go:noescape
func quantizeRowNEON(src *float32, nblocks, bs int, qa *int8, sa *float32, suma *int32, stride int)

// quantizeQ8KNEON quantizes up to nsb ≥ 1 256-blocks of src to Q8_K (see
// quant_arm64.s), stopping before the first block whose max|x| is not
// finite or so small that its scale overflows; it returns the blocks done.
//
//go:noescape
func quantizeQ8KNEON(src *float32, nsb int, qa *int8, d *float32, bsums *int16) int

func init() {
	quantizeRowFn = quantizeRowAsmNEON
	quantizeQ8KFn = quantizeQ8KAsmNEON
}

// quantizeRowAsmNEON is quantizeRowGo in NEON for the whole blocks where
// bs is a multiple of 16, in Go for the rest (bit-identical).
func quantizeRowAsmNEON(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int) {
	full := len(row) / bs
	if bs%16 != 0 || full == 0 {
		quantizeRowGo(row, bs, dst, sa, suma, stride)
		return
	}
	_, _ = dst[full*bs-1], sa[(full-1)*stride]
	_ = suma[(full-1)*stride]
	quantizeRowNEON(unsafe.SliceData(row), full, bs, unsafe.SliceData(dst), unsafe.SliceData(sa), unsafe.SliceData(suma), stride)
	if full*bs < len(row) {
		quantizeRowGo(row[full*bs:], bs, dst[full*bs:], sa[full*stride:], suma[full*stride:], stride)
	}
}

// quantizeQ8KAsmNEON is quantizeQ8KGo's contract in NEON.
func quantizeQ8KAsmNEON(x []float32, qa []int8, d []float32, bsums []int16) int {
	n := len(x) / 256
	if n == 0 {
		return 0
	}
	_, _, _ = qa[n*256-1], d[n-1], bsums[n*16-1]
	return quantizeQ8KNEON(unsafe.SliceData(x), n, unsafe.SliceData(qa), unsafe.SliceData(d), unsafe.SliceData(bsums))
}
