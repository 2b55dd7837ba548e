//go:build !unix

package gguf

import "os"

// mapFile reads the whole of f into memory and closes f (no memory mapping
// on this platform).
func mapFile(f *os.File) (*mapping, error) {
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readAll(f, st.Size())
}
