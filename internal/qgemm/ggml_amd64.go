//go:build !purego

package qgemm

import (
	"unsafe"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// hasGFNI reports the AVX-512 GFNI instructions, which the AVX-512 kernels
// of Q6_K (plane2) and of the plane1 forms use; without them Q6_K runs the
// AVX2 kernels.
var hasGFNI = cpu.X86.HasAVX512GFNI

// hasGFNIVEX reports GFNI with AVX (the VEX-encoded GF2P8AFFINEQB), which
// the AVX-VNNI tier's plane1 and Q6_K kernels use (gen_ggml_avx2.go's
// planeConst); without it those formats run the AVX2 tier's. x/sys/cpu
// reports GFNI only with AVX-512 enabled.
var hasGFNIVEX = cpuid.CPU.Supports(cpuid.GFNI, cpuid.AVX)

// vnniTakes reports whether this CPU runs f's AVX-VNNI kernels: the plane1
// and plane2 (Q6_K) ones need GFNI.
func vnniTakes(f *format) bool { return !(f.plane1 || f.plane2) || hasGFNIVEX }

// ggmlAVX512Takes reports whether this CPU runs f's AVX-512 kernels (the
// plane1 and plane2 ones need GFNI, the grid ones VBMI); ggmlCallAVX512
// and ggmlCallAVX512Groups report false for the others.
func ggmlAVX512Takes(f *format) bool {
	return (!f.plane1 && !f.plane2 || hasGFNI) && (f.grid == nil || ggmlGridKernels)
}

//go:generate go run gen_ggml_asm.go gen_ggml_formats.go
//go:generate go run gen_ggml_avx2.go gen_ggml_formats.go

// ggmlVariants lists the super-block kernel variants this CPU supports,
// slowest first (the generic one always).
var ggmlVariants = func() []ggmlVariant {
	vs := []ggmlVariant{ggmlGeneric}
	if hasAVX2 {
		vs = append(vs, ggmlVariant{name: "avx2", id: idAVX2},
			ggmlVariant{name: "avx2x4", id: idAVX2, groups: ggmlGroupsAVX2})
	}
	if hasAVX2 && cpu.X86.HasAVXVNNI {
		vs = append(vs, ggmlVariant{name: "avxvnni", id: idAVXVNNI},
			ggmlVariant{name: "avxvnnix4", id: idAVXVNNI, groups: ggmlGroupsAVX2})
	}
	if hasAVX512 {
		vs = append(vs, ggmlVariant{name: "avx512", id: idAVX512},
			ggmlVariant{name: "avx512x4", id: idAVX512, groups: ggmlGroupsAVX512})
	}
	return vs
}()

// gargsGroups are the arguments of a one-row kernel that reads several
// groups at once: gargs for group 0 (out, ldo: its 16 outputs and
// the bytes to the next group's), the bytes between the groups' first
// tiles, and how many consecutive groups of each it multiplies.
type gargsGroups struct {
	gargs
	gstride int // 80
	cols    int // 88
}

// ggmlCallGroups runs the one-row kernel for f that multiplies the
// activations by v.groups groups at once, gstride bytes of tiles apart,
// each for cols ≥ 1 consecutive groups; it reports false when v has none
// for f; prefetch picks the kernel with or without software prefetch.
func ggmlCallGroups(v ggmlVariant, f *format, p *gargs, gstride, cols int, prefetch bool) bool {
	q := gargsGroups{gargs: *p, gstride: gstride, cols: cols}
	switch {
	case v.id == idAVX512 && v.groups == ggmlGroupsAVX512:
		return ggmlCallAVX512Groups(f, &q, prefetch)
	case v.groups != ggmlGroupsAVX2:
		return false
	case v.id == idAVXVNNI && vnniTakes(f) && ggmlVNNIGroups(f, &q, prefetch):
		return true
	case v.id == idAVX2 || v.id == idAVXVNNI:
		return ggmlAVX2Groups(f, &q, prefetch)
	}
	return false
}

// ggmlGroupsAVX2 is how many groups the one-row kernels of the AVX2 and
// AVX-VNNI tiers read at once: four streams of tiles, as the AVX-512
// tier's, each group's float accumulators in the stack frame (they change
// once per super-block) so that the 16 ymm registers hold one group's
// sums and the decoding at a time.
const ggmlGroupsAVX2 = 4

// ggmlBest is the variant GGML.MatMul uses.
var ggmlBest = ggmlVariants[len(ggmlVariants)-1]

// gargsAVX2 are the arguments of an AVX2 super-block kernel: gargs (for a
// half kernel, out points at the half's 8 columns) and 4·h, the half of
// the group a half kernel reads.
type gargsAVX2 struct {
	gargs
	h4 int // 80
}

// ggmlCallAVX2 runs the AVX2 kernels for f and mr rows; it reports false
// when f has none. Up to the group row count of ggmlAVX2Rows one kernel
// takes the whole group; more rows go in chunks of the half row count,
// each as two half kernels (or one group kernel for a short last chunk).
func ggmlCallAVX2(f *format, p *gargs, mr int) bool {
	group, half := ggmlAVX2Rows(f.kern)
	return ggmlCallTier(f, p, mr, group, half, false)
}

// ggmlCallVNNI runs the AVX-VNNI kernels for f and mr rows as
// ggmlCallAVX2 runs the AVX2 ones; it reports false when f has none (the
// grid formats: the AVX2 kernels then).
func ggmlCallVNNI(f *format, p *gargs, mr int) bool {
	if !vnniTakes(f) {
		return false
	}
	group, half := ggmlVNNIRows(f.kern)
	return ggmlCallTier(f, p, mr, group, half, true)
}

// ggmlCallTier runs the group kernels (up to group rows) and half kernels
// (chunks of up to half rows) of the AVX2 or, with vnni, the AVX-VNNI tier
// for f and mr rows; false when half is 0 (no kernels). Static calls, so
// that the arguments do not escape.
func ggmlCallTier(f *format, p *gargs, mr, group, half int, vnni bool) bool {
	if half == 0 {
		return false
	}
	q := gargsAVX2{gargs: *p}
	if mr <= group {
		tierGroup(vnni, f, &q, mr)
		return true
	}
	ab := f.auxBytes()
	for r0 := 0; r0 < mr; r0 += half {
		n := min(half, mr-r0)
		q.a = unsafe.Add(p.a, r0*p.lda)
		q.aux = unsafe.Add(p.aux, r0*ab)
		out := unsafe.Add(unsafe.Pointer(p.out), r0*p.ldo)
		if n <= group {
			q.out, q.h4 = (*float32)(out), 0
			tierGroup(vnni, f, &q, n)
			continue
		}
		for h := 0; h < 2; h++ {
			q.out, q.h4 = (*float32)(unsafe.Add(out, 32*h)), 4*h
			if vnni {
				ggmlVNNIHalf(f, &q, n)
			} else {
				ggmlAVX2Half(f, &q, n)
			}
		}
	}
	return true
}

// tierGroup runs the group kernel of the AVX-VNNI (vnni) or AVX2 tier.
func tierGroup(vnni bool, f *format, q *gargsAVX2, mr int) {
	if vnni {
		ggmlVNNIGroup(f, q, mr)
		return
	}
	ggmlAVX2Group(f, q, mr)
}

// ggmlGridKernels: this CPU runs the kernels that look up IQ2_XXS's grid
// indices in its tiles (gridFormat; AVX-512 VBMI's byte permutes and
// VPMULTISHIFTQB).
var ggmlGridKernels = hasAVX512 && cpu.X86.HasAVX512VBMI

// ggmlGridAVX2: this CPU keeps the grid indices of the types with an
// index per 8 elements (IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M) without
// VBMI, for the AVX2 kernels that read each entry from the grid's table
// with a scalar load (gen_ggml_avx2.go's gridKernel).
var ggmlGridAVX2 = hasAVX2 && !ggmlGridKernels

// ggmlPlane1Types are the types this CPU holds in their plane1 form
// (plane1Format), where its kernels decode that faster than the masks:
// Q5_0, Q5_1, Q5_K and Q3_K on the AVX2 and AVX-VNNI tiers; Q5_0, Q5_1 and
// Q5_K on AVX-512 with GFNI, whose plane1 kernels take two or three
// instructions per 64 codes (a GF2P8AFFINEQB, a VPTERNLOGD, every other
// time a shift) where the masks take three or four (a mask load, a masked
// add, one or two for the nibble). In L2, one row, that made Q5_K 1.19×, Q5_1 1.09× and Q5_0
// 1.07× as fast on the 2-vCPU EPYC of docs/PERFORMANCE.md; from memory Q5_K
// read 88–101 % of a streaming read instead of 86–90 %, Q5_0 and Q5_1 as
// before. Q3_K keeps the masks there: its 1-bit steps hold two sub-blocks.
var ggmlPlane1Types = func() []quant.Type {
	switch {
	case hasAVX2 && !hasAVX512:
		return []quant.Type{quant.Q5_0, quant.Q5_1, quant.Q5_K, quant.Q3_K}
	case hasAVX512 && hasGFNI:
		return []quant.Type{quant.Q5_0, quant.Q5_1, quant.Q5_K}
	}
	return nil
}()

// ggmlCodes3: this CPU holds the table-code types of at most 8 levels as
// 3-bit codes (codeFormat; AVX-512 kernels: 1.1–1.3× the 4-bit codes'
// speed in a quarter less memory, where the AVX2 ones ran at 0.6×).
var ggmlCodes3 = hasAVX512
