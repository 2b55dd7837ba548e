package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
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
			blocks, random := goldenBlocks(t, typ, in)
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
	if _, err := Reencode(Q2_0, make([]byte, 17), make([]byte, 18)); !errors.Is(err, ErrSize) {
		t.Errorf("short dst: got %v, want ErrSize", err)
	}
	// Arbitrary bytes never panic, and a block Reencode accepts still decodes
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

// goldenBlocks returns ggml's random blocks of typ (the first random of
// blocks) and, for a type with a quantizer, the blocks of its
// quantizations of the first 64 input rows.
func goldenBlocks(t *testing.T, typ Type, in [][]float32) (blocks [][]byte, random int) {
	t.Helper()
	g := readGGMLGolden(t, typ)
	bb := typ.BlockBytes()
	for b := 0; b < g.nr; b++ {
		blocks = append(blocks, g.blocks[b*bb:(b+1)*bb])
	}
	random = len(blocks)
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
	return blocks, random
}

var reencodedTypes = []Type{Q1_0, Q2_0, MXFP4}

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

// TestCodes takes ggml's random blocks of each type Codes takes (and,
// for the ternary types, its quantizations of the input rows): every block
// it accepts gives codes from CodeLevels whose ((d·sc)·CodeScale)·code
// are the block's floats bit for bit; it accepts every block that decodes
// to finite floats (every random one: ggml's random scales include
// subnormal ones), a block with a zero scale included, and arbitrary bytes
// never panic it.
func TestCodes(t *testing.T) {
	in := ggmlInputs(t)
	for _, typ := range codeTypes {
		t.Run(typ.String(), func(t *testing.T) {
			blocks, random := goldenBlocks(t, typ, in)
			// A block with d = 0 (all its values ±0).
			zero := append([]byte(nil), blocks[0]...)
			for _, o := range scaleOffsets(typ) {
				zero[o], zero[o+1] = 0, 0
			}
			blocks = append(blocks, zero)
			levels := CodeLevels(typ)
			if len(levels) == 0 || len(levels) > 16 || !slices.IsSorted(levels) {
				t.Fatalf("CodeLevels = %v", levels)
			}
			okRandom := 0
			var y [QKK]float32
			for i, src := range blocks {
				var (
					codes [QKK]int8
					sc    [16]int8
				)
				d, ok := Codes(typ, src, &codes, &sc)
				if !ok {
					if i >= random && finite(t, typ, src, y[:]) {
						t.Fatalf("block %d (after the random ones): no codes", i-random)
					}
					continue
				}
				if i < random {
					okRandom++
				}
				if err := Dequantize(typ, y[:], src); err != nil {
					t.Fatal(err)
				}
				for k, c := range codes {
					got := float32(d.Float32()*float32(sc[k/16])) * CodeScale(typ) * float32(c)
					if !slices.Contains(levels, c) || math.Float32bits(got) != math.Float32bits(y[k]) {
						t.Fatalf("block %d: element %d: code %d (levels %v) gives %g, want %g", i, k, c, levels, got, y[k])
					}
				}
			}
			need := random
			if okRandom < need {
				t.Errorf("%d of %d random blocks accepted, want at least %d", okRandom, random, need)
			}
			t.Logf("%d of %d random blocks accepted", okRandom, random)
			r := rand.New(rand.NewPCG(7, 7))
			src := make([]byte, typ.BlockBytes())
			for range 500 {
				for i := range src {
					src[i] = byte(r.Uint32())
				}
				var (
					codes [QKK]int8
					sc    [16]int8
				)
				Codes(typ, src, &codes, &sc)
			}
		})
	}
	var (
		codes [QKK]int8
		sc    [16]int8
	)
	if _, ok := Codes(Q4_K, make([]byte, Q4_K.BlockBytes()), &codes, &sc); ok {
		t.Error("Q4_K: ok")
	}
	if _, ok := Codes(IQ3_S, make([]byte, 3), &codes, &sc); ok {
		t.Error("short block: ok")
	}
}

var codeTypes = []Type{IQ3_S, IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M, TQ1_0, TQ2_0}

// scaleOffsets returns the byte offsets of the float16 scale bits of a
// block of t (for IQ1_M, its four nibbles' bytes: the top nibble of bytes
// 49, 51, 53 and 55 hold it; zeroing those bytes zeroes it and the
// sub-block scales beside it).
func scaleOffsets(t Type) []int {
	switch t {
	case TQ1_0, TQ2_0:
		return []int{t.BlockBytes() - 2}
	case IQ1_M:
		return []int{48, 50, 52, 54}
	}
	return []int{0}
}

// TestReencodeAllocs: the per-block work of Codes and the re-encoders
// allocates nothing (a loader runs it for every block of a model).
func TestReencodeAllocs(t *testing.T) {
	var (
		codes [QKK]int8
		sc    [16]int8
		y     = make([]float32, 64)
		q     = make([]byte, 36)
		iq2   = make([]byte, IQ2_XXS.BlockBytes())
		q2    = make([]byte, Q2_0.BlockBytes())
	)
	iq2[1] = 0x3c // d = 1
	if n := testing.AllocsPerRun(50, func() { Codes(IQ2_XXS, iq2, &codes, &sc) }); n != 0 {
		t.Errorf("Codes: %v allocations per block", n)
	}
	if n := testing.AllocsPerRun(50, func() { toQ4_0(Q2_0, q2, q, y) }); n != 0 {
		t.Errorf("toQ4_0: %v allocations per block", n)
	}
}
