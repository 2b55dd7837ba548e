//go:build !purego

package qgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go

// hasAVX512 reports the AVX-512 subsets the kernels use: F and BW for the
// float32 path, VNNI (VPDPBUSD) for the int8 path.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

// archVariants lists the assembly variants this CPU supports, slowest first.
var archVariants = func() []variant {
	var vs []variant
	if hasAVX512 {
		vs = append(vs, variant{name: "avx512", id: idAVX512})
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

// xorWords returns the XOR of the words of buf (a streaming read).
func xorWords(buf []uint64) uint64 {
	n := len(buf) / 32 * 4 // 64-byte vectors, a multiple of 4
	var x uint64
	if hasAVX512 && n > 0 {
		x = xorWordsAVX512(&buf[0], n)
	}
	for _, w := range buf[n*8:] {
		x ^= w
	}
	return x
}
