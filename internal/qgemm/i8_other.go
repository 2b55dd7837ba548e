//go:build !amd64 || purego

package qgemm

// i8Variants holds the generic kernel only: the int8 kernels have assembly
// for amd64 (AVX-512 VNNI) alone.
var i8Variants = []i8Variant{i8Generic}
