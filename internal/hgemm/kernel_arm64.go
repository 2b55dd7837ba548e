//go:build !purego

package hgemm

//go:generate env -u GOOS -u GOARCH go run gen_asm_arm64.go

// archVariants lists the assembly variants: every arm64 CPU has Advanced
// SIMD with FCVTL, so the NEON kernels always run.
var archVariants = []variant{{name: "neon", id: idNEON, mr: 4, kb: [3]int{F16: 32, BF16: 32}}}

// best is the variant MatMul uses.
var best = archVariants[0]
