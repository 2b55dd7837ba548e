package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/zerfoo/zerfoo/budget"
)

// Builder collects tensors and metadata and writes them as a safetensors
// file. The zero Builder is not usable; call NewBuilder.
type Builder struct {
	meta    map[string]string
	tensors []Tensor
	names   map[string]bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{meta: map[string]string{}, names: map[string]bool{}}
}

// SetMetadata sets one "__metadata__" entry.
func (b *Builder) SetMetadata(key, value string) { b.meta[key] = value }

// Add appends a tensor. data holds its elements little-endian, row-major,
// and is written as it is (not copied until WriteTo). It returns an
// error for an empty or duplicate name, the name "__metadata__", an
// unknown dtype, a negative dimension, or data whose length is not
// dtype × shape.
func (b *Builder) Add(name string, dt DType, shape []int, data []byte) error {
	switch {
	case name == "" || name == "__metadata__":
		return fmt.Errorf("safetensors: cannot name a tensor %q", name)
	case b.names[name]:
		return fmt.Errorf("safetensors: tensor %s added twice", strconv.Quote(clip(name)))
	case dt.Size() == 0:
		return fmt.Errorf("safetensors: tensor %s: invalid dtype %v", strconv.Quote(clip(name)), dt)
	}
	size, ok := budget.Product(dt.Size(), shape...)
	if !ok || size != int64(len(data)) {
		return fmt.Errorf("safetensors: tensor %s: %d bytes of data for %v %v", strconv.Quote(clip(name)), len(data), dt, shape)
	}
	b.names[name] = true
	b.tensors = append(b.tensors, Tensor{Name: name, DType: dt, Shape: append([]int{}, shape...), Data: data})
	return nil
}

// WriteTo writes the file: the header (metadata first, then the tensors
// ordered by decreasing dtype — so by decreasing element size — then by
// name, as the reference implementation orders them), padded with spaces
// to a multiple of 8 bytes, then the tensors' bytes back to back.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	ts := append([]Tensor(nil), b.tensors...)
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].DType != ts[j].DType {
			return ts[i].DType > ts[j].DType
		}
		return ts[i].Name < ts[j].Name
	})
	var h bytes.Buffer
	enc := json.NewEncoder(&h)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		enc.Encode(s) // strings always encode
		h.Truncate(h.Len() - 1)
	}
	h.WriteByte('{')
	sep := ""
	if len(b.meta) > 0 {
		keys := make([]string, 0, len(b.meta))
		for k := range b.meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			str(k)
			h.WriteByte(':')
			str(b.meta[k])
		}
		h.WriteByte('}')
		sep = ","
	}
	var off int64
	for _, t := range ts {
		h.WriteString(sep)
		sep = ","
		str(t.Name)
		fmt.Fprintf(&h, `:{"dtype":"%s","shape":[`, t.DType)
		for i, d := range t.Shape {
			if i > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, off+int64(len(t.Data)))
		off += int64(len(t.Data))
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var n int64
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(h.Len()))
	for _, p := range append([][]byte{lenBuf[:], h.Bytes()}, dataOf(ts)...) {
		k, err := w.Write(p)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func dataOf(ts []Tensor) [][]byte {
	out := make([][]byte, len(ts))
	for i := range ts {
		out[i] = ts[i].Data
	}
	return out
}
