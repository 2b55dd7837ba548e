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
// (gguf.Read), where releasing pages would zero them.
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
	if !tensorsMapped(f) {
		t.Error("gguf.Open: tensorsMapped = false, want true")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tensorsMapped(g) {
		t.Error("gguf.Read of a heap buffer: tensorsMapped = true, want false")
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
