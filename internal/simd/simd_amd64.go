//go:build !purego

package simd

import "golang.org/x/sys/cpu"

//go:generate go run gen_asm.go

// hasAVX512 reports the AVX-512 subsets the kernels use (F for the float
// and dword ops, BW for VPSADBW), read once at init.
var hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW

// hasAVX2 reports AVX2, for the kernels that have an AVX2 form where
// AVX-512 is absent (Argmax; ExpSub, Softmax and LogSumExp).
var hasAVX2 = cpu.X86.HasAVX2
