package numeric

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNewQuantizationConfigErrors(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name      string
		bits      int
		scale     float32
		zp        int
		symmetric bool
		substr    string
	}{
		{"zero scale", 8, 0, 128, true, "scale 0 must be finite and > 0"},
		{"negative scale", 8, -0.1, 0, false, "scale -0.1"},
		{"NaN scale", 8, nan, 0, false, "scale NaN"},
		{"Inf scale", 8, inf, 0, false, "scale +Inf"},
		{"zp -1", 8, 1, -1, false, "8-bit zero point -1 outside [0, 255]"},
		{"zp 256", 8, 1, 256, false, "zero point 256 outside [0, 255]"},
		{"4-bit zp 16", 4, 1, 16, false, "4-bit zero point 16 outside [0, 15]"},
		{"symmetric 8-bit zp 127", 8, 1, 127, true, "symmetric 8-bit quantization needs zero point 128, got 127"},
		{"symmetric 4-bit zp 128", 4, 1, 128, true, "zero point 128 outside [0, 15]"},
		{"symmetric 4-bit zp 7", 4, 1, 7, true, "needs zero point 8, got 7"},
		{"symmetric 2-bit zp 1", 2, 1, 1, true, "needs zero point 2, got 1"},
		{"bits 3", 3, 1, 4, true, "bits 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewQuantizationConfigBits(tc.bits, tc.scale, tc.zp, tc.symmetric)
			if err == nil || c != nil {
				t.Fatalf("NewQuantizationConfigBits(%d, %v, %d, %v) = %v, nil; want error %q", tc.bits, tc.scale, tc.zp, tc.symmetric, c, tc.substr)
			}
			if !errors.Is(err, ErrQuantization) || !strings.HasPrefix(err.Error(), "numeric: ") || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("error %q, want numeric: ... %q wrapping ErrQuantization", err, tc.substr)
			}
		})
	}
	for _, ok := range []struct {
		bits, zp int
		sym      bool
	}{{8, 128, true}, {4, 8, true}, {2, 2, true}, {8, 0, false}, {8, 255, false}, {4, 15, false}, {2, 3, false}} {
		c, err := NewQuantizationConfigBits(ok.bits, 0.5, ok.zp, ok.sym)
		if err != nil {
			t.Errorf("NewQuantizationConfigBits(%d, 0.5, %d, %v): %v", ok.bits, ok.zp, ok.sym, err)
			continue
		}
		if c.Bits() != ok.bits || c.ZeroPoint() != ok.zp || c.Symmetric() != ok.sym || c.Scale() != 0.5 || int(c.MaxCode()) != 1<<ok.bits-1 {
			t.Errorf("accessors of %v disagree with (%d, 0.5, %d, %v)", c, ok.bits, ok.zp, ok.sym)
		}
	}
}

func TestQuantizeONNXSemantics(t *testing.T) {
	c8, _ := NewQuantizationConfig(1, 128, true)
	a8, _ := NewQuantizationConfig(0.5, 10, false)
	c4, _ := NewQuantizationConfigBits(4, 0.25, 8, true)
	c2, _ := NewQuantizationConfigBits(2, 1, 2, true)
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		c    *QuantizationConfig
		x    float32
		want uint8
	}{
		// Half to even (ONNX QuantizeLinear examples): 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
		{c8, 2.5, 130}, {c8, 3.5, 132}, {c8, -2.5, 126}, {c8, -3.5, 124}, {c8, 0.5, 128}, {c8, 1.5, 130},
		{c8, 2.4999998, 130}, {c8, 2.5000002, 131}, {c8, 0, 128}, {c8, float32(math.Copysign(0, -1)), 128},
		// Saturation.
		{c8, 127, 255}, {c8, 127.4, 255}, {c8, 128, 255}, {c8, 1e30, 255}, {c8, -128, 0}, {c8, -129, 0}, {c8, -1e30, 0},
		// Non-finite: NaN -> zero point, infinities saturate.
		{c8, nan, 128}, {c8, inf, 255}, {c8, -inf, 0},
		// Asymmetric: x/0.5 + 10.
		{a8, 1.25, 12}, {a8, 1.75, 14}, {a8, -5, 0}, {a8, -4.75, 0}, {a8, -4.5, 1}, {a8, 122.5, 255}, {a8, nan, 10},
		// 4 bits: range [0, 15], 9.2 steps above zero saturate at 15 (int4 9.2 -> 7).
		{c4, 2.3, 15}, {c4, 1.75, 15}, {c4, 0.375, 10}, {c4, 0.625, 10}, {c4, -2, 0}, {c4, -1.875, 0}, {c4, -1.75, 1},
		// 2 bits: range [0, 3].
		{c2, 0.5, 2}, {c2, 1, 3}, {c2, 5, 3}, {c2, -1.5, 0}, {c2, -2.5, 0}, {c2, -0.6, 1},
	}
	for _, tc := range tests {
		if got := tc.c.Quantize(tc.x); got != tc.want {
			t.Errorf("%v Quantize(%v) = %d, want %d", tc.c, tc.x, got, tc.want)
		}
	}
	// x/scale is a float32 division: float32(0.35)/float32(0.1) rounds to
	// exactly 3.5 (-> 4 by half to even), although the float64 quotient of
	// the same two values is 3.4999999 (-> 3).
	c, _ := NewQuantizationConfig(0.1, 128, true)
	if got := c.Quantize(0.3); got != 131 {
		t.Errorf("Quantize(0.3) with scale 0.1 = %d, want 131", got)
	}
	if got := c.Quantize(0.35); got != 132 {
		t.Errorf("Quantize(0.35) with scale 0.1 = %d, want 132", got)
	}
}

