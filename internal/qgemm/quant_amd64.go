//go:build !purego

package qgemm

import "unsafe"

// quantizeRowAVX512 quantizes one row of k values in blocks of bs (see
// quant_amd64.s); sa and suma advance by stride elements per block.
//
//go:noescape
func quantizeRowAVX512(src *float32, k, bs int, qa *int8, sa *float32, suma *int32, stride int)

func init() {
	if hasAVX512 {
		quantizeRowFn = quantizeRowAsm
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
