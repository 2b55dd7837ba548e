//go:build !amd64 || purego

package gemm

// archVariants is empty without assembly: only the generic variant runs.
var archVariants []variant
