package quant

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// TestToQ6K re-encodes ggml's random blocks of each type (and, for the
// ternary types, its quantizations of the input rows) as Q6_K: every
// block ToQ6K accepts decodes to its source's floats, and it accepts every
// block whose scale divides exactly (all of them where it need not divide;
// at least 3/4 of the random float16 scales otherwise), and every block of
// a quantized row that decodes to finite floats.
func TestToQ6K(t *testing.T) {
	in := ggmlInputs(t)
	for _, typ := range []Type{IQ3_S, IQ3_XXS, IQ1_S, IQ1_M, TQ1_0, TQ2_0} {
		t.Run(typ.String(), func(t *testing.T) {
			g := readGGMLGolden(t, typ)
			bb := typ.BlockBytes()
			var blocks [][]byte
			for b := 0; b < g.nr; b++ {
				blocks = append(blocks, g.blocks[b*bb:(b+1)*bb])
			}
			random := len(blocks)
			if typ.CanQuantize() {
				rb, _ := typ.RowBytes(g.n)
				for r := 0; r < 64; r++ {
					q := make([]byte, rb)
					if err := Quantize(typ, q, in[r]); err != nil {
						t.Fatal(err)
					}
					for o := 0; o < rb; o += bb {
						blocks = append(blocks, q[o:o+bb])
					}
				}
			}
			okRandom, y, z := 0, make([]float32, QKK), make([]float32, QKK)
			for i, src := range blocks {
				dst := make([]byte, 210)
				ok, err := ToQ6K(typ, dst, src)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					if i >= random && finite(t, typ, src, y) {
						t.Fatalf("block %d of a quantized row: not re-encoded", i-random)
					}
					continue
				}
				if i < random {
					okRandom++
				}
				if err := Dequantize(typ, y, src); err != nil {
					t.Fatal(err)
				}
				if err := Dequantize(Q6_K, z, dst); err != nil {
					t.Fatal(err)
				}
				for k := range y {
					if y[k] != z[k] {
						t.Fatalf("block %d: element %d decodes to %g as Q6_K, %g as %v", i, k, z[k], y[k], typ)
					}
				}
			}
			need := random
			if typ == IQ3_XXS || typ == IQ1_S || typ == IQ1_M {
				need = 3 * random / 4
			}
			if okRandom < need {
				t.Errorf("%d of %d random blocks re-encoded, want at least %d", okRandom, random, need)
			}
			t.Logf("%d of %d random blocks re-encoded", okRandom, random)
		})
	}
	if _, err := ToQ6K(IQ2_XXS, make([]byte, 210), make([]byte, 66)); !errors.Is(err, ErrType) {
		t.Errorf("IQ2_XXS: got %v, want ErrType", err)
	}
	if _, err := ToQ6K(IQ3_S, make([]byte, 200), make([]byte, 110)); !errors.Is(err, ErrSize) {
		t.Errorf("short dst: got %v, want ErrSize", err)
	}
	// Arbitrary bytes never panic, and a block ToQ6K accepts still decodes
	// to its source's floats.
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range []Type{IQ3_S, IQ3_XXS, IQ1_S, IQ1_M, TQ1_0, TQ2_0} {
		src := make([]byte, typ.BlockBytes())
		y, z := make([]float32, QKK), make([]float32, QKK)
		for range 500 {
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			dst := make([]byte, 210)
			if ok, _ := ToQ6K(typ, dst, src); ok {
				_ = Dequantize(typ, y, src)
				_ = Dequantize(Q6_K, z, dst)
				for k := range y {
					if y[k] != z[k] {
						t.Fatalf("%v: arbitrary block re-encoded to other floats", typ)
					}
				}
			}
		}
	}
}

// finite reports whether block src of typ decodes to finite floats
// (y is scratch).
func finite(t *testing.T, typ Type, src []byte, y []float32) bool {
	t.Helper()
	if err := Dequantize(typ, y, src); err != nil {
		t.Fatal(err)
	}
	for _, v := range y {
		if v-v != 0 {
			return false
		}
	}
	return true
}
