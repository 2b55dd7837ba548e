package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/safetensors"
)

// Write a file with Builder, then read it back. Tensor data is a slice of
// the file's bytes; Float32 decodes it.
func Example() {
	w := make([]byte, 6*4)
	for i := range 6 {
		binary.LittleEndian.PutUint32(w[4*i:], math.Float32bits(float32(i)/2))
	}
	b := safetensors.NewBuilder()
	b.SetMetadata("format", "pt")
	if err := b.Add("layer.weight", safetensors.F32, []int{2, 3}, w); err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Read(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	t, err := f.Tensor("layer.weight")
	if err != nil {
		log.Fatal(err)
	}
	v, _ := t.Float32()
	fmt.Println(f.Metadata["format"], t.DType, t.Shape, len(t.Data), "bytes at offset", t.Offset)
	fmt.Println(v)
	// Output:
	// pt F32 [2 3] 24 bytes at offset 112
	// [0 0.5 1 1.5 2 2.5]
}

// A sharded checkpoint: OpenDir reads model.safetensors.index.json and opens
// every shard it names as one Checkpoint.
func ExampleOpenDir() {
	dir, err := os.MkdirTemp("", "ckpt")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for i, name := range []string{"embed.weight", "lm_head.weight"} {
		b := safetensors.NewBuilder()
		b.Add(name, safetensors.BF16, []int{2, 2}, make([]byte, 8))
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", i+1)))
		if err != nil {
			log.Fatal(err)
		}
		b.WriteTo(f)
		f.Close()
	}
	index := `{"metadata": {"total_size": 16}, "weight_map": {
		"embed.weight": "model-00001-of-00002.safetensors",
		"lm_head.weight": "model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, safetensors.IndexFile), []byte(index), 0o644)

	c, err := safetensors.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, name := range c.Names() {
		t, _ := c.Tensor(name)
		fmt.Println(name, t.DType, t.Shape, filepath.Base(t.File))
	}

	// A missing shard is an error naming the index, the shard and a tensor.
	os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
	_, err = safetensors.OpenDir(dir)
	fmt.Println(err != nil)
	// Output:
	// embed.weight BF16 [2 2] model-00001-of-00002.safetensors
	// lm_head.weight BF16 [2 2] model-00002-of-00002.safetensors
	// true
}

// Hostile or damaged files get one-line errors naming the tensor.
func ExampleRead_errors() {
	header := `{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	file = append(file, header...)
	file = append(file, make([]byte, 8)...) // 8 of the 16 bytes
	_, err := safetensors.Read(file)
	fmt.Println(err)
	// Output:
	// safetensors: tensor "w": data_offsets [0, 16) run past the end of the 8-byte data section
}
