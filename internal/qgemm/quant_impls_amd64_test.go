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

// ggmlGroupsLack reports whether this CPU's AVX-512 group kernels leave f
// out: the Q6_K (plane2) kernels need GFNI.
func ggmlGroupsLack(f *format) bool { return !ggmlAVX512Takes(f) }
