//go:build !(amd64 || arm64) || purego

package qgemm

// archVariants is empty without assembly.
var archVariants []variant

// best is the variant MatMul uses.
var best = generic

func callAVX512(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

func callGroups(variant, *kargs, int, int, int, int, bool) bool { return false }

func callAVX2(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

// xorWords returns the XOR of the words of buf (a streaming read).
func xorWords(buf []uint64) uint64 { return xorWordsGo(buf) }
