package quant

import "testing"

// FuzzDequantize decodes arbitrary bytes as every type: it must never
// panic, and must agree with the independent spec decoder on the first
// block of each block type it covers. Quantizing the decoded values (which
// may be huge, infinite or NaN) must not panic either, nor Codes, whose
// codes must give the first block's values back where it accepts it.
func FuzzDequantize(f *testing.F) {
	f.Add(make([]byte, 292))
	f.Add([]byte{0x00, 0x38, 0x9f, 0x88})
	f.Fuzz(func(t *testing.T, data []byte) {
		for typ := range typeTraits {
			if !typ.Supported() {
				continue
			}
			n := len(data) / typ.BlockBytes() * typ.BlockSize()
			nb, _ := typ.RowBytes(n)
			y := make([]float32, n)
			if err := Dequantize(typ, y, data[:nb]); err != nil {
				t.Fatal(err)
			}
			if typ.CanQuantize() {
				if err := Quantize(typ, make([]byte, nb), y); err != nil {
					t.Fatal(err)
				}
			}
			if n == 0 || typ.BlockSize() == 1 {
				continue
			}
			var (
				codes [QKK]int8
				sc    [16]int8
			)
			if d, ok := Codes(typ, data[:typ.BlockBytes()], &codes, &sc); ok {
				for k, c := range codes {
					if float32(d.Float32()*float32(sc[k/16]))*CodeScale(typ)*float32(c) != y[k] {
						t.Fatalf("%v: Codes: element %d is not ((d·sc)·CodeScale)·code", typ, k)
					}
				}
			}
			want := specDecode(typ, data[:typ.BlockBytes()])
			if want == nil {
				continue
			}
			for i, w64 := range want {
				// The decoders compute in float32 (as ggml does), so a
				// product beyond float32 range is ±Inf, not a large float64.
				w := float64(float32(w64))
				g := float64(y[i])
				if g != w && !(g != g && w != w) && abs64(g-w) > 1e-6*abs64(w) {
					t.Fatalf("%v element %d: got %v, want %v", typ, i, g, w)
				}
			}
		}
	})
}

func abs64(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
