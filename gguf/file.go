package gguf

import (
	"fmt"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/mmap"
)

// Well-known metadata keys.
const (
	KeyArchitecture        = "general.architecture"
	KeyAlignment           = "general.alignment"
	KeyName                = "general.name"
	KeyFileType            = "general.file_type"
	KeyQuantizationVersion = "general.quantization_version"
)

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Dims are the dimensions in ggml order: Dims[0] (ne[0]) is the
	// contiguous, fastest-varying axis — the input dimension K of a weight
	// matrix, the reverse of PyTorch/NumPy order.
	Dims []uint64
	Type quant.Type
	// Offset is the tensor's byte offset from the start of the data section.
	Offset uint64
	// Size is the tensor's size in bytes.
	Size int64

	infoOffset int64 // file offset of the tensor info, for errors
}

// Elements returns the number of elements of t.
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// File is a parsed GGUF file. Metadata and Tensors are in file order. The
// tensor data stays in the memory mapping (or buffer) the file was read
// from; slices returned by TensorData are valid until Close.
type File struct {
	Version    uint32
	Metadata   []KV
	Tensors    []TensorInfo
	Alignment  int
	DataOffset int64 // file offset of the data section

	data    []byte
	index   map[string]int
	tensors map[string]int
	mapping *mmap.File
}

// Open memory-maps the GGUF file at path and parses its header. Opening
// does not read tensor data, so a file of many gigabytes opens in
// milliseconds. Close releases the mapping.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := parse(m.Data())
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.data, f.mapping = m.Data(), m
	return f, nil
}

// Read parses a GGUF file held in data. The File refers to data without
// copying; data must not change while the File is in use.
func Read(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

// Close releases the memory mapping of a File returned by Open (a no-op for
// Read). Tensor data slices must not be used afterwards.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	m := f.mapping
	f.mapping, f.data = nil, nil
	return m.Close()
}

// Lookup returns the metadata value of key.
func (f *File) Lookup(key string) (Value, bool) {
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.Metadata[i].Value, true
}

// String returns the string value of key; it fails if key is absent or not
// a string.
func (f *File) String(key string) (string, error) {
	v, err := f.typed(key, TypeString)
	if err != nil {
		return "", err
	}
	return v.V.(string), nil
}

// Uint returns the value of key as a uint64; any non-negative integer type
// is accepted (writers differ on uint32 vs uint64 for counts).
func (f *File) Uint(key string) (uint64, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q: %w", key, ErrNotFound)
	}
	u, ok := v.Uint()
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q is %s %v, want a non-negative integer", key, v.Type, v.V)
	}
	return u, nil
}

// Float returns the value of key as a float64 (float or integer types).
func (f *File) Float(key string) (float64, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q: %w", key, ErrNotFound)
	}
	x, ok := v.Float()
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q is %s, want a number", key, v.Type)
	}
	return x, nil
}

// Bool returns the bool value of key.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.typed(key, TypeBool)
	if err != nil {
		return false, err
	}
	return v.V.(bool), nil
}

// Array returns the array value of key.
func (f *File) Array(key string) (Array, error) {
	v, err := f.typed(key, TypeArray)
	if err != nil {
		return Array{}, err
	}
	return v.V.(Array), nil
}

func (f *File) typed(key string, t ValueType) (Value, error) {
	v, ok := f.Lookup(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: metadata %q: %w", key, ErrNotFound)
	}
	if v.Type != t {
		return Value{}, fmt.Errorf("gguf: metadata %q is %s, want %s", key, v.Type, t)
	}
	return v, nil
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, error) {
	i, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, ErrNotFound)
	}
	return &f.Tensors[i], nil
}

// TensorData returns the encoded bytes of the tensor called name, without
// copying: for a File from Open they are the mapped file and stay valid
// until Close.
func (f *File) TensorData(name string) ([]byte, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if f.data == nil {
		return nil, fmt.Errorf("gguf: tensor %q: file is closed", name)
	}
	start := f.DataOffset + int64(t.Offset)
	return f.data[start : start+t.Size : start+t.Size], nil
}

// TensorFloat32 decodes the tensor called name into a new float32 slice of
// Elements() values in ggml order. It fails for types quant cannot decode.
func (f *File) TensorFloat32(name string) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if !t.Type.Supported() {
		return nil, fmt.Errorf("gguf: tensor %q: cannot decode %v: %w", name, t.Type, quant.ErrType)
	}
	b, err := f.TensorData(name)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Elements())
	if err := quant.Dequantize(t.Type, out, b); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return out, nil
}
