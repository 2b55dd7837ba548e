//go:build !purego

package qgemm

type rowQuantizer struct {
	name string
	fn   func(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int)
}

// quantizeRowImpls lists the row quantizers this CPU can run.
func quantizeRowImpls() []rowQuantizer {
	impls := []rowQuantizer{{"dispatched", quantizeRowFn}}
	if hasAVX2 {
		impls = append(impls, rowQuantizer{"avx2", quantizeRowAsmAVX2})
	}
	if hasAVX512 {
		impls = append(impls, rowQuantizer{"avx512", quantizeRowAsm})
	}
	return impls
}
