package qat

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

func randMatrix(rng *rand.Rand, n int, sigma float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * sigma)
	}
	return w
}

// TestFakeQuantizeBitExact checks that FakeQuantize returns exactly the
// dequantized output of numeric's quantizer (the export path), in both
// layouts, for every scheme, including K not a multiple of the block size.
func TestFakeQuantizeBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{4, 8} {
		for _, sym := range []bool{true, false} {
			for _, bs := range []int{16, 32, 128} {
				for _, kn := range [][2]int{{64, 5}, {50, 3}, {257, 2}} {
					k, n := kn[0], kn[1]
					cfg := Config{Bits: bits, BlockSize: bs, Symmetric: sym}
					wKN := randMatrix(rng, k*n, 0.1)
					wNK := make([]float32, k*n)
					for i := range k {
						for j := range n {
							wNK[j*k+i] = wKN[i*n+j]
						}
					}
					ref, err := numeric.QuantizeBlockwise(wNK, n, k, cfg.Options())
					if err != nil {
						t.Fatal(err)
					}
					want, err := ref.Dequantize() // [N][K]
					if err != nil {
						t.Fatal(err)
					}
					gotKN := make([]float32, k*n)
					if _, err := FakeQuantize(gotKN, wKN, k, n, LayoutKN, cfg); err != nil {
						t.Fatal(err)
					}
					gotNK := make([]float32, k*n)
					if _, err := FakeQuantize(gotNK, wNK, k, n, LayoutNK, cfg); err != nil {
						t.Fatal(err)
					}
					for i := range k {
						for j := range n {
							w := want[j*k+i]
							if math.Float32bits(gotKN[i*n+j]) != math.Float32bits(w) || math.Float32bits(gotNK[j*k+i]) != math.Float32bits(w) {
								t.Fatalf("bits %d sym %v block %d K %d N %d at (k %d, n %d): got KN %v NK %v, want %v",
									bits, sym, bs, k, n, i, j, gotKN[i*n+j], gotNK[j*k+i], w)
							}
						}
					}
				}
			}
		}
	}
}

// TestFakeQuantizeHand checks one symmetric 4-bit block against hand
// arithmetic: the extreme is −1, so scale = 1/8 and codes are
// clamp(round(8x) + 8, 0, 15); 0.99 saturates at code 15 (0.875).
func TestFakeQuantizeHand(t *testing.T) {
	w := make([]float32, 16)
	copy(w, []float32{-1, 0.99, 0.9, 0.3, -0.3, 0.0625, -0.0625, 0.01})
	want := make([]float32, 16)
	copy(want, []float32{-1, 0.875, 0.875, 0.25, -0.25, 0.125, 0, 0})
	// 0.9·8 + 8 = 15.2 → 15 → 0.875; 0.3·8 + 8 = 10.4 → 10 → 0.25;
	// ±0.0625: 8.5 → 9 and 7.5 → 8 (half away from zero, after adding the
	// zero point), so −0.0625 becomes 0, not −0.125.
	got := make([]float32, 16)
	q, err := FakeQuantize(got, w, 16, 1, LayoutNK, Config{Bits: 4, BlockSize: 16, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("w[%d] = %v: got %v, want %v", i, w[i], got[i], want[i])
		}
	}
	sat := Saturated(q, w, LayoutNK)
	for i := range w {
		if sat[i] != (i == 1) {
			t.Errorf("Saturated[%d] (w %v): got %v, want %v", i, w[i], sat[i], i == 1)
		}
	}
	// A positive extreme gives a negative scale; then the most negative
	// values saturate instead: scale −1/8, −0.95 → 7.6 + 8 → 16.
	w2 := make([]float32, 16)
	copy(w2, []float32{1, -0.95, -0.9})
	q2, err := FakeQuantize(make([]float32, 16), w2, 16, 1, LayoutNK, Config{Bits: 4, BlockSize: 16, Symmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := Saturated(q2, w2, LayoutNK); s[0] || !s[1] || s[2] {
		t.Errorf("Saturated for [1, -0.95, -0.9]: got %v, want [false true false]", s[:3])
	}
}

func TestFakeQuantizeErrors(t *testing.T) {
	w := make([]float32, 32)
	cases := []struct {
		name string
		dst  []float32
		w    []float32
		cfg  Config
	}{
		{"bits 3", make([]float32, 32), w, Config{Bits: 3, BlockSize: 32}},
		{"block 24", make([]float32, 32), w, Config{Bits: 4, BlockSize: 24}},
		{"short dst", make([]float32, 31), w, Config{Bits: 4, BlockSize: 32}},
		{"NaN", make([]float32, 32), append([]float32{float32(math.NaN())}, w[1:]...), Config{Bits: 4, BlockSize: 32}},
		{"bad STE", make([]float32, 32), w, Config{Bits: 4, BlockSize: 32, STE: 7}},
	}
	for _, c := range cases {
		_, err := FakeQuantize(c.dst, c.w, 32, 1, LayoutKN, c.cfg)
		if !errors.Is(err, numeric.ErrQuantization) {
			t.Errorf("%s: got error %v, want one wrapping numeric.ErrQuantization", c.name, err)
		}
	}
}

// TestFakeQuantNode checks the node's forward against FakeQuantize and its
// two straight-through backward rules.
func TestFakeQuantNode(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	k, n := 32, 4
	w := tensor.Must(tensor.New([]int{k, n}, randMatrix(rng, k*n, 1)))
	g := tensor.Must(tensor.New([]int{k, n}, randMatrix(rng, k*n, 1)))
	for _, ste := range []STE{STEPassThrough, STEClipped} {
		cfg := Config{Bits: 4, BlockSize: 16, Symmetric: true, STE: ste}
		f, err := NewFakeQuant("fq", cfg, LayoutKN)
		if err != nil {
			t.Fatal(err)
		}
		y, err := f.Forward(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, k*n)
		q, err := FakeQuantize(want, w.Data(), k, n, LayoutKN, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range y.Data() {
			if v != want[i] {
				t.Fatalf("%v: forward[%d]: got %v, want %v", ste, i, v, want[i])
			}
		}
		grads, err := f.Backward(ctx, g, w)
		if err != nil {
			t.Fatal(err)
		}
		sat := Saturated(q, w.Data(), LayoutKN)
		nsat := 0
		for i, v := range grads[0].Data() {
			wantG := g.Data()[i]
			if ste == STEClipped && sat[i] {
				wantG = 0
				nsat++
			}
			if v != wantG {
				t.Fatalf("%v: gradient[%d]: got %v, want %v", ste, i, v, wantG)
			}
		}
		if ste == STEClipped && nsat == 0 {
			t.Errorf("no saturated element in a random 4-bit symmetric matrix: the clipped test checks nothing")
		}
	}
	if _, err := NewFakeQuant("bad", Config{Bits: 5, BlockSize: 32}, LayoutKN); err == nil {
		t.Error("NewFakeQuant with bits 5: got nil error")
	}
	f, _ := NewFakeQuant("fq", Config{Bits: 8, BlockSize: 32}, LayoutNK)
	if _, err := f.Forward(ctx, tensor.Must(tensor.New[float32]([]int{4}, nil))); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("rank-1 input: got %v, want tensor.ErrShape", err)
	}
}
