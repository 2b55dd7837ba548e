//go:build !amd64 || purego

package simd

func maxIntoAVX512(dst, x *float32, blocks int)                     { panic("simd: no assembly") }
func biasRowAVX512(row, res *float32, blocks int, b float32)        { panic("simd: no assembly") }
func biasRowReluAVX512(row, res *float32, blocks int, b float32)    { panic("simd: no assembly") }
func biasResRowAVX512(row, res *float32, blocks int, b float32)     { panic("simd: no assembly") }
func biasResRowReluAVX512(row, res *float32, blocks int, b float32) { panic("simd: no assembly") }
func reluRowAVX512(row *float32, blocks int)                        { panic("simd: no assembly") }
func tap3AVX512(d, x *float32, blocks, dw int, idx *[16]int32, w0, w1, w2 float32) {
	panic("simd: no assembly")
}
func tap3S2AVX512(d, x *float32, blocks, dw int, idx *[16]int32, w0, w1, w2 float32) {
	panic("simd: no assembly")
}
