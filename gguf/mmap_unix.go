//go:build unix

package gguf

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the whole of f read-only and closes f. Empty files, and files
// that cannot be mapped, are read into memory instead.
func mapFile(f *os.File) (*mapping, error) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size > 0 && int64(int(size)) == size && st.Mode().IsRegular() {
		data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err == nil {
			return &mapping{data: data, unmap: unix.Munmap}, nil
		}
	}
	return readAll(f, size)
}
