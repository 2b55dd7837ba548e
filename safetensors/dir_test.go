package safetensors

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// shards writes two shards and an index over them into dir.
func shards(t *testing.T, dir string, index string) {
	t.Helper()
	a := NewBuilder()
	a.Add("model.embed.weight", BF16, []int{4, 2}, []byte("0123456789abcdef"))
	a.Add("model.norm.weight", F32, []int{2}, f32bytes(1, 2))
	a.Add("unlisted", U8, []int{1}, []byte{9})
	b := NewBuilder()
	b.Add("lm_head.weight", F16, []int{2, 2}, []byte("ABCDEFGH"))
	writeFile(t, filepath.Join(dir, "model-00001-of-00002.safetensors"), build(t, a))
	writeFile(t, filepath.Join(dir, "model-00002-of-00002.safetensors"), build(t, b))
	writeFile(t, filepath.Join(dir, IndexFile), []byte(index))
}

const goodIndex = `{"metadata": {"total_size": 32}, "weight_map": {
  "model.embed.weight": "model-00001-of-00002.safetensors",
  "model.norm.weight": "model-00001-of-00002.safetensors",
  "lm_head.weight": "model-00002-of-00002.safetensors"}}`

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	shards(t, dir, goodIndex)
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := strings.Join(c.Names(), " "); got != "lm_head.weight model.embed.weight model.norm.weight" || c.Len() != 3 {
		t.Errorf("Names() = %q, Len() = %d", got, c.Len())
	}
	if len(c.Files) != 2 || c.Metadata["total_size"] != float64(32) {
		t.Errorf("%d files, metadata %v", len(c.Files), c.Metadata)
	}
	lm, err := c.Tensor("lm_head.weight")
	if err != nil || string(lm.Data) != "ABCDEFGH" || lm.DType != F16 || !strings.HasSuffix(lm.File, "model-00002-of-00002.safetensors") {
		t.Errorf("lm_head.weight: %+v, %v", lm, err)
	}
	if _, err := c.Tensor("unlisted"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a tensor the index does not list: got %v, want ErrNotFound", err)
	}
}

func TestOpenDirSingle(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder()
	b.SetMetadata("format", "pt")
	b.Add("w", F32, []int{1}, f32bytes(7))
	writeFile(t, filepath.Join(dir, SingleFile), build(t, b))
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Tensor("w")
	if err != nil || c.Len() != 1 || c.Metadata["format"] != "pt" {
		t.Fatalf("w: %v; %d tensors; metadata %v", err, c.Len(), c.Metadata)
	}
	if v, _ := w.Float32(); len(v) != 1 || v[0] != 7 {
		t.Errorf("w = %v", v)
	}
}

func TestOpenDirErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		index string // "" writes no index
		drop  string // shard file to delete
		is    error
		want  []string
	}{
		{"empty folder", "", "all", fs.ErrNotExist, []string{"neither model.safetensors nor " + IndexFile}},
		{"missing shard", goodIndex, "model-00002-of-00002.safetensors", fs.ErrNotExist,
			[]string{IndexFile, `tensor "lm_head.weight"`, `shard "model-00002-of-00002.safetensors" is missing`}},
		{"tensor not in shard", strings.Replace(goodIndex, `"lm_head.weight"`, `"lm_head.bias"`, 1), "", ErrFormat,
			[]string{IndexFile, `tensor "lm_head.bias"`, `shard "model-00002-of-00002.safetensors", which has no such tensor`}},
		{"shard outside", strings.Replace(goodIndex, `"model-00002-of-00002.safetensors"`, `"../x.safetensors"`, 1), "", ErrFormat,
			[]string{`shard "../x.safetensors" is not a file inside`}},
		{"absolute shard", strings.Replace(goodIndex, `"model-00002-of-00002.safetensors"`, `"/etc/passwd"`, 1), "", ErrFormat,
			[]string{`shard "/etc/passwd" is not a file inside`}},
		{"bad JSON", `{"weight_map": {`, "", ErrFormat, []string{IndexFile, "bad index"}},
		{"weight_map of numbers", `{"weight_map": {"a": 1}}`, "", ErrFormat, []string{"bad index: weight_map: number where a string belongs"}},
		{"no weight_map", `{"metadata": {}}`, "", ErrFormat, []string{"no weight_map"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.drop != "all" {
				shards(t, dir, c.index)
				if c.index == "" {
					os.Remove(filepath.Join(dir, IndexFile))
				}
				if c.drop != "" {
					os.Remove(filepath.Join(dir, c.drop))
				}
			}
			_, err := OpenDir(dir)
			if err == nil {
				t.Fatal("no error")
			}
			oneLine(t, err)
			if !errors.Is(err, c.is) {
				t.Errorf("got %v, want it to wrap %v", err, c.is)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
	// A corrupt shard's error names the shard and the tensor.
	dir := t.TempDir()
	shards(t, dir, goodIndex)
	p := filepath.Join(dir, "model-00002-of-00002.safetensors")
	raw, _ := os.ReadFile(p)
	writeFile(t, p, raw[:len(raw)-1])
	_, err := OpenDir(dir)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `tensor "lm_head.weight"`) {
		t.Errorf("truncated shard: got %v", err)
	}
}
