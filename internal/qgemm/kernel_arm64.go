//go:build !purego

package qgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate env -u GOOS -u GOARCH go run gen_asm_arm64.go

// hasDotProd reports the ARMv8.2 dot product instructions (SDOT).
var hasDotProd = cpu.ARM64.HasASIMDDP

// archVariants lists the assembly variants this CPU supports, slowest first:
// ARMv8.0 NEON (Advanced SIMD is mandatory on arm64), then SDOT.
var archVariants = func() []variant {
	vs := []variant{{name: "neon", id: idNEON}}
	if hasDotProd {
		vs = append(vs, variant{name: "neondot", id: idNEONDot})
	}
	return vs
}()

// best is the variant MatMul uses: the last of archVariants.
var best = archVariants[len(archVariants)-1]

func callAVX512(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

func callGroups(variant, *kargs, int, int, int, int, bool) bool { return false }

func callAVX2(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

// callNEON runs the ARMv8.0 NEON kernels.
func callNEON(p *kargs, i8 bool, bits, mr int) {
	path := 0
	if i8 {
		path = 1
	}
	callNEONPath(p, path, bits, mr)
}

// callNEONDot runs the NEON kernels with SDOT for int8 activations (the
// float path is that of callNEON).
func callNEONDot(p *kargs, i8 bool, bits, mr int) {
	path := 0
	if i8 {
		path = 2
	}
	callNEONPath(p, path, bits, mr)
}

// callNEONPath runs the NEON kernels of path (0 float32, 1 int8, 2 int8
// SDOT) in chunks of up to 4 rows: 1 or 2 rows over all 16 columns, 3 or
// 4 rows as two halves of 8 columns (the accumulators of 4 rows × 16
// columns would not fit in the 32 vector registers).
func callNEONPath(p *kargs, path, bits, mr int) {
	bi := 0
	switch bits {
	case 4:
		bi = 1
	case 8:
		bi = 2
	}
	base := (path*3 + bi) * 4
	q := *p
	for r0 := 0; r0 < mr; r0 += 4 {
		n := min(4, mr-r0)
		q.a = unsafe.Add(p.a, r0*p.lda)
		if path != 0 {
			q.sa = (*float32)(unsafe.Add(unsafe.Pointer(p.sa), 4*r0))
			q.suma = (*int32)(unsafe.Add(unsafe.Pointer(p.suma), 4*r0))
		}
		if n <= 2 {
			q.out = (*float32)(unsafe.Add(unsafe.Pointer(p.out), r0*p.ldo))
			neonKernel(&q, base+n-1)
			continue
		}
		for h := 0; h < 2; h++ {
			q = half(q, p, h, r0)
			neonKernel(&q, base+n-1)
		}
		q.codes, q.scales, q.scalesLo, q.zps = p.codes, p.scales, p.scalesLo, p.zps
	}
}

// xorWords returns the XOR of the words of buf (a streaming read).
func xorWords(buf []uint64) uint64 { return xorWordsGo(buf) }
