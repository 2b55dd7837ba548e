//go:build !amd64 || purego

package simd

func maxOrNaNAVX512(x *float32, blocks int) (float32, bool) { panic("simd: no assembly") }
func firstEqAVX512(x *float32, blocks int, m float32) int   { panic("simd: no assembly") }
func maxOrNaNAVX2(x *float32, blocks int) (float32, bool)   { panic("simd: no assembly") }
func firstEqAVX2(x *float32, blocks int, m float32) int     { panic("simd: no assembly") }
