//go:build !purego

package hgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go

var (
	// hasAVX2 reports AVX2, FMA and F16C: the fallback tier.
	hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	// hasAVX512 reports the AVX-512 subsets the kernels use: F, BW
	// (VPMOVZXWD on zmm) and VL (EVEX ymm adds on Z16–Z31).
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	// hasAVX512BF16 reports VDPBF16PS.
	hasAVX512BF16 = hasAVX512 && cpu.X86.HasAVX512BF16
)

// archVariants lists the assembly variants this CPU supports, slowest first.
var archVariants = func() []variant {
	var vs []variant
	if hasAVX2 {
		vs = append(vs, variant{name: "avx2", id: idAVX2, mr: 3, kb: [3]int{F16: 32, BF16: 32}})
	}
	if hasAVX512 {
		vs = append(vs, variant{name: "avx512", id: idAVX512, mr: 6, kb: [3]int{F16: 32, BF16: 32}})
	}
	if hasAVX512BF16 {
		vs = append(vs, variant{name: "avx512bf16", id: idAVX512BF16, mr: 6, kb: [3]int{F16: 32, BF16: 32}, bf16x: true})
	}
	return vs
}()

// best is the variant MatMul uses: the last of archVariants, or generic.
var best = func() variant {
	if len(archVariants) > 0 {
		return archVariants[len(archVariants)-1]
	}
	return generic
}()

// round sets dst[i] to src[i] rounded to format f and widened back
// (roundGeneric).
func round(f Format, dst, src []float32) {
	n := 0
	if hasAVX2 {
		if n = len(src) &^ 7; n > 0 {
			if f == BF16 {
				roundBF16AVX2(&dst[0], &src[0], n)
			} else {
				roundF16AVX2(&dst[0], &src[0], n)
			}
		}
	}
	roundGeneric(f, dst[n:], src[n:])
}

// packBF16 sets dst[i] to the bits of src[i] rounded to bfloat16
// (packBF16Generic).
func packBF16(dst []uint16, src []float32) {
	n := 0
	if hasAVX2 {
		if n = len(src) &^ 15; n > 0 {
			_ = dst[n-1]
			packBF16AVX2(&dst[0], &src[0], n)
		}
	}
	packBF16Generic(dst[n:], src[n:])
}

// widen sets dst[i] to the 16-bit value of format f at src[2i:]
// (widenGeneric).
func widen(f Format, dst []float32, src []byte) {
	n := 0
	if hasAVX2 {
		if n = len(dst) &^ 7; n > 0 {
			_ = src[2*n-1]
			if f == BF16 {
				widenBF16AVX2(&dst[0], &src[0], n)
			} else {
				widenF16AVX2(&dst[0], &src[0], n)
			}
		}
	}
	widenGeneric(f, dst[n:], src[2*n:])
}

func callNEON(p *kargs, fam, mr int) { panic("hgemm: no NEON kernels") }
