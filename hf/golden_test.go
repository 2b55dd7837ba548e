package hf_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/hf/hftest"
	"github.com/zerfoo/zerfoo/quantize"
	"github.com/zerfoo/zerfoo/safetensors"
)

var (
	goldenDirs   = flag.String("hf.golden-dirs", "", "write the golden test folders under this directory (for tools/hf/convert_golden.sh) and skip the comparison")
	goldenUpdate = flag.String("hf.golden-update", "", "rewrite testdata/hf/convert_golden.json from the reference GGUFs CASE-OUTTYPE.gguf in this directory")
)

const goldenFile = "../testdata/hf/convert_golden.json"

// goldenCase is a folder converted by llama.cpp's convert_hf_to_gguf.py
// (tools/hf/convert_reference.py) to each of its outtypes.
type goldenCase struct {
	name     string
	o        hftest.Options
	outtypes []string
}

// goldenCases: 12 layers so that the converter's name order puts
// model.layers.10 before model.layers.2; BF16 sharded, a multimodal F16
// folder (its norms are added in float16), and F32 (rounded to F16 and
// BF16).
func goldenCases() []goldenCase {
	c := hftest.Config{Vocab: 512, Hidden: 64, FFN: 96, Layers: 12, Heads: 2, KVHeads: 1, HeadDim: 32,
		Context: 1024, Window: 16, Period: 6, Eps: 1e-6, RopeTheta: 1e6, LocalRopeTheta: 1e4, RopeFactor: 8}
	return []goldenCase{
		{"bf16-sharded", hftest.Options{Config: c, Seed: 11, Shards: 2}, []string{"auto", "f16", "f32"}},
		{"f16-multimodal", hftest.Options{Config: c, Seed: 12, DType: safetensors.F16, Multimodal: true}, []string{"auto"}},
		{"f32", hftest.Options{Config: c, Seed: 13, DType: safetensors.F32}, []string{"auto", "bf16"}},
	}
}

// summary is what the golden holds of a GGUF: the metadata other than
// the vocabulary and the naming keys (general.* but architecture, type,
// file_type, quantization_version and sampling), in order, and every
// tensor's name, type, dimensions and a hash of its bytes, in order.
type summary struct {
	Metadata []string `json:"metadata"` // "key type value"
	Tensors  []string `json:"tensors"`  // "name type dims sha256[:8]"
}

func kept(key string) bool {
	switch {
	case strings.HasPrefix(key, "tokenizer."):
		return false
	case strings.HasPrefix(key, "general."):
		return key == gguf.KeyArchitecture || key == "general.type" || key == gguf.KeyFileType ||
			key == gguf.KeyQuantizationVersion || strings.HasPrefix(key, "general.sampling.")
	}
	return true
}

func summarize(t *testing.T, path string) summary {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s summary
	for _, kv := range f.Metadata {
		if kept(kv.Key) {
			s.Metadata = append(s.Metadata, kv.Key+" "+kv.Value.Type.String()+" "+kv.Value.String())
		}
	}
	for _, ti := range f.Tensors {
		data, err := f.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		s.Tensors = append(s.Tensors, fmt.Sprintf("%s %v %v %s", ti.Name, ti.Type, ti.Dims, hex.EncodeToString(h[:8])))
	}
	return s
}

// TestConvertGolden: hf.Convert writes, for each golden folder and
// outtype, the metadata (in order, vocabulary and naming keys aside) and
// the tensors (in order: names, types, dimensions, bytes) that llama.cpp's
// convert_hf_to_gguf.py wrote for the same folder
// (testdata/hf/convert_golden.json; tools/hf/convert_golden.sh remakes it).
func TestConvertGolden(t *testing.T) {
	tj, tc := tokenizerFiles(t)
	root := *goldenDirs
	if root == "" {
		root = t.TempDir()
	}
	var golden map[string]summary
	if *goldenDirs == "" && *goldenUpdate == "" {
		raw, err := os.ReadFile(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &golden); err != nil {
			t.Fatal(err)
		}
	}
	update := map[string]summary{}
	for _, gc := range goldenCases() {
		dir := filepath.Join(root, gc.name)
		o := gc.o
		o.Tokenizer, o.TokenizerConfig = tj, tc
		if err := hftest.Write(dir, o); err != nil {
			t.Fatal(err)
		}
		if *goldenDirs != "" {
			continue
		}
		for _, ot := range gc.outtypes {
			key := gc.name + "-" + ot
			if *goldenUpdate != "" {
				update[key] = summarize(t, filepath.Join(*goldenUpdate, key+".gguf"))
				continue
			}
			typ := quantize.Type(strings.ToUpper(ot))
			if ot == "auto" {
				typ = ""
			}
			out := filepath.Join(t.TempDir(), key+".gguf")
			if _, err := hf.Convert(context.Background(), dir, out, hf.ConvertOptions{Type: typ}); err != nil {
				t.Fatal(err)
			}
			got, want := summarize(t, out), golden[key]
			if !reflect.DeepEqual(got.Metadata, want.Metadata) {
				t.Errorf("%s: metadata\n got %v\nwant %v", key, got.Metadata, want.Metadata)
			}
			if len(got.Tensors) != len(want.Tensors) {
				t.Errorf("%s: %d tensors, want %d", key, len(got.Tensors), len(want.Tensors))
				continue
			}
			for i := range got.Tensors {
				if got.Tensors[i] != want.Tensors[i] {
					t.Errorf("%s: tensor %d is %v, want %v", key, i, got.Tensors[i], want.Tensors[i])
				}
			}
		}
	}
	switch {
	case *goldenDirs != "":
		t.Skipf("wrote the golden folders under %s", *goldenDirs)
	case *goldenUpdate != "":
		b, err := json.MarshalIndent(update, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
