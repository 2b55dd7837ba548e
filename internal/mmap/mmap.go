// Package mmap gives read-only access to a whole file: memory-mapped where
// the platform allows, otherwise read into memory. Model loaders use it so
// that multi-gigabyte weights are not copied.
//
// Only regular files are opened: OpenRegular (behind Open) refuses
// directories, named pipes, sockets and devices without blocking, so a
// path naming a FIFO cannot hang a loader.
package mmap

import (
	"fmt"
	"io"
	"os"
)

// File is the image of a whole file. Data stays valid until Close; after
// Close it must not be used.
type File struct {
	data  []byte
	unmap func([]byte) error
}

// Data returns the file's bytes. They are read-only: writing to a mapped
// file's bytes faults.
func (f *File) Data() []byte { return f.data }

// Mapped reports whether the bytes are memory-mapped (rather than read).
func (f *File) Mapped() bool { return f.unmap != nil }

// Close releases the mapping. It is safe to call more than once.
func (f *File) Close() error {
	u := f.unmap
	data := f.data
	f.unmap, f.data = nil, nil
	if u == nil || data == nil {
		return nil
	}
	return u(data)
}

// Open maps the regular file at path. It refuses anything else (see
// OpenRegular) without blocking.
func Open(path string) (*File, error) {
	fh, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	return Map(fh)
}

// Map maps the whole of f read-only and closes f. Empty files, files that
// are not regular, and files the platform cannot map are read into memory
// instead.
func Map(f *os.File) (*File, error) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size > 0 && int64(int(size)) == size && st.Mode().IsRegular() {
		if data, unmap, err := mapRegion(f, int(size)); err == nil {
			return &File{data: data, unmap: unmap}, nil
		}
	}
	return readAll(f, size)
}

// readAll reads the size bytes of f into memory.
func readAll(f *os.File, size int64) (*File, error) {
	if int64(int(size)) != size || size < 0 {
		return nil, fmt.Errorf("mmap: %s: file of %d bytes is too large for this platform", f.Name(), size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return &File{data: data}, nil
}
