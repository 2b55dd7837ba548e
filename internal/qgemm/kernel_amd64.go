//go:build !purego

package qgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run gen_asm.go

// hasAVX2 reports AVX2, FMA and F16C, the fallback tier.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

// hasAVX512 reports the AVX-512 subsets the kernels use: F and BW for the
// float32 path, VNNI (VPDPBUSD) for the int8 path.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// archVariants lists the assembly variants this CPU supports, slowest first.
var archVariants = func() []variant {
	var vs []variant
	if hasAVX2 {
		vs = append(vs, variant{name: "avx2", id: idAVX2})
	}
	if hasAVX512 && hasAVX2 {
		vs = append(vs, variant{name: "avx512", id: idAVX512},
			variant{name: "avx512x4", id: idAVX512, groups: groupsAVX512})
	}
	return vs
}()

// kargsGroups are the arguments of a one-row kernel that reads several
// groups at once: kargs for group 0 (out, ldo: its 16 outputs and the
// bytes to the next group's), the bytes between the groups' codes and
// between their scales, and how many consecutive groups of each it
// multiplies.
type kargsGroups struct {
	kargs
	cstride int // 136
	sstride int // 144
	cols    int // 152
}

// callGroups runs the one-row int8 kernel that multiplies the activations
// by v.groups groups at once (codes cstride bytes apart, scales — float16
// when p.f16 is 1, else float32 — sstride bytes apart, the default zero
// point), each for cols ≥ 1 consecutive groups; it reports false when v
// has none for bits; prefetch picks the kernel with or without software
// prefetch.
func callGroups(v variant, p *kargs, bits, cstride, sstride, cols int, prefetch bool) bool {
	if v.id != idAVX512 || v.groups != groupsAVX512 {
		return false
	}
	q := kargsGroups{kargs: *p, cstride: cstride, sstride: sstride, cols: cols}
	return callAVX512Groups(&q, bits, p.f16 == 1, prefetch)
}

// best is the variant MatMul uses: the last of archVariants, or generic.
var best = func() variant {
	if len(archVariants) > 0 {
		return archVariants[len(archVariants)-1]
	}
	return generic
}()

// xorWords returns the XOR of the words of buf (a streaming read): blocks
// of up to streamBlock words, each read as four concurrent streams.
func xorWords(buf []uint64) uint64 {
	var x uint64
	if hasAVX2 {
		for len(buf) >= 32 {
			q := min(len(buf), streamBlock) / 32 // 64-byte vectors per quarter
			if hasAVX512 {
				x ^= xorWordsAVX512(&buf[0], 4*q)
			} else {
				x ^= xorWordsAVX2(&buf[0], 4*q)
			}
			buf = buf[32*q:]
		}
	}
	return x ^ xorWordsGo(buf)
}

// callAVX2 runs the AVX2 kernels: each half group of 8 columns, in chunks
// of up to 4 rows (2 for 8-bit int8).
func callAVX2(p *kargs, i8 bool, bits, mr int) {
	step := 4
	if i8 && bits == 8 {
		step = 2
	}
	q := *p
	for r0 := 0; r0 < mr; r0 += step {
		n := min(step, mr-r0)
		q.a = unsafe.Add(p.a, r0*p.lda)
		if i8 {
			q.sa = (*float32)(unsafe.Add(unsafe.Pointer(p.sa), 4*r0))
			q.suma = (*int32)(unsafe.Add(unsafe.Pointer(p.suma), 4*r0))
		}
		for h := 0; h < 2; h++ {
			q = half(q, p, h, r0)
			callAVX2Half(&q, i8, bits, n)
		}
	}
}
