package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/hf/hftest"
)

// TestModelFolder: --model takes a Hugging Face checkpoint folder as well
// as a GGUF file, and an onnxruntime-genai export folder; sampling flags not given come from the folder's
// generation_config.json, and a directory without config.json is a usage
// error.
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
	// An onnxruntime-genai export folder.
	ort := t.TempDir()
	if err := hftest.WriteGenAI(ort, hftest.Tiny(), hftest.Random(hftest.Tiny(), 3), hftest.GenAIOptions{Layout: hftest.GenAI2026, Tokenizer: o.Tokenizer, TokenizerConfig: o.TokenizerConfig}); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := zerfoo(t, context.Background(), "", "generate", "--model", ort, "--prompt", "hello", "--max-tokens", "3"); code != 0 || out == "" {
		t.Fatalf("generate --model GENAI_FOLDER: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// The sampling settings the folder's generation_config.json gives
	// apply unless a flag sets them.
	gen := t.TempDir()
	o.Generation = `{"do_sample": true, "temperature": 0.5, "top_k": 5, "eos_token_id": [1, 106]}`
	if err := hftest.Write(gen, o); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "--temperature 0.5 --top-k 5 --top-p 0.95"},
		{[]string{"--top-k", "9"}, "--temperature 0.5 --top-k 9 --top-p 0.95"},
		{[]string{"--temperature", "0", "--top-k", "40"}, ""},
	} {
		args := append([]string{"generate", "--model", gen, "--prompt", "hello", "--max-tokens", "2"}, tc.flags...)
		code, _, errs := zerfoo(t, context.Background(), "", args...)
		notice := "sampling from the model's configuration: " + tc.want
		if code != 0 || (tc.want != "" && !strings.Contains(errs, notice)) || (tc.want == "" && strings.Contains(errs, "sampling from")) {
			t.Errorf("generate %v: exit %d, stderr %q; want a notice %q", tc.flags, code, errs, tc.want)
		}
	}
	code, _, errs = zerfoo(t, context.Background(), "", "generate", "--model", t.TempDir(), "--prompt", "hello")
	if code != 2 || !strings.Contains(errs, "nor a Hugging Face checkpoint folder") {
		t.Errorf("generate --model EMPTYDIR: exit %d, stderr %q; want 2 naming the missing config.json", code, errs)
	}
}
