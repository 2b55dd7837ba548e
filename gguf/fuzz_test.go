package gguf

import (
	"bytes"
	"runtime"
	"testing"
)

// allocBound is the most Read may allocate for a file of n bytes: every
// count is checked against the bytes left, and no Go representation is
// more than a small multiple of its smallest encoding.
func allocBound(n int) uint64 { return 32*uint64(n) + 1<<16 }

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func FuzzRead(f *testing.F) {
	_, sampleFile := sample(f)
	f.Add(sampleFile)
	f.Add(header(1, 1).str("a").u32(uint32(TypeUint32)).u32(7).tensor("t", 0, 0, 4).data(16).Bytes())
	f.Add(header(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(2).str("x").str("").Bytes())
	f.Add(header(2, 0).tensor("a", 2, 0, 32).tensor("b", 12, 32, 256).data(32 + 144).Bytes())
	f.Add(deepArray(3))
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := totalAlloc()
		file, err := Read(data)
		if got := totalAlloc() - before; got > allocBound(len(data)) {
			t.Fatalf("Read of %d bytes allocated %d bytes (bound %d); err = %v", len(data), got, allocBound(len(data)), err)
		}
		if err != nil {
			return
		}
		for _, ti := range file.Tensors {
			d, err := file.TensorData(ti.Name)
			if err != nil || int64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: got %d bytes, %v; want %d", ti.Name, len(d), err, ti.Size)
			}
			if ti.Type.Supported() && ti.Elements() <= 1<<16 {
				if _, err := file.TensorFloat32(ti.Name); err != nil {
					t.Fatalf("tensor %q: %v", ti.Name, err)
				}
			}
		}
		// Rewriting is idempotent after one pass (the first pass may
		// repack tensor offsets).
		once := rewrite(t, file)
		f2, err := Read(once)
		if err != nil {
			t.Fatalf("rereading a rewritten file: %v", err)
		}
		if twice := rewrite(t, f2); !bytes.Equal(once, twice) {
			t.Fatalf("rewrite is not idempotent")
		}
	})
}

func rewrite(t *testing.T, f *File) []byte {
	b := NewBuilder()
	for _, kv := range f.Metadata {
		if err := b.Set(kv.Key, kv.Value); err != nil {
			t.Fatalf("Set(%q): %v", kv.Key, err)
		}
	}
	for _, ti := range f.Tensors {
		d, _ := f.TensorData(ti.Name)
		if err := b.AddTensor(ti.Name, ti.Type, ti.Dims, d); err != nil {
			t.Fatalf("AddTensor(%q): %v", ti.Name, err)
		}
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
