package simd

import (
	"testing"
	"unsafe"
)

// TestPrefetchRows checks that the write-prefetch hint leaves memory as it
// was, like its specification, for empty, single and strided shapes.
func TestPrefetchRows(t *testing.T) {
	buf := make([]int32, 4096)
	for i := range buf {
		buf[i] = int32(i*7 + 1)
	}
	for _, tc := range []struct{ stride, rows, lines int }{
		{0, 0, 0}, {256, 0, 4}, {256, 4, 0}, {256, -1, 4}, {64, 1, 1}, {1024, 6, 4}, {4096, 4, 16}, {-1024, 3, 2},
	} {
		p := unsafe.Pointer(&buf[2048])
		PrefetchRows(p, tc.stride, tc.rows, tc.lines)
		prefetchRowsGeneric(p, tc.stride, tc.rows, tc.lines)
		for i, v := range buf {
			if v != int32(i*7+1) {
				t.Fatalf("stride %d, rows %d, lines %d: buf[%d] = %d, want %d", tc.stride, tc.rows, tc.lines, i, v, i*7+1)
			}
		}
	}
}
