//go:build !arm64 || purego

package qgemm

func callNEON(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }

func callNEONDot(p *kargs, i8 bool, bits, mr int) { kernelGeneric(p, i8, bits, mr) }
