package qgemm

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// TestGGUF builds random Q4_0 and Q8_0 tensors, decodes them with the
// gguf.md formulas directly, and checks MatMul against float64 dot
// products with those weights.
func TestGGUF(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, k, rows = 37, 96, 3
	for _, kind := range []string{"q4_0", "q8_0"} {
		per := map[string]int{"q4_0": 18, "q8_0": 34}[kind]
		data := make([]byte, n*k/32*per)
		w := make([]float64, n*k)
		for blk := 0; blk < n*k/32; blk++ {
			b := data[blk*per : (blk+1)*per]
			d := numeric.Float16FromFloat32((rng.Float32()*2 - 1) / 16)
			binary.LittleEndian.PutUint16(b, d.Bits())
			for i := 2; i < per; i++ {
				b[i] = uint8(rng.IntN(256))
			}
			row, base := blk/(k/32), blk%(k/32)*32
			for j := 0; j < 32; j++ {
				var q float64
				switch {
				case kind == "q8_0":
					q = float64(int8(b[2+j]))
				case j < 16:
					q = float64(b[2+j]&0xF) - 8
				default:
					q = float64(b[2+j-16]>>4) - 8
				}
				w[row*k+base+j] = q * float64(d.Float32())
			}
		}
		var src Source = Q40{N: n, K: k, Data: data}
		if kind == "q8_0" {
			src = Q80{N: n, K: k, Data: data}
		}
		m, err := PackGGUF(src)
		if err != nil {
			t.Fatal(err)
		}
		a := randA(rng, rows*k)
		y := make([]float32, rows*n)
		if err := m.MatMul(context.Background(), y, a, rows, nil, Options{}); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < n; c++ {
				var want, mag float64
				for i := 0; i < k; i++ {
					x := float64(a[r*k+i]) * w[c*k+i]
					want += x
					mag += math.Abs(x)
				}
				if d := math.Abs(float64(y[r*n+c]) - want); d > 1e-5*mag+1e-7 {
					t.Fatalf("%s: y[%d][%d] got %g, want %g", kind, r, c, y[r*n+c], want)
				}
			}
		}
	}
	if _, err := PackGGUF(Q40{N: 2, K: 32, Data: make([]byte, 35)}); err == nil {
		t.Error("PackGGUF with 35 bytes for 2×32 Q4_0: got nil error, want one")
	}
}
