package gemma3

import "unsafe"

// InFileMapping reports whether the weights of m (a Half or a Dense
// matrix; ok false otherwise) lie inside a read-only file mapping of the
// process, for TestLoadCopies.
func InFileMapping(m Matrix) (in, ok bool) {
	var data []byte
	switch w := m.(type) {
	case *Half:
		data = w.m.Data()
	case *Dense:
		data = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w.Data))), 4*len(w.Data))
	default:
		return false, false
	}
	return fileMapped(fileRegions(), data), true
}
