//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go

// kernel12x32AVX512 is the AVX-512 micro-kernel: the 12×32 product of a
// packed A micro-panel and a packed B micro-panel, stored into C (acc
// false) or added to C (acc true). It is kernelGeneric with mr=12, nr=32.
//
//go:noescape
func kernel12x32AVX512(k int, a, b, c *float32, ldc int, acc bool)

// kernel6x16AVX2 is kernelGeneric with mr=6, nr=16 using AVX2 and FMA.
//
//go:noescape
func kernel6x16AVX2(k int, a, b, c *float32, ldc int, acc bool)

// gemvN4AVX2 computes y[j] += Σ_{r<4} x[r]·b[r·ldb+j] for j < n; n must be a
// multiple of 16. It is one step of gemvNGeneric.
//
//go:noescape
func gemvN4AVX2(n int, x *float32, b *float32, ldb int, y *float32)

// gemvT4AVX2 computes out[r] = Σ_{p<k} x[p]·b[r·ldb+p] for r < 4; k must be
// a multiple of 16. It is one step of gemvTGeneric.
//
//go:noescape
func gemvT4AVX2(k int, x *float32, b *float32, ldb int, out *float32)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && hasAVX2
)

// gemvNAVX2 is gemvNGeneric using gemvN4AVX2 for the bulk.
func gemvNAVX2(n, k int, x, b []float32, ldb int, y []float32) {
	n16 := n &^ 15
	p := 0
	if n16 > 0 {
		for ; p+4 <= k; p += 4 {
			_ = b[(p+3)*ldb+n16-1] // the four rows read by the kernel
			gemvN4AVX2(n16, &x[p], &b[p*ldb], ldb, &y[0])
		}
	}
	// Remaining rows over all columns, and the column tail for the rows done above.
	gemvNGeneric(n, k-p, x[p:], b[min(p*ldb, len(b)):], ldb, y)
	if n16 < n && p > 0 {
		gemvNGeneric(n-n16, p, x, b[n16:], ldb, y[n16:])
	}
}

// gemvTAVX2 is gemvTGeneric using gemvT4AVX2 for the bulk.
func gemvTAVX2(n, k int, x, b []float32, ldb int, y []float32) {
	k16 := k &^ 15
	var out [4]float32
	j := 0
	if k16 > 0 {
		for ; j+4 <= n; j += 4 {
			_ = b[(j+3)*ldb+k16-1] // the four rows read by the kernel
			gemvT4AVX2(k16, &x[0], &b[j*ldb], ldb, &out[0])
			for r := range 4 {
				s := out[r]
				row := b[(j+r)*ldb:]
				for q := k16; q < k; q++ {
					s += x[q] * row[q]
				}
				y[j+r] += s
			}
		}
	}
	if j < n {
		gemvTGeneric(n-j, k, x, b[j*ldb:], ldb, y[j:])
	}
}

// archVariants lists the assembly variants this CPU supports, slowest first.
var archVariants = func() []variant {
	var vs []variant
	if hasAVX2 {
		vs = append(vs, variant{name: "avx2", mr: 6, nr: 16, kc: 256, mc: 120, nc: 3072,
			kernel: kernel6x16AVX2, gemvN: gemvNAVX2, gemvT: gemvTAVX2})
	}
	if hasAVX512 {
		vs = append(vs, variant{name: "avx512", mr: 12, nr: 32, kc: 384, mc: 96, nc: 3072,
			kernel: kernel12x32AVX512, gemvN: gemvNAVX2, gemvT: gemvTAVX2})
	}
	return vs
}()
