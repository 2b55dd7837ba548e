package hftest_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/hf/hftest"
	"github.com/zerfoo/zerfoo/safetensors"
)

// Write a tiny random Gemma 3 folder in two shards and read its weights
// back as one checkpoint.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "hftest")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := hftest.Write(dir, hftest.Options{Seed: 1, Shards: 2}); err != nil {
		log.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		fmt.Println(filepath.Base(n))
	}
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ck.Close()
	emb, _ := ck.Tensor("model.embed_tokens.weight")
	fmt.Println(ck.Len(), "tensors; embedding", emb.DType, emb.Shape)
	// Output:
	// config.json
	// generation_config.json
	// model-00001-of-00002.safetensors
	// model-00002-of-00002.safetensors
	// model.safetensors.index.json
	// 80 tensors; embedding BF16 [512 256]
}
