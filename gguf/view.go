package gguf

import (
	"bufio"
	"fmt"
	"io"
	"sync"
)

// view is the per-tensor data of a File made by Builder.View.
type view struct {
	parts   [][]byte
	fills   []func([]byte) error
	mu      sync.Mutex
	closed  bool
	release func() error
}

// View returns a File that reads what b holds — its metadata, and its
// tensors where they are — as if b had been written and opened: the same
// metadata, tensor infos, offsets, alignment and DataOffset as the file
// WriteTo would write, but nothing is encoded or copied. TensorData
// returns the slice given to AddTensor (still not to be modified) or, for
// a tensor added with AddTensorFunc, fills a new buffer, checked against
// opts' budget, on each call. This is how a model held elsewhere (tensors
// in another file's mapping, a few converted in memory) is handed to code
// that reads GGUF files.
//
// The File is a snapshot: tensors and metadata added to b afterwards are
// not in it. Close calls release (when not nil) once, the first time,
// and returns its error; TensorData fails after Close. opts (at most one)
// sets the budget of TensorFloat32 and of AddTensorFunc tensors.
func (b *Builder) View(release func() error, opts ...Options) *File {
	f := &File{
		Version:   3,
		Metadata:  append([]KV(nil), b.kvs...),
		Tensors:   append([]TensorInfo(nil), b.tensors...),
		Alignment: int(b.alignment()),
		index:     make(map[string]int, len(b.kvs)),
		tensors:   make(map[string]int, len(b.tensors)),
		limit:     options(opts).Budget,
		view: &view{
			parts:   append([][]byte(nil), b.data...),
			fills:   append([]func([]byte) error(nil), b.fills...),
			release: release,
		},
	}
	for i, kv := range f.Metadata {
		f.index[kv.Key] = i
	}
	for i, t := range f.Tensors {
		f.tensors[t.Name] = i
	}
	c := &countWriter{w: bufio.NewWriter(io.Discard)}
	b.writeHeader(c)
	c.pad(int64(f.Alignment))
	f.DataOffset = c.n
	return f
}

func (v *view) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	v.parts, v.fills = nil, nil
	if v.release != nil {
		return v.release()
	}
	return nil
}

// tensorData returns the bytes of tensor i of f.
func (v *view) tensorData(f *File, i int) ([]byte, error) {
	v.mu.Lock()
	closed := v.closed
	var data []byte
	var fill func([]byte) error
	if !closed {
		data, fill = v.parts[i], v.fills[i]
	}
	v.mu.Unlock()
	t := &f.Tensors[i]
	if closed {
		return nil, fmt.Errorf("gguf: tensor %q: file is closed", t.Name)
	}
	if fill == nil {
		return data[:len(data):len(data)], nil
	}
	if err := f.limit.Check(fmt.Sprintf("tensor %q produced", t.Name), t.Size); err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	buf := make([]byte, t.Size)
	if err := fill(buf); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
	}
	return buf, nil
}
