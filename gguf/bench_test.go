package gguf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// BenchmarkOpen opens a 2 GiB file (sparse on disk) with a Gemma-sized
// 262144-token vocabulary: the cost is parsing the metadata, not the size.
func BenchmarkOpen(b *testing.B) {
	bl := NewBuilder()
	tokens := make([]string, 262144)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("▁piece%d", i)
	}
	bl.Set("tokenizer.ggml.tokens", tokens)
	bl.Set("tokenizer.ggml.scores", make([]float32, len(tokens)))
	const n = 1 << 30 // elements
	bl.tensors = append(bl.tensors, TensorInfo{Name: "big", Dims: []uint64{n}, Type: quant.F16, Size: 2 * n})
	bl.data = append(bl.data, nil)
	path := filepath.Join(b.TempDir(), "big.gguf")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := bl.WriteTo(f)
	if err == nil {
		err = f.Truncate(m + 2*n)
	}
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		g.Close()
	}
}
