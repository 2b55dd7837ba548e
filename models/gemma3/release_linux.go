package gemma3

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// releasePages tells the kernel that the whole pages inside b, a part of a
// read-only file mapping, are not needed for now: they leave the process's
// resident set and are read back from the page cache if touched again. It
// must only be called on file-mapped memory (on anonymous memory it would
// zero the pages).
func releasePages(b []byte) {
	page := os.Getpagesize()
	if len(b) < page {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := int((uintptr(page) - addr%uintptr(page)) % uintptr(page))
	hi := lo + (len(b)-lo)/page*page
	if hi > lo {
		_ = unix.Madvise(b[lo:hi], unix.MADV_DONTNEED) // advisory: failure only costs memory
	}
}
