package quant

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// roundTrip quantizes x as t and dequantizes it back.
func roundTrip(t *testing.T, typ Type, x []float32) ([]byte, []float32) {
	t.Helper()
	n, err := typ.RowBytes(len(x))
	if err != nil {
		t.Fatal(err)
	}
	q := make([]byte, n)
	if err := Quantize(typ, q, x); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(x))
	if err := Dequantize(typ, y, q); err != nil {
		t.Fatal(err)
	}
	return q, y
}

func testInputs(n int) map[string][]float32 {
	r := rand.New(rand.NewPCG(5, 6))
	in := map[string][]float32{}
	gauss, unif, pos, spiky, zero, tiny := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := 0; i < n; i++ {
		gauss[i] = float32(r.NormFloat64())
		unif[i] = float32(r.Float64()*20 - 10)
		pos[i] = float32(r.Float64()*3 + 1)
		spiky[i] = float32(r.NormFloat64() * 0.01)
		if i%97 == 0 {
			spiky[i] = 50
		}
		tiny[i] = float32(r.NormFloat64() * 1e-6)
	}
	in["gaussian"], in["uniform"], in["positive"], in["spiky"], in["zero"], in["tiny"] = gauss, unif, pos, spiky, zero, tiny
	return in
}

// TestRoundTripBoundSimple checks the per-element error bound of the 32-block
// types and Q8_K, derived from their quantizers: the rounding step plus the
// fp16 rounding of the scale (relative 2⁻¹¹ times the largest code).
func TestRoundTripBoundSimple(t *testing.T) {
	const (
		u   = 1.0 / 2048      // fp16 relative rounding
		sub = 1.0 / (1 << 25) // fp16 absolute rounding among subnormals
	)
	for name, x := range testInputs(1024) {
		for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_K} {
			_, y := roundTrip(t, typ, x)
			bs := typ.BlockSize()
			for b := 0; b < len(x); b += bs {
				xb := x[b : b+bs]
				var amax, lo, hi float64 = 0, math.Inf(1), math.Inf(-1)
				for _, v := range xb {
					amax = math.Max(amax, math.Abs(float64(v)))
					lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
				}
				var bound float64
				switch typ {
				case Q4_0: // clamp at 15 can cost a full step
					bound = amax/8*(1+8*u) + 8*sub
				case Q5_0:
					bound = amax/16*(1+16*u) + 16*sub
				case Q4_1:
					d := (hi - lo) / 15
					bound = d/2 + 15*(d*u+sub) + math.Abs(lo)*u + sub
				case Q5_1:
					d := (hi - lo) / 31
					bound = d/2 + 31*(d*u+sub) + math.Abs(lo)*u + sub
				case Q8_0:
					d := amax / 127
					bound = d/2 + 127*(d*u+sub)
				case Q8_K: // float32 scale
					bound = amax / 127 * (0.5 + 1e-5)
				}
				bound = bound*(1+1e-5) + 1e-30
				for i, v := range xb {
					if e := math.Abs(float64(v) - float64(y[b+i])); e > bound {
						t.Fatalf("%s %v: x[%d] = %v decoded as %v: error %g above bound %g", name, typ, b+i, v, y[b+i], e, bound)
					}
				}
			}
		}
	}
}

// TestRoundTripNearestLevelK checks that the K-quants pick, for every
// element, the nearest value on its sub-block's grid (the last step of
// ggml's quantizers), unless that sub-block's scale is zero.
func TestRoundTripNearestLevelK(t *testing.T) {
	for name, x := range testInputs(2048) {
		for _, typ := range []Type{Q4_K, Q5_K, Q6_K} {
			q, y := roundTrip(t, typ, x)
			for b := 0; b < len(x)/QKK; b++ {
				p := q[b*typ.BlockBytes():]
				for i := 0; i < QKK; i++ {
					step, lvl0, nlev := kGrid(typ, p, i)
					if step == 0 {
						continue
					}
					xv := float64(x[b*QKK+i])
					best := math.Inf(1)
					for l := 0; l < nlev; l++ {
						best = math.Min(best, math.Abs(xv-(lvl0+float64(l)*step)))
					}
					e := math.Abs(xv - float64(y[b*QKK+i]))
					if e > best+1e-5*math.Abs(step)*float64(nlev)+1e-30 {
						t.Fatalf("%s %v: element %d: x = %v decoded as %v (error %g), nearest grid value is %g away", name, typ, b*QKK+i, xv, y[b*QKK+i], e, best)
					}
				}
			}
		}
	}
}

