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

// plane1Kernels: this CPU has kernels for the plane1 forms (the AVX2
// tier's, which the AVX-512 variants run for Q3_K's, and without GFNI for
// all four).
var plane1Kernels = hasAVX2

// ggmlGroupsLack reports whether variant v's one-row kernels over several
// groups leave f out: the AVX-512 Q6_K (plane2) kernels need GFNI, and
// the AVX2 and AVX-VNNI tiers have them for the formats the generator's
// groupsAVX2 picks.
func ggmlGroupsLack(v ggmlVariant, f *format) bool {
	if v.id == idAVX512 {
		return !ggmlAVX512Takes(f)
	}
	return f.grid != nil || !ggmlAVX2HasGroups(f.kern) && !(v.id == idAVXVNNI && ggmlVNNIHasGroups(f.kern))
}
