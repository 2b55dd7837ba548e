package gemma3test_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

// Write a tiny random Gemma 3 model with Q8_0 layer matrices and load it:
// the same Options always give the same file.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "gemma3test")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")
	if err := gemma3test.Write(path, gemma3test.Options{Type: quant.Q8_0, Seed: 1}); err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, s := range gguf.TypeStats(f) {
		fmt.Printf("%v: %d tensors\n", s.Type, s.Tensors)
	}
	m, err := gemma3.FromFile(f, gemma3.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	c := m.Config
	fmt.Printf("%d layers (layer 5 global: %v), hidden %d, vocab %d\n", c.Layers, c.Global(5), c.Hidden, c.Vocab)
	// Output:
	// Q8_0: 43 tensors
	// F32: 37 tensors
	// 6 layers (layer 5 global: true), hidden 256, vocab 657
}
