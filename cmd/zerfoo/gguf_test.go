package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/qgemm"
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

// TestRunsAs: inspect says which path each type takes, with the tiles'
// bits per weight where they outgrow the file's.
func TestRunsAs(t *testing.T) {
	// IQ1_S: its grid indices where the CPU has their kernels (AVX-512
	// VBMI, AVX2), with table codes as the faster form (3-bit ones on
	// AVX-512 CPUs, 4-bit on the others), else 4-bit table codes (NEON,
	// the generic kernels): 1.71875 or 4.3125 bits per weight, by the
	// bytes of 16 rows of 256.
	iq1s := map[int64]string{
		880:  "int8 kernels, repacked at 1.72 bits per weight; --prefer-speed: ",
		2208: "int8 kernels, repacked at 4.31 bits per weight (2.8× the file's) where the memory budget allows",
	}[qgemm.GGMLBytes(quant.IQ1_S, 16, 256)]
	if iq1s == "" {
		t.Fatalf("IQ1_S tiles of %d bytes per 16×256: no known form", qgemm.GGMLBytes(quant.IQ1_S, 16, 256))
	}
	for typ, want := range map[quant.Type]string{
		quant.Q4_K:  "int8 kernels, repacked at 4.62 bits per weight",
		quant.IQ1_S: iq1s,
		quant.MXFP4: "rewritten exactly as Q8_0",
		quant.NVFP4: "the reference path",
		quant.BF16:  "16-bit kernels",
	} {
		if got := runsAs(typ); !strings.HasPrefix(got, want) {
			t.Errorf("%v: %q, want it to start %q", typ, got, want)
		}
	}
	// IQ3_S names its faster form where the CPU keeps its grid indices.
	fast := qgemm.PackOptions{Speed: true}.Bytes(quant.IQ3_S, 16, 256) != qgemm.GGMLBytes(quant.IQ3_S, 16, 256)
	if got := runsAs(quant.IQ3_S); strings.Contains(got, "--prefer-speed: 4.31 bits per weight") != fast {
		t.Errorf("IQ3_S: %q (faster form on this CPU: %v)", got, fast)
	}
	dir := filepath.Join("..", "..", "testdata", "gguf", "split")
	code, out, _ := zerfoo(t, context.Background(), "", "gguf", "inspect", filepath.Join(dir, "tiny-00001-of-00003.gguf"))
	if code != 0 || !strings.Contains(out, "How Zerfoo runs each type's matrices:") {
		t.Errorf("exit %d, stdout %.300q", code, out)
	}
}
