//go:build !purego

package simd

// maxOrNaNAVX512 returns the largest of the blocks·16 values at x, and
// false instead if one of them is a NaN.
//
//go:noescape
func maxOrNaNAVX512(x *float32, blocks int) (m float32, ok bool)

// firstEqAVX512 returns the index of the first of the blocks·16 values at x
// that equals m (m must occur).
//
//go:noescape
func firstEqAVX512(x *float32, blocks int, m float32) int

// maxOrNaNAVX2 is maxOrNaNAVX512 for blocks·8 values (AVX).
//
//go:noescape
func maxOrNaNAVX2(x *float32, blocks int) (m float32, ok bool)

// firstEqAVX2 is firstEqAVX512 for blocks·8 values (AVX).
//
//go:noescape
func firstEqAVX2(x *float32, blocks int, m float32) int
