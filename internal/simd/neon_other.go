//go:build !arm64 || purego

package simd

// hasNEON is false: the NEON kernels are for arm64.
const hasNEON = false

func maxOrNaNNEON(x *float32, blocks int) float32       { panic("simd: no assembly") }
func firstEqNEON(x *float32, blocks int, m float32) int { panic("simd: no assembly") }
func maxNEON(x *float32, blocks int, out *[16]float32)  { panic("simd: no assembly") }
func scaleNEON(y *float32, blocks int, s float32)       { panic("simd: no assembly") }
func expSubNEON(y, x *float32, blocks int, m float32, sums *[16]float64) int {
	panic("simd: no assembly")
}
