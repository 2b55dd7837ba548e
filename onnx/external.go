package onnx

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/onnx/onnxpb"
)

// ExternalData is the parsed external_data of a tensor.
type ExternalData struct {
	Location string // path relative to the model directory, '/'-separated
	Offset   int64  // byte offset in the file
	Length   int64  // byte length; -1 when absent (up to the end of the file)
}

// IsExternal reports whether t's data is stored in an external file.
func IsExternal(t *onnxpb.TensorProto) bool {
	return t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL
}

// ParseExternalData reads t's external_data entries (location, offset,
// length; checksum and unknown keys are ignored) and checks that location
// is a local relative path: not empty, not absolute, not escaping the model
// directory through "..".
func ParseExternalData(t *onnxpb.TensorProto) (ExternalData, error) {
	ed := ExternalData{Length: -1}
	bad := func(format string, args ...any) (ExternalData, error) {
		return ExternalData{}, &Error{Tensor: t.GetName(), Msg: "external data: " + fmt.Sprintf(format, args...), Err: ErrInvalid}
	}
	haveLoc := false
	for _, kv := range t.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			ed.Location, haveLoc = kv.GetValue(), true
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return bad("%s %q is not a non-negative integer", kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				ed.Offset = v
			} else {
				ed.Length = v
			}
		}
	}
	if !haveLoc || ed.Location == "" {
		return bad("no location")
	}
	if !localPath(ed.Location) {
		return bad("location %q is not a relative path inside the model directory", ed.Location)
	}
	return ed, nil
}

// localPath reports whether the '/'-separated (or OS-separated) location
// stays inside the directory it is relative to.
func localPath(loc string) bool {
	if filepath.IsAbs(loc) || len(loc) > 0 && (loc[0] == '/' || loc[0] == '\\') {
		return false
	}
	for i := 0; i < len(loc); i++ {
		if loc[i] == 0 {
			return false
		}
	}
	return filepath.IsLocal(filepath.FromSlash(loc))
}

// externalBytes returns the bytes of t's external data, aliasing the
// read-only mapping of the external file.
func (m *Model) externalBytes(t *onnxpb.TensorProto) ([]byte, error) {
	ed, err := ParseExternalData(t)
	if err != nil {
		err.(*Error).File = m.name()
		return nil, err
	}
	fail := func(err error, format string, args ...any) ([]byte, error) {
		return nil, &Error{File: m.name(), Tensor: t.GetName(), Msg: "external data: " + fmt.Sprintf(format, args...), Err: err}
	}
	if m == nil || m.Dir == "" {
		return fail(ErrInvalid, "location %q: the model has no directory to resolve it against (read from memory without ReadOptions.Dir)", ed.Location)
	}
	f, err := m.externalFile(ed.Location)
	if err != nil {
		return fail(err, "open %q", ed.Location)
	}
	size := int64(len(f.Data()))
	if ed.Offset > size {
		return fail(ErrInvalid, "offset %d is past the end of %q (%d bytes)", ed.Offset, ed.Location, size)
	}
	end := size
	if ed.Length >= 0 {
		if ed.Length > size-ed.Offset {
			return fail(ErrInvalid, "offset %d + length %d is past the end of %q (%d bytes)", ed.Offset, ed.Length, ed.Location, size)
		}
		end = ed.Offset + ed.Length
	}
	return f.Data()[ed.Offset:end:end], nil
}

// externalFile returns the mapped external file, opening it on first use.
func (m *Model) externalFile(loc string) (*mmap.File, error) {
	key := filepath.Clean(filepath.FromSlash(loc))
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.files[key]; ok {
		return f, nil
	}
	f, err := mmap.Open(filepath.Join(m.Dir, key))
	if err != nil {
		return nil, err
	}
	if m.files == nil {
		m.files = make(map[string]*mmap.File)
	}
	m.files[key] = f
	return f, nil
}
