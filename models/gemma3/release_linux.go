package gemma3

import (
	"os"
	"strconv"
	"strings"
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

// region is one read-only file-backed mapping of the process.
type region struct{ lo, hi uintptr }

// fileRegions returns the read-only, file-backed mappings listed in
// /proc/self/maps (nil if it cannot be read).
func fileRegions() []region {
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	var rs []region
	for _, line := range strings.Split(string(data), "\n") {
		// start-end perms offset dev inode pathname
		f := strings.Fields(line)
		if len(f) < 6 || f[1][1] == 'w' || f[4] == "0" || !strings.HasPrefix(f[5], "/") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			rs = append(rs, region{uintptr(a), uintptr(b)})
		}
	}
	return rs
}

// fileMapped reports whether b lies inside one of rs, so that releasePages
// may be used on it.
func fileMapped(rs []region, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	hi := lo + uintptr(len(b))
	for _, r := range rs {
		if lo >= r.lo && hi <= r.hi {
			return true
		}
	}
	return false
}
