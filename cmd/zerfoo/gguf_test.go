package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestGGUFInspectSplit inspects the model llama-gguf-split cut into three
// files: the first shows the whole model with each tensor's file, a later
// one only its own tensors, saying so.
func TestGGUFInspectSplit(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "gguf", "split")
	code, out, errs := zerfoo(t, context.Background(), "", "gguf", "inspect", filepath.Join(dir, "tiny-00001-of-00003.gguf"))
	if code != 0 || !strings.Contains(out, "28 tensors") || !strings.Contains(out, "split in 3 files") {
		t.Errorf("first file: exit %d, stderr %q, stdout %.300q", code, errs, out)
	}
	code, out, errs = zerfoo(t, context.Background(), "", "gguf", "inspect", filepath.Join(dir, "tiny-00002-of-00003.gguf"))
	if code != 0 || !strings.Contains(out, "one part of a split model") || !strings.Contains(out, "12 tensors") {
		t.Errorf("second file: exit %d, stderr %q, stdout %.300q", code, errs, out)
	}
}
