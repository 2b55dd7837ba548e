//go:build !amd64 || purego

package simd

import "unsafe"

// PrefetchRows is prefetchRowsGeneric: this architecture has no assembly
// for it.
func PrefetchRows(p unsafe.Pointer, stride, rows, lines int) {
	prefetchRowsGeneric(p, stride, rows, lines)
}
