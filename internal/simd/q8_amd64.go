//go:build !purego

package simd

//go:generate go run gen_q8.go
