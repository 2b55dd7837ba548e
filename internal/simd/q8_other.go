//go:build !amd64 || purego

package simd

func maxU8AVX512(dst, x *uint8, blocks int)                  { panic("simd: no assembly") }
func addU8AVX512(dst, a, b *uint8, blocks int, p *addU8Args) { panic("simd: no assembly") }
func requantRowsAVX512(p *requantRowsArgs)                   { panic("simd: no assembly") }
