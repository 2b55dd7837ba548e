package hf_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/generate"
	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/hf/hftest"
	"github.com/zerfoo/zerfoo/safetensors"
)

// TestBadFolders: each broken folder is refused by Open, Convert and
// generate.Load with the same one-line error, naming the folder (or a file
// in it) and, where there is one, the tensor or key at fault.
func TestBadFolders(t *testing.T) {
	drop := func(name string) func(dir string) {
		return func(dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		o      hftest.Options
		break_ func(dir string)
		is     error
		says   []string
	}{
		{name: "missing shard", o: hftest.Options{Shards: 3}, break_: drop("model-00002-of-00003.safetensors"),
			is: fs.ErrNotExist, says: []string{"model.safetensors.index.json", `shard "model-00002-of-00003.safetensors" is missing`, "tensor "}},
		{name: "truncated header", break_: func(dir string) {
			if err := os.Truncate(filepath.Join(dir, "model.safetensors"), 100); err != nil {
				t.Fatal(err)
			}
		}, is: safetensors.ErrFormat, says: []string{"model.safetensors", "header length"}},
		{name: "wrong shape", o: hftest.Options{Edit: func(c map[string]any) { c["intermediate_size"] = 500 }},
			is: hf.ErrConfig, says: []string{"model.safetensors", `tensor "model.layers.0.mlp.down_proj.weight"`, "shape [256 512], want [256 500]"}},
		{name: "multimodal wrong shape", o: hftest.Options{Multimodal: true, Edit: func(c map[string]any) { c["num_key_value_heads"] = 1 }},
			is: hf.ErrConfig, says: []string{`tensor "language_model.model.layers.0.self_attn.k_proj.weight"`, "shape [128 256], want [64 256]"}},
		{name: "unknown architecture", o: hftest.Options{Edit: func(c map[string]any) { c["architectures"] = []string{"LlamaForCausalLM"} }},
			is: hf.ErrArchitecture, says: []string{"config.json", `"LlamaForCausalLM"`, "Gemma3ForCausalLM"}},
		{name: "no architecture", o: hftest.Options{Edit: func(c map[string]any) { delete(c, "architectures"); c["model_type"] = "llama" }},
			is: hf.ErrArchitecture, says: []string{"config.json", `model_type "llama"`}},
		{name: "unsupported rope", o: hftest.Options{Edit: func(c map[string]any) { c["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": 4} }},
			is: hf.ErrConfig, says: []string{"config.json", `rope_scaling.rope_type "yarn"`}},
		{name: "bad value", o: hftest.Options{Edit: func(c map[string]any) { c["num_hidden_layers"] = "six" }},
			is: hf.ErrConfig, says: []string{"config.json", `num_hidden_layers is the string "six", want an integer`}},
		{name: "bad JSON", break_: func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": [`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, is: hf.ErrConfig, says: []string{"config.json"}},
		{name: "fewer layers in config", o: hftest.Options{Edit: func(c map[string]any) { c["num_hidden_layers"] = 5 }},
			is: hf.ErrConfig, says: []string{`tensor "model.layers.5.`, "not a tensor of a Gemma 3 text decoder with 5 layers"}},
		{name: "more layers in config", o: hftest.Options{Edit: func(c map[string]any) { c["num_hidden_layers"] = 7 }},
			is: hf.ErrConfig, says: []string{"no tensor model.layers.6."}},
		{name: "no tokenizer", break_: drop("tokenizer.json"), is: fs.ErrNotExist, says: []string{"tokenizer.json is missing"}},
		{name: "no weights", break_: drop("model.safetensors"), is: fs.ErrNotExist, says: []string{"has neither model.safetensors nor model.safetensors.index.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFolder(t, tc.o)
			if tc.break_ != nil {
				tc.break_(dir)
			}
			_, err := hf.Open(dir)
			check := func(who string, err error) {
				t.Helper()
				switch {
				case err == nil:
					t.Fatalf("%s: no error", who)
				case !errors.Is(err, tc.is):
					t.Errorf("%s: %v, want an error wrapping %v", who, err, tc.is)
				case strings.Contains(err.Error(), "\n"):
					t.Errorf("%s: error of several lines: %q", who, err)
				case !strings.Contains(err.Error(), dir):
					t.Errorf("%s: %v does not name the folder %s", who, err, dir)
				}
				for _, s := range tc.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: %v does not say %q", who, err, s)
					}
				}
			}
			check("Open", err)
			_, err = hf.Convert(context.Background(), dir, filepath.Join(t.TempDir(), "out.gguf"), hf.ConvertOptions{})
			check("Convert", err)
			_, err = generate.Load(context.Background(), dir)
			check("generate.Load", err)
		})
	}
}

// TestMissingTensor: a checkpoint without one of the decoder's tensors is
// refused, naming it.
func TestMissingTensor(t *testing.T) {
	c := hftest.Tiny()
	var ts []hftest.Tensor
	for _, x := range hftest.Random(c, 1) {
		if x.Name != "model.layers.3.mlp.up_proj.weight" {
			ts = append(ts, x)
		}
	}
	o := hftest.Options{}
	o.Tokenizer, o.TokenizerConfig = tokenizerFiles(t)
	dir := t.TempDir()
	if err := hftest.WriteTensors(dir, c, ts, o); err != nil {
		t.Fatal(err)
	}
	_, err := hf.Open(dir)
	if !errors.Is(err, hf.ErrConfig) || !strings.Contains(err.Error(), "no tensor model.layers.3.mlp.up_proj.weight (for blk.3.ffn_up.weight)") {
		t.Errorf("Open: %v", err)
	}
}

// TestConvertOutput: an existing output is kept unless forced, a bad type
// is refused before anything is read, and a failed conversion leaves no
// file behind.
func TestConvertOutput(t *testing.T) {
	dir := writeFolder(t, hftest.Options{})
	outDir := t.TempDir()
	out := filepath.Join(outDir, "m.gguf")
	if err := os.WriteFile(out, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing output: %v", err)
	}
	if _, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Type: "mnb4", Force: true}); err == nil {
		t.Error("type mnb4 accepted")
	}
	if _, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Type: "Q9_9", Force: true}); err == nil {
		t.Error("type Q9_9 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := hf.Convert(ctx, dir, out, hf.ConvertOptions{Type: "F16", Force: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled conversion: %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep" {
		t.Error("a failed conversion replaced the output")
	}
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 1 {
		t.Errorf("output folder holds %d entries after failed conversions, want 1", len(entries))
	}
	if _, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Force: true}); err != nil {
		t.Errorf("forced conversion: %v", err)
	}
}
