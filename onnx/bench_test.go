package onnx

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkExternalTensor reads a float32 initializer stored in an external
// data file: TensorView maps it without copying, TensorData copies it.
func BenchmarkExternalTensor(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 20, 16 << 20} {
		bl := NewBuilder("g", Opset{"", 21})
		Initializer(bl, "w", Float32, []int64{int64(n)}, make([]float32, n))
		bl.Output("w", Float32, n)
		p, err := bl.Model()
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), "m.onnx")
		if err := Save(path, p, WriteOptions{ExternalData: "m.data"}); err != nil {
			b.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		w := m.Initializer("w")
		b.Run(fmt.Sprintf("View/%d", n), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				if _, err := TensorView[float32](m, w); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Data/%d", n), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				if _, err := TensorData[float32](m, w); err != nil {
					b.Fatal(err)
				}
			}
		})
		m.Close()
	}
}
