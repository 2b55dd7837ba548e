package hf_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/hf/hftest"
)

// exampleFolder writes a tiny Gemma 3 folder (two shards) into a new
// temporary directory.
func exampleFolder() (string, func()) {
	tmp, err := os.MkdirTemp("", "hf-example")
	if err != nil {
		log.Fatal(err)
	}
	o := hftest.Options{Shards: 2, Seed: 1}
	if o.Tokenizer, err = os.ReadFile("../testdata/hf/tokenizer.json"); err != nil {
		log.Fatal(err)
	}
	if o.TokenizerConfig, err = os.ReadFile("../testdata/hf/tokenizer_config.json"); err != nil {
		log.Fatal(err)
	}
	dir := filepath.Join(tmp, "gemma-3-tiny")
	if err := hftest.Write(dir, o); err != nil {
		log.Fatal(err)
	}
	return dir, func() { os.RemoveAll(tmp) }
}

// Open a Hugging Face folder and look at it as the GGUF file
// convert_hf_to_gguf.py would write: the converter's names, ggml
// dimensions, BF16 matrices read in place and float32 1 + w norms.
func Example() {
	dir, cleanup := exampleFolder()
	defer cleanup()
	f, err := hf.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	c := f.Config
	fmt.Printf("%s: %d layers, width %d, vocabulary %d, stop ids %v\n", c.Architecture, c.Layers, c.Hidden, c.VocabSize, f.EOS())
	v, err := f.View() // closing v closes f
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	for _, t := range v.Tensors[:4] {
		fmt.Println(t.Name, t.Type, t.Dims)
	}
	ft, _ := v.Uint("general.file_type")
	fmt.Println("file type", ft)
	// Output:
	// Gemma3ForCausalLM: 6 layers, width 256, vocabulary 512, stop ids [1 106]
	// token_embd.weight BF16 [256 512]
	// blk.0.attn_norm.weight F32 [256]
	// blk.0.ffn_down.weight BF16 [512 256]
	// blk.0.ffn_gate.weight BF16 [256 512]
	// file type 32
}

// Convert a folder to a quantized GGUF, as convert_hf_to_gguf.py followed
// by llama-quantize would.
func ExampleConvert() {
	dir, cleanup := exampleFolder()
	defer cleanup()
	out := filepath.Join(filepath.Dir(dir), "tiny-Q8_0.gguf")
	r, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Type: "q8_0"})
	if err != nil {
		log.Fatal(err)
	}
	before, after, n := r.Report.Totals()
	fmt.Printf("%s: %d tensors, %d quantized, %d → %d bytes\n", r.Type, r.Tensors, n, before, after)
	// Output:
	// Q8_0: 80 tensors, 43 quantized, 7340032 → 3899392 bytes
}
