package gemma3

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// TestTensorsMapped checks that FromFile's page release is enabled for a
// memory-mapped file (gguf.Open) and never for bytes on the heap
// (gguf.Read, or the in-memory tensors of a gguf.Builder.View), where
// releasing pages would zero them.
func TestTensorsMapped(t *testing.T) {
	b := gguf.NewBuilder()
	b.Set(gguf.KeyArchitecture, "gemma3")
	ramp := make([]float32, 4096)
	for i := range ramp {
		ramp[i] = float32(i%251) + 0.5
	}
	for _, name := range []string{"a", "b"} {
		if err := b.AddFloat32(name, quant.F32, []uint64{4096}, ramp); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mapped := func(f *gguf.File, name string) bool {
		data, err := f.TensorData(name)
		if err != nil {
			t.Fatal(err)
		}
		return mappedData(f)(data)
	}
	if !mapped(f, "a") || !mapped(f, "b") {
		t.Error("gguf.Open: mappedData = false, want true")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	if mapped(g, "a") || mapped(g, "b") {
		t.Error("gguf.Read of a heap buffer: mappedData = true, want false")
	}
	// A view of one mapped and one heap tensor.
	vb := gguf.NewBuilder()
	for _, src := range []*gguf.File{f, g} {
		name := map[*gguf.File]string{f: "a", g: "b"}[src]
		data, _ := src.TensorData(name)
		if err := vb.AddTensor(name, quant.F32, []uint64{4096}, data); err != nil {
			t.Fatal(err)
		}
	}
	v := vb.View(nil)
	if !mapped(v, "a") || mapped(v, "b") {
		t.Errorf("view: mappedData a (mapped) %v, b (heap) %v; want true, false", mapped(v, "a"), mapped(v, "b"))
	}
	// Released pages of a mapping read back unchanged.
	data, _ := f.TensorData("a")
	want, _ := g.TensorData("a")
	releasePages(data)
	for i, v := range data {
		if v != want[i] {
			t.Fatalf("byte %d of tensor a after release: got %d, want %d", i, v, want[i])
		}
	}
}
