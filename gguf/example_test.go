package gguf_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// A GGUF file written with Builder and read back with Open: metadata by key,
// the tensor table, and one tensor decoded to float32.
func Example() {
	b := gguf.NewBuilder()
	if err := b.Set(gguf.KeyArchitecture, "demo"); err != nil {
		log.Fatal(err)
	}
	if err := b.Set("demo.context_length", uint32(128)); err != nil {
		log.Fatal(err)
	}
	// A 2×32 matrix in ggml order: Dims[0] = 32 is the contiguous axis, so
	// each row is one Q8_0 block of 32 values.
	w := make([]float32, 64)
	for i := range w {
		w[i] = float32(i%32) / 4
	}
	if err := b.AddFloat32("w", quant.Q8_0, []uint64{32, 2}, w); err != nil {
		log.Fatal(err)
	}
	if err := b.AddFloat32("bias", quant.F32, []uint64{2}, []float32{0.5, -1}); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.gguf")
	if err := b.WriteFile(path); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	arch, _ := f.String(gguf.KeyArchitecture)
	ctx, _ := f.Uint("demo.context_length")
	fmt.Printf("version %d, %s, context %d\n", f.Version, arch, ctx)
	for _, t := range f.Tensors {
		fmt.Printf("%s %v %v %d bytes\n", t.Name, t.Type, t.Dims, t.Size)
	}
	got, err := f.TensorFloat32("w")
	if err != nil {
		log.Fatal(err)
	}
	// Q8_0 keeps 8 bits per weight and one float16 scale per block.
	fmt.Printf("%.2f … %.2f\n", got[:4], got[31])
	bias, _ := f.TensorFloat32("bias")
	fmt.Println(bias)
	// Output:
	// version 3, demo, context 128
	// w Q8_0 [32 2] 68 bytes
	// bias F32 [2] 8 bytes
	// [0.00 0.24 0.49 0.73] … 7.75
	// [0.5 -1]
}

// Read parses a file already in memory; a damaged one yields a
// *FormatError that says where the problem is.
func ExampleRead() {
	_, err := gguf.Read([]byte("GGUF\x03\x00\x00\x00"))
	fmt.Println(err)
	fmt.Println(errors.Is(err, gguf.ErrFormat))
	// Output:
	// gguf: truncated file: tensor count needs 8 bytes, 0 left (at offset 8)
	// true
}
