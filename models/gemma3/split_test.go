package gemma3_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/models/gemma3"
	"github.com/zerfoo/zerfoo/models/gemma3/gemma3test"
)

var ggufSplit = flag.String("gguf-split", "", "llama-gguf-split binary: with -update, rewrite testdata/gguf/split from it")

// splitOptions is the small model that llama-gguf-split cut into
// testdata/gguf/split (2 layers, width 64, Q8_0: 120 KB in all).
func splitOptions() gemma3test.Options {
	c := gemma3test.Config()
	c.Layers, c.Hidden, c.FFN, c.Heads, c.KVHeads, c.HeadDim, c.Context = 2, 64, 128, 2, 1, 32, 64
	return gemma3test.Options{Config: c, Type: quant.Q8_0, Seed: 3}
}

// TestLoadSplitLlamaCpp loads a model that llama.cpp's own gguf-split cut
// into three files (--split-max-tensors 12), from its first file, and
// demands the logits of the same model written whole, bit for bit.
func TestLoadSplitLlamaCpp(t *testing.T) {
	whole := filepath.Join(t.TempDir(), "whole.gguf")
	if err := gemma3test.Write(whole, splitOptions()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "testdata", "gguf", "split")
	if *update && *ggufSplit != "" {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(*ggufSplit, "--split-max-tensors", "12", whole, filepath.Join(dir, "tiny")).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", *ggufSplit, err, out)
		}
	}
	first := gguf.SplitPath(filepath.Join(dir, "tiny"), 0, 3)
	f, err := gguf.Open(first)
	if err != nil {
		t.Fatalf("%v (go test -run TestLoadSplitLlamaCpp -update -gguf-split PATH rewrites it)", err)
	}
	if f.Splits() != 3 {
		t.Errorf("%d files, want 3", f.Splits())
	}
	f.Close()
	toks := []int32{2, 400, 401, 402, 403, 404}
	var got [2][]float32
	for i, p := range []string{whole, first} {
		m, err := gemma3.Load(p, gemma3.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got[i] = lastLogits(t, m, toks)
		m.Close()
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Error("the split model's logits differ from the whole model's")
	}
}
