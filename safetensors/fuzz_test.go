package safetensors

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// allocBound is the most Read may allocate for a file of n bytes: only the
// header is parsed, and its parsed form is a small multiple of its JSON.
func allocBound(n int) uint64 { return 32*uint64(n) + 1<<16 }

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzOpen feeds arbitrary bytes to Read (Open is Read of the mapped
// file). Read must not panic or allocate more than allocBound; a file it
// accepts must survive a rewrite by Builder with the same tensors.
func FuzzOpen(f *testing.F) {
	b, _ := sampleBuilder(f)
	var buf bytes.Buffer
	b.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add(file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(file(`{"__metadata__":{"a":"b"},"x":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, 2))
	f.Add(file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1))
	f.Add(file(`{}`, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := totalAlloc()
		file, err := Read(data)
		if got := totalAlloc() - before; got > allocBound(len(data)) {
			t.Fatalf("Read of %d bytes allocated %d bytes (bound %d); err = %v", len(data), got, allocBound(len(data)), err)
		}
		if err != nil {
			return
		}
		nb := NewBuilder()
		for k, v := range file.Metadata {
			nb.SetMetadata(k, v)
		}
		for _, tt := range file.Tensors {
			if err := nb.Add(tt.Name, tt.DType, tt.Shape, tt.Data); err != nil {
				t.Fatalf("re-adding accepted tensor: %v", err)
			}
		}
		var out bytes.Buffer
		if _, err := nb.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := Read(out.Bytes())
		if err != nil {
			t.Fatalf("rereading the rewritten file: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("rewrite has %d tensors, %d metadata; want %d, %d", len(again.Tensors), len(again.Metadata), len(file.Tensors), len(file.Metadata))
		}
		for _, tt := range file.Tensors {
			u, err := again.Tensor(tt.Name)
			if err != nil || u.DType != tt.DType || fmt.Sprint(u.Shape) != fmt.Sprint(tt.Shape) || !bytes.Equal(u.Data, tt.Data) {
				t.Fatalf("tensor %q changed in the rewrite: %v", tt.Name, err)
			}
		}
	})
}
