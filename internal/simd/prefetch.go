package simd

import "unsafe"

// prefetchRowsGeneric is the specification of PrefetchRows, a hint that
// rows rows of lines 64-byte cache lines (the first at p, the next ones
// stride bytes apart) are about to be written: it does nothing, since a
// hint changes no result.
func prefetchRowsGeneric(p unsafe.Pointer, stride, rows, lines int) {}
