package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/hf/hftest"
)

// TestModelFolder: --model takes a Hugging Face checkpoint folder as well
// as a GGUF file, and a directory without config.json is a usage error.
func TestModelFolder(t *testing.T) {
	dir := t.TempDir()
	o := hftest.Options{Seed: 3}
	var err error
	if o.Tokenizer, err = os.ReadFile("../../testdata/hf/tokenizer.json"); err != nil {
		t.Fatal(err)
	}
	if o.TokenizerConfig, err = os.ReadFile("../../testdata/hf/tokenizer_config.json"); err != nil {
		t.Fatal(err)
	}
	if err := hftest.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	code, out, errs := zerfoo(t, context.Background(), "", "generate", "--model", dir, "--prompt", "hello", "--max-tokens", "3", "--seed", "1")
	if code != 0 || out == "" {
		t.Fatalf("generate --model FOLDER: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = zerfoo(t, context.Background(), "", "generate", "--model", t.TempDir(), "--prompt", "hello")
	if code != 2 || !strings.Contains(errs, "nor a Hugging Face checkpoint folder") {
		t.Errorf("generate --model EMPTYDIR: exit %d, stderr %q; want 2 naming the missing config.json", code, errs)
	}
}
