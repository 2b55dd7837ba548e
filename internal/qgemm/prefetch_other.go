//go:build !amd64 || purego

package qgemm

import "unsafe"

// prefetchRows is prefetchRowsGeneric: this architecture has no assembly
// for it.
func prefetchRows(p unsafe.Pointer, stride, rows, lines int) {
	prefetchRowsGeneric(p, stride, rows, lines)
}
