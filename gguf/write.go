package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Builder assembles a GGUF v3 file: metadata in the order first set, then
// tensors in the order added, laid out back to back in the data section,
// each padded to the alignment — the layout ggml's own reader requires.
// The zero Builder is not ready; use NewBuilder.
type Builder struct {
	kvs     []KV
	keys    map[string]int
	tensors []TensorInfo
	data    [][]byte
	fills   []func(dst []byte) error // per tensor: nil, or AddTensorFunc's producer
	names   map[string]bool
	size    uint64 // data section size so far
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{keys: map[string]int{}, names: map[string]bool{}}
}

// Set sets metadata key to v (a Value, or a Go value ValueOf accepts). A
// key set twice keeps its first position and takes the new value. Setting
// general.alignment (a uint32 power of two) changes the data alignment; set
// it before adding tensors.
func (b *Builder) Set(key string, v any) error {
	val, err := ValueOf(v)
	if err != nil {
		return fmt.Errorf("gguf: metadata %q: %w", key, err)
	}
	if err := checkValue(val, 0); err != nil {
		return fmt.Errorf("gguf: metadata %q: %w", key, err)
	}
	if key == KeyAlignment {
		a, ok := val.V.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 {
			return fmt.Errorf("gguf: %s must be a uint32 power of two, got %s %v", key, val.Type, val.V)
		}
		if len(b.tensors) > 0 {
			return fmt.Errorf("gguf: set %s before adding tensors", key)
		}
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("gguf: metadata key of %d bytes is longer than %d", len(key), maxKeyLen)
	}
	if i, ok := b.keys[key]; ok {
		b.kvs[i].Value = val
		return nil
	}
	b.keys[key] = len(b.kvs)
	b.kvs = append(b.kvs, KV{key, val})
	return nil
}

