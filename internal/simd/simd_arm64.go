//go:build !purego

package simd

// The NEON kernels (simd_arm64.s) are written by gen_asm.go, beside the
// AVX-512 ones: `go generate` in internal/simd on any machine.

// hasNEON is true: every arm64 CPU has Advanced SIMD.
const hasNEON = true

// maxOrNaNNEON returns the largest of the blocks·16 values at x (blocks ≥
// 1), NaN if one of them is a NaN.
//
//go:noescape
func maxOrNaNNEON(x *float32, blocks int) float32

// firstEqNEON returns the index of the first of the blocks of 16 values at
// x that holds m (blocks if none does).
//
//go:noescape
func firstEqNEON(x *float32, blocks int, m float32) int

// maxNEON is maxAVX512 for arm64: the per-lane maximum of blocks·16
// elements in out, NaN in a lane that saw one.
//
//go:noescape
func maxNEON(x *float32, blocks int, out *[16]float32)

// expSubNEON is expSubAVX512 for arm64, with the same lanes and sums.
//
//go:noescape
func expSubNEON(y, x *float32, blocks int, m float32, sums *[16]float64) int

// scaleNEON multiplies blocks·16 elements of y by s.
//
//go:noescape
func scaleNEON(y *float32, blocks int, s float32)
