//go:build (!amd64 && !arm64) || purego

package hgemm

// archVariants is empty without assembly: only the generic variant runs.
var archVariants []variant

// best is the variant MatMul uses.
var best = generic

func callNEON(p *kargs, fam, mr int) { panic("hgemm: no NEON kernels") }
