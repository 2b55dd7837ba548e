package gguf

import (
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/budget"
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
	// Split is the 0-based index of the file that holds the tensor's data
	// in a model split into several files (see Open), else 0. Offset is
	// from the start of that file's data section.
	Split int

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
	limit   budget.Limit
	view    *view   // set for a File from Builder.View: per-tensor data
	splits  []split // the further files of a split model (split.go)
}

// Options tunes Open and Read.
type Options struct {
	// Budget bounds what parsing the header allocates (metadata strings
	// and arrays, tensor infos; their running total) and each
	// TensorFloat32 result. The zero Budget means budget.Default().
	// Tensor data is not counted: it stays in the file's mapping.
	Budget budget.Limit
	// SplitPart lets Open read a file that is a later part of a split
	// model on its own: its own tensors, and its split.* keys as the only
	// metadata (Open otherwise refuses it with ErrSplitPart). The first
	// file still opens the whole model.
	SplitPart bool
}

// options returns the last of opts, or the zero Options.
func options(opts []Options) Options {
	if len(opts) == 0 {
		return Options{}
	}
	return opts[len(opts)-1]
}

// Open memory-maps the GGUF file at path and parses its header. Opening
// does not read tensor data, so a file of many gigabytes opens in
// milliseconds. Close releases the mapping. opts (at most one) sets the
// memory budget.
//
// A model split by llama.cpp's gguf-split opens from its first file
// (PREFIX-00001-of-0000N.gguf): Open maps the others, named as llama.cpp
// names them, and the File holds the first file's metadata and every
// file's tensors (TensorInfo.Split), as llama.cpp's loader does.
//
// A path that is not a regular file (a directory, named pipe, socket or
// device) is refused at once, without blocking, with an error wrapping
// mmap.ErrNotRegular ("gguf: PATH: not a regular file (named pipe)"). A
// header that would allocate more than the budget fails with an error
// wrapping budget.ErrExceeded that names the metadata key or tensor count
// and the size.
func Open(path string, opts ...Options) (*File, error) {
	o := options(opts)
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := parse(m.Data(), o.Budget)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.data, f.mapping, f.limit = m.Data(), m, o.Budget
	if err := f.openSplits(path, o); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Read parses a GGUF file held in data. The File refers to data without
// copying; data must not change while the File is in use. opts (at most
// one) sets the memory budget, as for Open.
func Read(data []byte, opts ...Options) (*File, error) {
	o := options(opts)
	f, err := parse(data, o.Budget)
	if err != nil {
		return nil, err
	}
	f.data, f.limit = data, o.Budget
	return f, nil
}

// Close releases the memory mapping of a File returned by Open (a no-op for
// Read; for a File from Builder.View it calls the release function given
// there, once). Tensor data slices must not be used afterwards.
func (f *File) Close() error {
	if f.view != nil {
		return f.view.close()
	}
	if f.mapping == nil {
		return nil
	}
	m := f.mapping
	f.mapping, f.data = nil, nil
	err := m.Close()
	if e := f.closeSplits(); err == nil {
		err = e
	}
	return err
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
// until Close; for a File from Builder.View they are the slice given to
// AddTensor (a tensor added with AddTensorFunc is produced into a new
// buffer, checked against the File's budget, on every call).
func (f *File) TensorData(name string) ([]byte, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if f.view != nil {
		return f.view.tensorData(f, f.tensors[name])
	}
	data, off := f.data, f.DataOffset
	if t.Split > 0 {
		s := &f.splits[t.Split-1]
		data, off = s.data, s.dataOffset
	}
	if data == nil {
		return nil, fmt.Errorf("gguf: tensor %q: file is closed", name)
	}
	start := off + int64(t.Offset)
	return data[start : start+t.Size : start+t.Size], nil
}

// TensorFloat32 decodes the tensor called name into a new float32 slice of
// Elements() values in ggml order. It fails for types quant cannot decode,
// and with an error wrapping budget.ErrExceeded if the slice would exceed
// the File's budget (see Options).
func (f *File) TensorFloat32(name string) ([]float32, error) {
	t, err := f.Tensor(name)
	if err != nil {
		return nil, err
	}
	if !t.Type.Supported() {
		return nil, fmt.Errorf("gguf: tensor %q: cannot decode %v: %w", name, t.Type, quant.ErrType)
	}
	n := t.Elements() // ≤ MaxInt64/8: parse checked the dims
	if err := f.limit.Check(fmt.Sprintf("tensor %q as float32", name), 4*n); err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if n > math.MaxInt/4 {
		return nil, fmt.Errorf("gguf: tensor %q: %d float32 values do not fit this platform's address space", name, n)
	}
	b, err := f.TensorData(name)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	if err := quant.Dequantize(t.Type, out, b); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return out, nil
}
