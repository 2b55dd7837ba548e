package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/hf/hftest"
)

// hfFolder writes a tiny random Hugging Face Gemma 3 folder.
func hfFolder(t *testing.T, o hftest.Options) string {
	t.Helper()
	var err error
	if o.Tokenizer, err = os.ReadFile("../../testdata/hf/tokenizer.json"); err != nil {
		t.Fatal(err)
	}
	if o.TokenizerConfig, err = os.ReadFile("../../testdata/hf/tokenizer_config.json"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "gemma3-tiny")
	if err := hftest.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConvert: `zerfoo convert` writes the GGUF and says so on stdout
// (with the per-tensor table for a quantized type), notices on stderr;
// usage errors exit 2 before anything is read.
func TestConvert(t *testing.T) {
	ctx := context.Background()
	dir := hfFolder(t, hftest.Options{Multimodal: true, Shards: 2})
	out := filepath.Join(t.TempDir(), "m.gguf")
	code, stdout, stderr := zerfoo(t, ctx, "", "-q", "convert", dir, "--out", out)
	if code != 0 || !strings.HasPrefix(stdout, "wrote "+out+": BF16, ") || !strings.Contains(stderr, "leaving out 4 vision tower and projector tensors") {
		t.Fatalf("convert: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, stdout, _ = zerfoo(t, ctx, "", "-q", "convert", dir, "--out", out, "--type", "q4_k_m", "--force")
	if code != 0 || !strings.Contains(stdout, "RMSE") || !strings.Contains(stdout, "wrote "+out+": Q4_K_M, ") {
		t.Fatalf("convert --type q4_k_m: exit %d, stdout %q", code, stdout)
	}
	code, _, stderr = zerfoo(t, ctx, "", "convert", dir, "--out", out)
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("existing output: exit %d, stderr %q", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"convert", t.TempDir(), "--out", out}, "not a Hugging Face model folder (no config.json)"},
		{[]string{"convert", filepath.Join(dir, "none"), "--out", out}, "no such folder"},
		{[]string{"convert", filepath.Join(dir, "config.json"), "--out", out}, "not a folder"},
		{[]string{"convert", dir, "--out", out, "--type", "Q9"}, "--type Q9"},
		{[]string{"convert", dir, "--out", out, "--type", "mnb4"}, "an ONNX type"},
		{[]string{"convert", dir}, "--out"},
	} {
		code, _, stderr := zerfoo(t, ctx, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "run 'zerfoo convert --help' for usage") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.msg)
		}
	}
}