func TestDequantizeAndRoundTrip(t *testing.T) {
	c, _ := NewQuantizationConfig(0.1, 128, true)
	for _, tc := range []struct {
		q    uint8
		want float32
	}{{128, 0}, {129, 0.1}, {0, -12.8}, {255, 12.7}, {118, -1}} {
		if got := c.Dequantize(tc.q); got != float32(int(tc.q)-128)*float32(0.1) || math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("Dequantize(%d) = %v, want %v", tc.q, got, tc.want)
		}
	}
	// Every in-range value comes back within half a step.
	for _, cfg := range []*QuantizationConfig{c, mustConfig(t, 4, 0.25, 8, true), mustConfig(t, 8, 0.02, 3, false), mustConfig(t, 2, 1.5, 1, false)} {
		lo := cfg.Dequantize(0)
		hi := cfg.Dequantize(cfg.MaxCode())
		for i := 0; i <= 1000; i++ {
			x := lo + (hi-lo)*float32(i)/1000
			if d := math.Abs(float64(cfg.Dequantize(cfg.Quantize(x)) - x)); d > float64(cfg.Scale())*0.5*(1+1e-5) {
				t.Fatalf("%v: |dequant(quant(%v)) - x| = %g > scale/2", cfg, x, d)
			}
		}
		// Codes round-trip exactly.
		for q := 0; q <= int(cfg.MaxCode()); q++ {
			if got := cfg.Quantize(cfg.Dequantize(uint8(q))); got != uint8(q) {
				t.Errorf("%v: Quantize(Dequantize(%d)) = %d", cfg, q, got)
			}
		}
	}
}

func mustConfig(t *testing.T, bits int, scale float32, zp int, sym bool) *QuantizationConfig {
	t.Helper()
	c, err := NewQuantizationConfigBits(bits, scale, zp, sym)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestQuantizeSlice(t *testing.T) {
	c, _ := NewQuantizationConfig(0.5, 100, false)
	src := []float32{0, 0.25, 0.75, -1, 1000, float32(math.NaN())}
	dst := make([]uint8, len(src))
	if err := c.QuantizeSlice(dst, src); err != nil {
		t.Fatal(err)
	}
	want := []uint8{100, 100, 102, 98, 255, 100}
	for i := range want {
		if dst[i] != want[i] {
			t.Errorf("QuantizeSlice[%d] (%v) = %d, want %d", i, src[i], dst[i], want[i])
		}
	}
	back := make([]float32, len(dst))
	if err := c.DequantizeSlice(back, dst); err != nil {
		t.Fatal(err)
	}
	wantBack := []float32{0, 0, 1, -1, 77.5, 0}
	if !equalF32(back, wantBack) {
		t.Errorf("DequantizeSlice = %v, want %v", back, wantBack)
	}
	if err := c.QuantizeSlice(dst[:2], src); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "dst has 2 elements, src 6") {
		t.Errorf("QuantizeSlice length mismatch: %v", err)
	}
	if err := c.DequantizeSlice(back, dst[:3]); !errors.Is(err, ErrQuantization) || !strings.Contains(err.Error(), "dst has 6 elements, src 3") {
		t.Errorf("DequantizeSlice length mismatch: %v", err)
	}
	if a := testing.AllocsPerRun(10, func() { _ = c.QuantizeSlice(dst, src); _ = c.DequantizeSlice(back, dst) }); a != 0 {
		t.Errorf("slice forms allocate %v times per call, want 0", a)
	}
	if s := c.String(); s != "uint8 scale=0.5 zp=100 asymmetric" {
		t.Errorf("String() = %q", s)
	}
}
