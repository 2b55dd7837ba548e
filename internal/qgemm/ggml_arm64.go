//go:build !purego

package qgemm

import (
	"unsafe"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

//go:generate env -u GOOS -u GOARCH go run gen_ggml_arm64.go gen_ggml_formats.go

// ggmlVariants lists the super-block kernel variants this CPU supports,
// slowest first: generic, ARMv8.0 NEON (Advanced SIMD is mandatory on
// arm64), then NEON with SDOT where the CPU has the dot-product extension.
var ggmlVariants = func() []ggmlVariant {
	vs := []ggmlVariant{ggmlGeneric, {name: "neon", id: idNEON}}
	if hasDotProd {
		vs = append(vs, ggmlVariant{name: "neondot", id: idNEONDot})
	}
	return vs
}()

// ggmlBest is the variant GGML.MatMul uses.
var ggmlBest = ggmlVariants[len(ggmlVariants)-1]

func ggmlCallAVX512(*format, *gargs, int) bool { return false }

func ggmlCallAVX2(*format, *gargs, int) bool { return false }

func ggmlCallVNNI(*format, *gargs, int) bool { return false }

func ggmlCallGroups(ggmlVariant, *format, *gargs, int, int, bool) bool { return false }

// gargsNEON are the arguments of a NEON super-block kernel: gargs, with
// out pointing at the kernel's first column, and the first of the group's
// four column vectors (4 columns each) the kernel covers.
type gargsNEON struct {
	gargs
	q int // 80
}

// ggmlCallNEON runs the NEON kernels (with SDOT if dot) for f and mr rows;
// it reports false when f has none. Rows go in chunks of up to 4; a chunk's
// kernel covers 16, 8 or 4 columns (ggmlNEONCols) and runs once per piece
// of the group.
func ggmlCallNEON(f *format, p *gargs, mr int, dot bool) bool {
	fi := ggmlNEONFormat(f.kern)
	if fi < 0 {
		return false
	}
	base := fi * 8
	if dot {
		base += 4
	}
	ab := f.auxBytes()
	q := gargsNEON{gargs: *p}
	for r0 := 0; r0 < mr; r0 += 4 {
		k := base + min(4, mr-r0) - 1
		nj := int(ggmlNEONCols[k])
		q.a = unsafe.Add(p.a, r0*p.lda)
		q.aux = unsafe.Add(p.aux, r0*ab)
		out := unsafe.Add(unsafe.Pointer(p.out), r0*p.ldo)
		for c := 0; c < 4; c += nj {
			q.out, q.q = (*float32)(unsafe.Add(out, 16*c)), c
			ggmlNEONKernel(k, &q)
		}
	}
	return true
}

// ggmlGridKernels: no NEON kernels look up grid indices (gridFormat); the
// IQ2 types run as table codes.
const ggmlGridKernels = false

// ggmlGridAVX2: no AVX2 grid kernels here (gridFormat).
const ggmlGridAVX2 = false

// ggmlPlane1Types: the NEON kernels take the masks (plane1Format).
var ggmlPlane1Types []quant.Type

// ggmlCodes3: the table codes stay 4-bit (codeFormat); the 3-bit ones have
// AVX-512 kernels only.
const ggmlCodes3 = false

func ggmlExpandAVX512(*format, *gexpand) bool { return false }
func ggmlExpandAVX2(*format, *gexpand) bool   { return false }
