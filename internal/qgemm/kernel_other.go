//go:build !(amd64 || arm64) || purego

package qgemm

// archVariants is empty without assembly.
var archVariants []variant

// best is the variant MatMul uses.
var best = generic

func callAVX512(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

func callAVX2(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

// xorWords returns the XOR of the words of buf (a streaming read).
func xorWords(buf []uint64) uint64 {
	var x0, x1, x2, x3 uint64
	i := 0
	for ; i+4 <= len(buf); i += 4 {
		x0 ^= buf[i]
		x1 ^= buf[i+1]
		x2 ^= buf[i+2]
		x3 ^= buf[i+3]
	}
	for ; i < len(buf); i++ {
		x0 ^= buf[i]
	}
	return x0 ^ x1 ^ x2 ^ x3
}
