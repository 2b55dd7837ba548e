package onnx

import (
	"fmt"
	"io"
	"os"
)

// mappedFile is a whole file in memory: memory-mapped read-only where the
// platform allows (unmap set), else read into the heap.
type mappedFile struct {
	data  []byte
	unmap func([]byte) error
}

func (f *mappedFile) close() error {
	if f.unmap == nil || f.data == nil {
		f.data = nil
		return nil
	}
	err := f.unmap(f.data)
	f.data = nil
	return err
}

// readAllFile reads f (whose size is size) into the heap: the portable
// fallback of mapFile.
func readAllFile(f *os.File, size int64) (*mappedFile, error) {
	if int64(int(size)) != size || size < 0 {
		return nil, fmt.Errorf("file of %d bytes is too large for this platform", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return &mappedFile{data: data}, nil
}
