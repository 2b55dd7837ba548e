//go:build !amd64 || purego

package hgemm

// Without the amd64 assembly: the x86 kernels are never selected, and the
// activations are rounded and rows widened by the pure-Go routines.

func callAVX512(p *kargs, fam, mr int) { panic("hgemm: no AVX-512 kernels") }

func callAVX2(p *kargs, fam, mr int) { panic("hgemm: no AVX2 kernels") }

func callAVX512NoPrefetch(p *kargs, fam, mr int) { panic("hgemm: no AVX-512 kernels") }

func callAVX2NoPrefetch(p *kargs, fam, mr int) { panic("hgemm: no AVX2 kernels") }

// round sets dst[i] to src[i] rounded to format f and widened back.
func round(f Format, dst, src []float32) { roundGeneric(f, dst, src) }

// packBF16 sets dst[i] to the bits of src[i] rounded to bfloat16.
func packBF16(dst []uint16, src []float32) { packBF16Generic(dst, src) }

// widen sets dst[i] to the 16-bit value of format f at src[2i:].
func widen(f Format, dst []float32, src []byte) { widenGeneric(f, dst, src) }