// checkValue verifies that the Go type of v.V matches v.Type, recursively.
func checkValue(v Value, depth int) error {
	if v.Type == TypeArray {
		a, ok := v.V.(Array)
		if !ok {
			return fmt.Errorf("array value holds %T", v.V)
		}
		if depth+1 >= maxArrayDepth {
			return fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
		}
		w, err := ValueOf(a.Values)
		if err != nil || w.Type != TypeArray || w.V.(Array).Elem != a.Elem {
			return fmt.Errorf("array of %s holds %T", a.Elem, a.Values)
		}
		if sub, ok := a.Values.([]Array); ok {
			for _, s := range sub {
				if err := checkValue(Value{TypeArray, s}, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	w, err := ValueOf(v.V)
	if err != nil || w.Type != v.Type {
		return fmt.Errorf("%s value holds %T", v.Type, v.V)
	}
	return nil
}

func (b *Builder) alignment() uint64 {
	if i, ok := b.keys[KeyAlignment]; ok {
		return uint64(b.kvs[i].Value.V.(uint32))
	}
	return DefaultAlignment
}

// AddTensor appends a tensor of type typ with ggml-order dims (dims[0] is
// the contiguous axis) whose encoded bytes are data. The Builder keeps data
// until WriteTo; do not modify it before then.
func (b *Builder) AddTensor(name string, typ quant.Type, dims []uint64, data []byte) error {
	size, err := b.checkTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q: %v %v needs %d bytes, got %d", name, typ, dims, size, len(data))
	}
	b.add(name, typ, dims, size, data, nil)
	return nil
}

// AddTensorFunc appends a tensor whose bytes are produced only when they
// are needed: WriteTo calls fill with a buffer of exactly the tensor's
// size (reused between tensors: fill must not keep it) just before
// writing the tensor, so that a file of converted tensors is written
// holding one tensor at a time. An error from fill stops WriteTo and is
// returned, wrapped with the tensor's name. A File from View calls fill
// on every TensorData.
func (b *Builder) AddTensorFunc(name string, typ quant.Type, dims []uint64, fill func(dst []byte) error) error {
	size, err := b.checkTensor(name, typ, dims)
	if err != nil {
		return err
	}
	if fill == nil {
		return fmt.Errorf("gguf: tensor %q: nil fill function", name)
	}
	b.add(name, typ, dims, size, nil, fill)
	return nil
}

// checkTensor validates a tensor to be added and returns its size in
// bytes.
func (b *Builder) checkTensor(name string, typ quant.Type, dims []uint64) (int64, error) {
	if len(name) >= maxNameLen {
		return 0, fmt.Errorf("gguf: tensor name %q is longer than %d bytes", name, maxNameLen-1)
	}
	if b.names[name] {
		return 0, fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	if len(dims) == 0 || len(dims) > maxDims {
		return 0, fmt.Errorf("gguf: tensor %q: %d dimensions, want 1 to %d", name, len(dims), maxDims)
	}
	if !typ.Known() {
		return 0, fmt.Errorf("gguf: tensor %q: %w", name, quant.ErrType)
	}
	n := uint64(1)
	for _, d := range dims {
		if d != 0 && n > math.MaxInt32*uint64(math.MaxInt32)/d {
			return 0, fmt.Errorf("gguf: tensor %q: dimensions %v overflow", name, dims)
		}
		n *= d
	}
	if dims[0]%uint64(typ.BlockSize()) != 0 {
		return 0, fmt.Errorf("gguf: tensor %q: ne[0] = %d is not a multiple of the %v block size %d", name, dims[0], typ, typ.BlockSize())
	}
	return int64(n / uint64(typ.BlockSize()) * uint64(typ.BlockBytes())), nil
}

// add appends a checked tensor.
func (b *Builder) add(name string, typ quant.Type, dims []uint64, size int64, data []byte, fill func([]byte) error) {
	al := b.alignment()
	b.names[name] = true
	b.tensors = append(b.tensors, TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Offset: b.size, Size: size})
	b.data = append(b.data, data)
	b.fills = append(b.fills, fill)
	b.size += (uint64(size) + al - 1) / al * al
}

// AddFloat32 quantizes values (ggml order, len = product of dims) to typ
// with quant.Quantize and appends the tensor.
func (b *Builder) AddFloat32(name string, typ quant.Type, dims []uint64, values []float32) error {
	nb, err := typ.RowBytes(len(values))
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	data := make([]byte, nb)
	if err := quant.Quantize(typ, data, values); err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	return b.AddTensor(name, typ, dims, data)
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	buf [8]byte
}

func (c *countWriter) write(p []byte) { m, _ := c.w.Write(p); c.n += int64(m) }
func (c *countWriter) u32(v uint32)   { binary.LittleEndian.PutUint32(c.buf[:], v); c.write(c.buf[:4]) }
func (c *countWriter) u64(v uint64)   { binary.LittleEndian.PutUint64(c.buf[:], v); c.write(c.buf[:8]) }
func (c *countWriter) str(s string)   { c.u64(uint64(len(s))); c.write([]byte(s)) }
func (c *countWriter) pad(al int64) {
	var zero [64]byte
	for n := (al - c.n%al) % al; n > 0; n -= min(n, 64) {
		c.write(zero[:min(n, 64)])
	}
}

func (c *countWriter) scalar(v any) {
	switch x := v.(type) {
	case uint8:
		c.write([]byte{x})
	case int8:
		c.write([]byte{byte(x)})
	case bool:
		if x {
			c.write([]byte{1})
		} else {
			c.write([]byte{0})
		}
	case uint16:
		binary.LittleEndian.PutUint16(c.buf[:], x)
		c.write(c.buf[:2])
	case int16:
		binary.LittleEndian.PutUint16(c.buf[:], uint16(x))
		c.write(c.buf[:2])
	case uint32:
		c.u32(x)
	case int32:
		c.u32(uint32(x))
	case float32:
		c.u32(math.Float32bits(x))
	case uint64:
		c.u64(x)
	case int64:
		c.u64(uint64(x))
	case float64:
		c.u64(math.Float64bits(x))
	case string:
		c.str(x)
	case Array:
		c.array(x)
	}
}

func (c *countWriter) array(a Array) {
	c.u32(uint32(a.Elem))
	n := a.Len()
	c.u64(uint64(n))
	for i := 0; i < n; i++ {
		switch s := a.Values.(type) {
		case []string:
			c.str(s[i])
		case []Array:
			c.array(s[i])
		case []bool:
			c.scalar(s[i])
		default:
			c.scalar(indexAny(a.Values, i))
		}
	}
}

// WriteTo writes the file to w and returns the number of bytes written.
// It fails on a write error or an error from an AddTensorFunc producer.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	c := &countWriter{w: bw}
	b.writeHeader(c)
	al := int64(b.alignment())
	c.pad(al)
	var buf []byte
	for i, d := range b.data {
		if fill := b.fills[i]; fill != nil {
			if _, err := bw.Write(nil); err != nil { // a write already failed: produce nothing more
				return c.n, fmt.Errorf("gguf: write: %w", err)
			}
			size := b.tensors[i].Size
			if int64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			d = buf[:size]
			if err := fill(d); err != nil {
				bw.Flush()
				return c.n, fmt.Errorf("gguf: tensor %q: %w", b.tensors[i].Name, err)
			}
		}
		c.write(d)
		if i < len(b.data)-1 {
			c.pad(al)
		}
	}
	if len(b.data) > 0 {
		c.pad(al)
	}
	if err := bw.Flush(); err != nil {
		return c.n, fmt.Errorf("gguf: write: %w", err)
	}
	return c.n, nil
}

// writeHeader writes everything before the data section's padding.
func (b *Builder) writeHeader(c *countWriter) {
	c.write([]byte(Magic))
	c.u32(3)
	c.u64(uint64(len(b.tensors)))
	c.u64(uint64(len(b.kvs)))
	for _, kv := range b.kvs {
		c.str(kv.Key)
		c.u32(uint32(kv.Value.Type))
		c.scalar(kv.Value.V)
	}
	for _, t := range b.tensors {
		c.str(t.Name)
		c.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			c.u64(d)
		}
		c.u32(uint32(t.Type))
		c.u64(t.Offset)
	}
}

// WriteFile writes the file to path.
func (b *Builder) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if _, err := b.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
