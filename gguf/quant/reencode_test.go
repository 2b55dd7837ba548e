package quant

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// TestReencode re-encodes ggml's random blocks of each type (and, for the
// types with a quantizer, its quantizations of the input rows): every
// block Reencode accepts decodes to its source's floats; it accepts every
// block whose scale has an exact counterpart (all of them where none need
// dividing; at least 3/4 of the random float16 scales, and for MXFP4
// those whose 2^(e−128) is a float16), and every block of a
// quantized row that decodes to finite floats (and, for MXFP4, whose scale
// is a float16: 2^(e−128) for e from 104 to 143).
func TestReencode(t *testing.T) {
	in := ggmlInputs(t)
	for _, typ := range reencodedTypes {
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
			to, _ := Reencoded(typ)
			n := typ.BlockSize()
			size, _ := to.RowBytes(n)
			okRandom, y, z := 0, make([]float32, n), make([]float32, n)
			for i, src := range blocks {
				dst := make([]byte, size)
				ok, err := Reencode(typ, dst, src)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					if i >= random && finite(t, typ, src, y) && (typ != MXFP4 || src[0] >= 104 && src[0] <= 143) {
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
				if err := Dequantize(to, z, dst); err != nil {
					t.Fatal(err)
				}
				for k := range y {
					if y[k] != z[k] {
						t.Fatalf("block %d: element %d decodes to %g as %v, %g as %v", i, k, z[k], to, y[k], typ)
					}
				}
			}
			need := random
			switch typ {
			case IQ3_XXS, IQ1_S, IQ1_M:
				need = 3 * random / 4
			case MXFP4: // every block whose scale is a float16
				need = 0
				for _, b := range blocks[:random] {
					if b[0] >= 104 && b[0] <= 143 {
						need++
					}
				}
			}
			if okRandom < need {
				t.Errorf("%d of %d random blocks re-encoded, want at least %d", okRandom, random, need)
			}
			t.Logf("%d of %d random blocks re-encoded", okRandom, random)
		})
	}
	if _, err := Reencode(IQ2_XXS, make([]byte, 210), make([]byte, 66)); !errors.Is(err, ErrType) {
		t.Errorf("IQ2_XXS: got %v, want ErrType", err)
	}
	if _, err := Reencode(IQ3_S, make([]byte, 200), make([]byte, 110)); !errors.Is(err, ErrSize) {
		t.Errorf("short dst: got %v, want ErrSize", err)
	}
	// Arbitrary bytes never panic, and a block ToQ6K accepts still decodes
	// to its source's floats.
	r := rand.New(rand.NewPCG(7, 7))
	for _, typ := range reencodedTypes {
		to, _ := Reencoded(typ)
		n := typ.BlockSize()
		size, _ := to.RowBytes(n)
		src := make([]byte, typ.BlockBytes())
		y, z := make([]float32, n), make([]float32, n)
		for range 500 {
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			dst := make([]byte, size)
			if ok, _ := Reencode(typ, dst, src); ok {
				_ = Dequantize(typ, y, src)
				_ = Dequantize(to, z, dst)
				for k := range y {
					if y[k] != z[k] {
						t.Fatalf("%v: arbitrary block re-encoded to other floats", typ)
					}
				}
			}
		}
	}
}

var reencodedTypes = []Type{IQ3_S, IQ3_XXS, IQ1_S, IQ1_M, TQ1_0, TQ2_0, Q1_0, Q2_0, MXFP4}

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

// TestReencodeAllocs: the per-block work of the re-encoders allocates
// nothing (a loader runs it for every block of a model).
func TestReencodeAllocs(t *testing.T) {
	var (
		codes [QKK]int8
		sc    [16]int8
		y     = make([]float32, QKK)
		q     = make([]byte, 210)
		iq2   = make([]byte, IQ2_XXS.BlockBytes())
		iq3   = make([]byte, IQ3_S.BlockBytes())
	)
	iq2[1] = 0x3c // d = 1
	if n := testing.AllocsPerRun(50, func() { IQ2Codes(IQ2_XXS, iq2, &codes, &sc) }); n != 0 {
		t.Errorf("IQ2Codes: %v allocations per block", n)
	}
	if n := testing.AllocsPerRun(50, func() { toQ6K(IQ3_S, iq3, q, y) }); n != 0 {
		t.Errorf("toQ6K: %v allocations per block", n)
	}
}
