//go:build !amd64 || purego

package simd

// hasAVX512 is false: the kernels have assembly for amd64 alone.
const hasAVX512 = false

// hasAVX2 is false likewise.
const hasAVX2 = false

func biasGeluAVX512(dst, x, bias *float32, blocks int)                { panic("simd: no assembly") }
func minMaxAVX512(x *float32, blocks int, out *[32]float32)           { panic("simd: no assembly") }
func quantizeAVX512(dst *uint8, x *float32, blocks int, p *quantArgs) { panic("simd: no assembly") }
func dequantizeU8AVX512(dst *float32, x *uint8, blocks int, z int32, scale float32) {
	panic("simd: no assembly")
}
func dequantizeI8AVX512(dst *float32, x *int8, blocks int, z int32, scale float32) {
	panic("simd: no assembly")
}
func sumU8AVX512(x *uint8, blocks int) int32 { panic("simd: no assembly") }
func accF32AVX512(dst *float32, acc *int32, blocks int, add int32, sub *int32, mult, bias *float32) {
	panic("simd: no assembly")
}
func requantAVX512(dst *uint8, acc *int32, blocks int, sub *int32, mult *float32, p *requantArgs) {
	panic("simd: no assembly")
}
func maxAVX512(x *float32, blocks int, out *[16]float32) { panic("simd: no assembly") }
func expSubAVX512(y, x *float32, blocks int, m float32, sums *[16]float64) int {
	panic("simd: no assembly")
}
func scaleAVX512(y *float32, blocks int, s float32)                       { panic("simd: no assembly") }
func addAVX512(dst, x, y *float32, blocks int)                            { panic("simd: no assembly") }
func sumF64AVX512(x *float32, blocks int, out *[16]float64)               { panic("simd: no assembly") }
func sqDevF64AVX512(x *float32, blocks int, mu float64, out *[16]float64) { panic("simd: no assembly") }
func normF64AVX512(y, x, scale, bias *float32, blocks int, mu, is float64) {
	panic("simd: no assembly")
}
func requantDequantAVX512(dst *float32, acc *int32, blocks int, sub *int32, mult *float32, p *requantArgs) {
	panic("simd: no assembly")
}
func requantDequantRowsAVX512(p *rowsArgs)             { panic("simd: no assembly") }
func accF32RowsAVX512(p *rowsArgs)                     { panic("simd: no assembly") }
func maxAVX2(x *float32, blocks int, out *[16]float32) { panic("simd: no assembly") }
func expSubAVX2(y, x *float32, blocks int, m float32, sums *[16]float64) int {
	panic("simd: no assembly")
}
func scaleAVX2(y *float32, blocks int, s float32) { panic("simd: no assembly") }
