package numeric

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkQuantizeBlockwise(b *testing.B) {
	const n, k = 256, 1024
	w := randWeights(rand.New(rand.NewPCG(7, 8)), n*k)
	for _, bits := range []int{4, 8} {
		b.Run(fmt.Sprintf("bits=%d/bs=32", bits), func(b *testing.B) {
			b.SetBytes(int64(4 * n * k))
			for b.Loop() {
				if _, err := QuantizeBlockwise(w, n, k, BlockOptions{Bits: bits, BlockSize: 32}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDequantizeRow(b *testing.B) {
	const n, k = 64, 4096
	w := randWeights(rand.New(rand.NewPCG(9, 10)), n*k)
	row := make([]float32, k)
	for _, bits := range []int{2, 4, 8} {
		q, err := QuantizeBlockwise(w, n, k, BlockOptions{Bits: bits, BlockSize: 32})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("bits=%d/bs=32", bits), func(b *testing.B) {
			b.SetBytes(int64(k * bits / 8)) // packed weight bytes read per row
			i := 0
			for b.Loop() {
				if err := q.DequantizeRow(row, i%n); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/weight")
		})
	}
}
