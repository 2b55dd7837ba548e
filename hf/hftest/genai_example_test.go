package hftest_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerfoo/zerfoo/hf/hftest"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/onnx"
)

// Export a tiny random Gemma 3 as the current onnxruntime-genai builder
// would, and read the decoder back.
func ExampleWriteGenAI() {
	dir, err := os.MkdirTemp("", "genai")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	c := hftest.Tiny()
	ts := hftest.Random(c, 1)
	hftest.SnapInt4(ts, 32) // int4 blocks hold these weights exactly
	if err := hftest.WriteGenAI(dir, c, ts, hftest.GenAIOptions{Layout: hftest.GenAI2026}); err != nil {
		log.Fatal(err)
	}
	om, err := onnx.Load(filepath.Join(dir, hftest.GenAIModelFile))
	if err != nil {
		log.Fatal(err)
	}
	defer om.Close()
	m, err := gemma3.FromONNX(om, gemma3.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Config.Layers, "layers, window", m.Config.Window, "vocabulary", m.Config.Vocab, "embedding tied:", m.Weights.Output == nil)
	// Output: 6 layers, window 8 vocabulary 512 embedding tied: true
}