// kGrid returns the grid of element i of a K-quant block: levels lvl0 +
// l·step for l < nlev.
func kGrid(typ Type, p []byte, i int) (step, lvl0 float64, nlev int) {
	h := func(o int) float64 { return float64(f16(p[o:]).Float32()) }
	if typ == Q6_K {
		sc := float64(int8(p[192+i/16]))
		return h(208) * sc, -32 * h(208) * sc, 64
	}
	var s [12]uint8
	copy(s[:], p[4:16])
	sc, m := scaleMinK4(i/32, &s)
	nlev = 16
	if typ == Q5_K {
		nlev = 32
	}
	return h(0) * float64(sc), -h(2) * float64(m), nlev
}

// TestTotalErrorGGML reproduces ggml's tests/test-quantize-fns.cpp check:
// on its synthetic data 0.1 + 2·cos(i + offset), sqrt(Σ err²)/n must stay
// under MAX_QUANTIZATION_TOTAL_ERROR (0.002), or the larger bound ggml
// allows the 2-bit, 3-bit and ternary types.
func TestTotalErrorGGML(t *testing.T) {
	const n = 32 * 128
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + 2*math.Cos(float64(i)))
	}
	limit := map[Type]float64{Q2_K: 0.0075, Q3_K: 0.004, TQ1_0: 0.01, TQ2_0: 0.01} // ggml's _2BITS, _3BITS, _TERNARY
	for _, typ := range []Type{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K, Q2_K, Q3_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0} {
		_, y := roundTrip(t, typ, x)
		var s float64
		for i := range x {
			d := float64(x[i]) - float64(y[i])
			s += d * d
		}
		got := math.Sqrt(s) / n
		want, ok := limit[typ]
		if !ok {
			want = 0.002
		}
		if got > want {
			t.Errorf("%v: total error %g, want ≤ %g", typ, got, want)
		}
		t.Logf("%v: total error %.6f", typ, got)
	}
}

// TestQuantizeExact checks hand-computed encodings.
func TestQuantizeExact(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[16], x[5] = 3.5, 0.5, -1
	// Q4_0: v = 3.5 → d = −0.4375 (0xB700); q = min(15, trunc(x/d + 8.5)).
	var b BlockQ4_0
	b.Quantize(x)
	if b.D.Bits() != 0xB700 {
		t.Errorf("Q4_0 d: got %#04x, want 0xb700", b.D.Bits())
	}
	// x0 = 3.5/−0.4375 = −8 → 0; x16 = 0.5/−0.4375+8.5 = 7.357 → 7; x5: 2.2857+8.5 → 10; 0 → 8.
	if b.Qs[0] != 0x70 || b.Qs[5] != 0x8a || b.Qs[1] != 0x88 {
		t.Errorf("Q4_0 qs: got %x, want 70 at 0, 8a at 5, 88 elsewhere", b.Qs)
	}
	// Q8_0: amax = 3.5, d = 3.5/127; q = round(x·127/3.5): 127, 18 (0.5·36.29 = 18.14), −36 (−36.29).
	var c BlockQ8_0
	c.Quantize(x)
	if c.Qs[0] != 127 || c.Qs[16] != 18 || c.Qs[5] != -36 || c.Qs[1] != 0 {
		t.Errorf("Q8_0 qs: got %v", c.Qs)
	}
	// Q8_K: v = 3.5, iscale = −127/3.5, q = min(127, rne(−x·36.29)) = −127, −18, 36; bsums.
	y := make([]float32, 256)
	copy(y, x)
	var k BlockQ8_K
	k.Quantize(y)
	if k.Qs[0] != -127 || k.Qs[16] != -18 || k.Qs[5] != 36 || k.Bsums[0] != -91 || k.Bsums[1] != -18 || k.Bsums[2] != 0 {
		t.Errorf("Q8_K: got qs[0,5,16] = %d %d %d, bsums[:3] = %v", k.Qs[0], k.Qs[5], k.Qs[16], k.Bsums[:3])
	}
	if want := float32(-3.5 / 127); math.Abs(float64(k.D-want)) > 1e-9 {
		t.Errorf("Q8_K d: got %v, want %v", k.D, want)
	}
}

func TestNearestInt(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want int
	}{{0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {0.49, 0}, {-3.7, -4}, {4194303, 4194303}, {-4194303, -4194303}} {
		if got := nearestInt(c.in); got != c.want {
			t.Errorf("nearestInt(%v): got %d, want %d", c.in, got, c.want)
		}
	}
}

func TestRowErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		call func() error
	}{
		{"unsupported", ErrType, func() error { return Dequantize(Q8_1, make([]float32, 32), make([]byte, 36)) }},
		{"decode only", ErrType, func() error { return Quantize(IQ2_XXS, make([]byte, 66), make([]float32, 256)) }},
		{"unknown", ErrType, func() error { return Quantize(Type(4), make([]byte, 18), make([]float32, 32)) }},
		{"partial block", ErrSize, func() error { return Dequantize(Q4_0, make([]float32, 31), make([]byte, 18)) }},
		{"short bytes", ErrSize, func() error { return Dequantize(Q4_K, make([]float32, 256), make([]byte, 143)) }},
		{"long bytes", ErrSize, func() error { return Quantize(Q8_0, make([]byte, 35), make([]float32, 32)) }},
		{"dot rows", ErrSize, func() error { return DotRows(Q8_0, make([]float32, 2), make([]float32, 32), make([]byte, 34)) }},
	}
	for _, c := range cases {
		if err := c.call(); !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
	}
}

func TestDotRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rows, k = 3, 512
	for _, typ := range []Type{F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K} {
		w := make([]float32, rows*k)
		x := make([]float32, k)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		q, wd := roundTrip(t, typ, w)
		got := make([]float32, rows)
		if err := DotRows(typ, got, x, q); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < rows; i++ {
			var want float64
			for j := 0; j < k; j++ {
				want += float64(wd[i*k+j]) * float64(x[j])
			}
			if math.Abs(float64(got[i])-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%v row %d: got %v, want %v", typ, i, got[i], want)
			}
		}
	}
}

func TestFloatTypes(t *testing.T) {
	x := []float32{1, -2.5, 65504, 1e-8, float32(math.Inf(-1)), 3.14159}
	for _, c := range []struct {
		typ  Type
		want []float32
	}{
		{F32, x},
		{F16, []float32{1, -2.5, 65504, 0, float32(math.Inf(-1)), 3.140625}},
		{BF16, []float32{1, -2.5, 65536, 1.0011718e-08, float32(math.Inf(-1)), 3.140625}},
	} {
		q, y := roundTrip(t, c.typ, x)
		for i := range y {
			if y[i] != c.want[i] {
				t.Errorf("%v: element %d (%v): got %v, want %v (bytes %x)", c.typ, i, x[i], y[i], c.want[i], q)
			}
		}
	}
	p := make([]byte, 4)
	binary.LittleEndian.PutUint32(p, math.Float32bits(1.5))
	y := make([]float32, 1)
	if err := Dequantize(F32, y, p); err != nil || y[0] != 1.5 {
		t.Errorf("F32 decode: got %v, %v", y, err)
	}
}

func TestTypeGeometry(t *testing.T) {
	for _, c := range []struct {
		typ       Type
		name      string
		bs, bytes int
		bpw       float64
	}{
		{F32, "F32", 1, 4, 32}, {Q4_0, "Q4_0", 32, 18, 4.5}, {Q5_1, "Q5_1", 32, 24, 6}, {Q8_0, "Q8_0", 32, 34, 8.5},
		{Q4_K, "Q4_K", 256, 144, 4.5}, {Q5_K, "Q5_K", 256, 176, 5.5}, {Q6_K, "Q6_K", 256, 210, 6.5625}, {Q8_K, "Q8_K", 256, 292, 9.125},
		{BF16, "BF16", 1, 2, 16}, {IQ4_NL, "IQ4_NL", 32, 18, 4.5},
		{Q2_K, "Q2_K", 256, 84, 2.625}, {Q3_K, "Q3_K", 256, 110, 3.4375}, {IQ4_XS, "IQ4_XS", 256, 136, 4.25},
		{IQ2_XXS, "IQ2_XXS", 256, 66, 2.0625}, {IQ2_XS, "IQ2_XS", 256, 74, 2.3125}, {IQ2_S, "IQ2_S", 256, 82, 2.5625},
		{IQ3_XXS, "IQ3_XXS", 256, 98, 3.0625}, {IQ3_S, "IQ3_S", 256, 110, 3.4375}, {IQ1_S, "IQ1_S", 256, 50, 1.5625},
		{IQ1_M, "IQ1_M", 256, 56, 1.75}, {TQ1_0, "TQ1_0", 256, 54, 1.6875}, {TQ2_0, "TQ2_0", 256, 66, 2.0625},
	} {
		if c.typ.String() != c.name || c.typ.BlockSize() != c.bs || c.typ.BlockBytes() != c.bytes || c.typ.BitsPerWeight() != c.bpw {
			t.Errorf("%d: got %s %d %d %v, want %s %d %d %v", uint32(c.typ), c.typ, c.typ.BlockSize(), c.typ.BlockBytes(), c.typ.BitsPerWeight(), c.name, c.bs, c.bytes, c.bpw)
		}
		if p, err := ParseType(c.name); err != nil || p != c.typ {
			t.Errorf("ParseType(%q): got %v, %v", c.name, p, err)
		}
	}
	if Type(4).Known() || Type(4).String() != "type(4)" {
		t.Errorf("Type(4): got known %v, %q", Type(4).Known(), Type(4))
	}
}
