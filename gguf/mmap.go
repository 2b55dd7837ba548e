package gguf

import (
	"fmt"
	"io"
	"os"
)

// mapping is a read-only image of a whole file: memory-mapped where the
// platform allows, otherwise read into memory.
type mapping struct {
	data  []byte
	unmap func([]byte) error
}

func (m *mapping) close() error {
	if m.unmap == nil {
		return nil
	}
	u := m.unmap
	m.unmap = nil
	return u(m.data)
}

// readAll reads the size bytes of f into memory.
func readAll(f *os.File, size int64) (*mapping, error) {
	if int64(int(size)) != size || size < 0 {
		return nil, fmt.Errorf("file of %d bytes is too large to read", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return &mapping{data: data}, nil
}
