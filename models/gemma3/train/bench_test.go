package train

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkStep times one forward+backward pass of the presets on a batch
// of 8 sequences of 128 tokens (vocabulary 1024) and reports tokens/s.
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"nano", "tiny", "small"} {
		b.Run(name, func(b *testing.B) {
			c, err := Preset(name, 1024)
			if err != nil {
				b.Fatal(err)
			}
			m, err := New(c, 1)
			if err != nil {
				b.Fatal(err)
			}
			const B, T = 8, 128
			r := rand.New(rand.NewPCG(1, 2))
			in, tg := make([]int32, B*T), make([]int32, B*T)
			for i := range in {
				in[i], tg[i] = int32(r.IntN(1024)), int32(r.IntN(1024))
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Loss(ctx, in, tg, B, T); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
