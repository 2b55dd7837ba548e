//go:build !purego

package simd

import "unsafe"

// PrefetchRows hints that rows rows of lines 64-byte cache lines each,
// the first at p and the next ones stride bytes apart, are about to be
// written (PREFETCHW, which CPUs without it run as a no-op). It reads and
// writes no memory and cannot fault; prefetchRowsGeneric is its
// specification.
//
//go:noescape
func PrefetchRows(p unsafe.Pointer, stride, rows, lines int)
