//go:build !purego

package qgemm

import "unsafe"

// quantizeRowAVX512 quantizes one row of k values in blocks of bs (see
// quant_amd64.s); sa and suma advance by stride elements per block.
//
//go:noescape
func quantizeRowAVX512(src *float32, k, bs int, qa *int8, sa *float32, suma *int32, stride int)

// quantizeRowAVX2 quantizes nblocks whole blocks of bs elements (bs a
// multiple of 8) on AVX2.
//
//go:noescape
func quantizeRowAVX2(src *float32, nblocks, bs int, qa *int8, sa *float32, suma *int32, stride int)

// quantizeQ8KAVX512 quantizes up to nsb 256-blocks of src to Q8_K (see
// quant_amd64.s), stopping before the first block whose max|x| is not
// finite; it returns the blocks done.
//
//go:noescape
func quantizeQ8KAVX512(src *float32, nsb int, qa *int8, d *float32, bsums *int16) int

// quantizeQ8KAsm is quantizeQ8KGo's contract on AVX-512.
func quantizeQ8KAsm(x []float32, qa []int8, d []float32, bsums []int16) int {
	n := len(x) / 256
	if n == 0 {
		return 0
	}
	_, _, _ = qa[n*256-1], d[n-1], bsums[n*16-1]
	return quantizeQ8KAVX512(unsafe.SliceData(x), n, unsafe.SliceData(qa), unsafe.SliceData(d), unsafe.SliceData(bsums))
}

func init() {
	if hasAVX512 {
		quantizeQ8KFn = quantizeQ8KAsm
	}
	switch {
	case hasAVX512:
		quantizeRowFn = quantizeRowAsm
	case hasAVX2:
		quantizeRowFn = quantizeRowAsmAVX2
	}
}

// quantizeRowAsmAVX2 is quantizeRowGo on AVX2 for the whole blocks, in Go
// for a partial last one (bit-identical).
func quantizeRowAsmAVX2(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int) {
	full := len(row) / bs
	if full > 0 {
		_, _ = dst[full*bs-1], sa[(full-1)*stride]
		_ = suma[(full-1)*stride]
		quantizeRowAVX2(unsafe.SliceData(row), full, bs, unsafe.SliceData(dst), unsafe.SliceData(sa), unsafe.SliceData(suma), stride)
	}
	if full*bs < len(row) {
		quantizeRowGo(row[full*bs:], bs, dst[full*bs:], sa[full*stride:], suma[full*stride:], stride)
	}
}

// quantizeRowAsm is quantizeRowGo on AVX-512 (bit-identical).
func quantizeRowAsm(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int) {
	k := len(row)
	kb := (k + bs - 1) / bs
	if k == 0 {
		return
	}
	_, _ = dst[kb*bs-1], sa[(kb-1)*stride]
	_ = suma[(kb-1)*stride]
	quantizeRowAVX512(unsafe.SliceData(row), k, bs, unsafe.SliceData(dst), unsafe.SliceData(sa), unsafe.SliceData(suma), stride)
	clear(dst[k:]) // the padding of the last block
}
