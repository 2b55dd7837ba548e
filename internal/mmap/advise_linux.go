package mmap

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of an x86-64 or arm64 (4 KiB granule) transparent
// huge page.
const hugePage = 2 << 20

// HugePages asks the kernel to back the whole 2 MiB pages inside s, a new
// allocation not yet touched, with transparent huge pages where the system
// leaves that to the program (THP "madvise" mode, the common default).
// Filling a copy of a model's weights then takes one page fault per 2 MiB
// instead of one per 4 KiB, and reading it fewer TLB misses. It is
// advice: nothing changes where the kernel declines.
func HugePages[T any](s []T) {
	var zero T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), uintptr(len(s))*unsafe.Sizeof(zero))
	if len(b) < hugePage {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((hugePage - addr%hugePage) % hugePage)
	hi := lo + (len(b)-lo)/hugePage*hugePage
	if hi > lo {
		_ = unix.Madvise(b[lo:hi], unix.MADV_HUGEPAGE)
	}
}

// Populate maps the pages covering b, a part of a read-only file mapping
// about to be read, in one call (MADV_POPULATE_READ, Linux 5.14) rather
// than one page fault per 4 KiB as they are first touched. It is advice:
// older kernels refuse it and the pages then fault in as before.
func Populate(b []byte) {
	if len(b) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := addr % page
	// The page-aligned start of b's first page: still inside the mapping,
	// which starts on a page boundary.
	full := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), -int(lo))), int(lo)+len(b))
	_ = unix.Madvise(full, unix.MADV_POPULATE_READ)
}
