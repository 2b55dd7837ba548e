package numeric

import (
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
)

// refFormat describes a binary float format independently of the code under
// test: values are built with math.Ldexp from the fields, and rounding picks
// the nearest entry of the sorted table of all finite values, comparing
// distances exactly with math/big.
type refFormat struct {
	name       string
	eBits      uint
	mBits      uint
	bias       int
	finiteOnly bool // E4M3FN: no Inf, S.1111.111 is NaN, saturates

	enc32 func(float32) uint16
	enc64 func(float64) uint16
	dec32 func(uint16) float32
	dec64 func(uint16) float64

	vals []float64 // non-negative finite values, ascending, index = bits
	inf  float64   // the value that rounds like Inf (max + ulp), if any

	valsInf []float64 // vals, then inf if the format has one
}

func (f *refFormat) nbits() uint     { return 1 + f.eBits + f.mBits }
func (f *refFormat) signBit() uint16 { return 1 << (f.eBits + f.mBits) }
func (f *refFormat) quietBit() uint16 {
	if f.finiteOnly {
		return 0
	}
	return 1 << (f.mBits - 1)
}

// isNaN reports whether bits encode a NaN, from the format definition.
func (f *refFormat) isNaN(b uint16) bool {
	mag := b &^ f.signBit()
	emax := uint16(1)<<f.eBits - 1
	e, m := mag>>f.mBits, mag&(1<<f.mBits-1)
	if f.finiteOnly {
		return e == emax && m == 1<<f.mBits-1
	}
	return e == emax && m != 0
}

// decode returns the value of bits (NaN for NaNs).
func (f *refFormat) decode(b uint16) float64 {
	neg := b&f.signBit() != 0
	mag := b &^ f.signBit()
	emax := int(1)<<f.eBits - 1
	e, m := int(mag>>f.mBits), float64(mag&(1<<f.mBits-1))
	var v float64
	switch {
	case f.isNaN(b):
		return math.NaN()
	case !f.finiteOnly && e == emax:
		v = math.Inf(1)
	case e == 0:
		v = math.Ldexp(m, 1-f.bias-int(f.mBits))
	default:
		v = math.Ldexp(1+m/float64(uint(1)<<f.mBits), e-f.bias)
	}
	if neg {
		return -v
	}
	return v
}

func (f *refFormat) init() {
	for b := uint16(0); b < f.signBit(); b++ {
		v := f.decode(b)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			break
		}
		f.vals = append(f.vals, v)
	}
	if !f.finiteOnly {
		n := len(f.vals)
		f.inf = f.vals[n-1] + (f.vals[n-1] - f.vals[n-2])
	}
	f.valsInf = f.vals
	if !f.finiteOnly {
		f.valsInf = append(f.vals[:len(f.vals):len(f.vals)], f.inf)
	}
}

// encode rounds x to the format: nearest, ties to the even encoding.
func (f *refFormat) encode(x float64) uint16 {
	if math.IsNaN(x) {
		panic("encode NaN")
	}
	var sign uint16
	if math.Signbit(x) {
		sign = f.signBit()
		x = -x
	}
	n := len(f.vals)
	if x > f.vals[n-1] {
		if f.finiteOnly {
			return sign | uint16(n-1) // saturate
		}
		if math.IsInf(x, 1) || exactCmp(x-0, f.vals[n-1], f.inf) >= 0 {
			return sign | uint16(n) // Inf; its encoding follows the max
		}
		return sign | uint16(n-1)
	}
	i := sort.SearchFloat64s(f.vals, x) // vals[i] >= x
	if f.vals[i] == x {
		return sign | uint16(i)
	}
	switch c := exactCmp(x, f.vals[i-1], f.vals[i]); {
	case c < 0:
		return sign | uint16(i-1)
	case c > 0:
		return sign | uint16(i)
	case i%2 == 0:
		return sign | uint16(i)
	default:
		return sign | uint16(i-1)
	}
}

// exactCmp compares x with the midpoint of lo and hi exactly: -1 if x is
// nearer lo, +1 if nearer hi, 0 on a tie.
func exactCmp(x, lo, hi float64) int {
	const prec = 64 // lo+hi of two format values is exact; Cmp is exact
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	mid := new(big.Float).SetPrec(prec).SetFloat64(lo)
	mid.Add(mid, new(big.Float).SetPrec(prec).SetFloat64(hi))
	mid.SetMantExp(mid, -1) // halve exactly
	return bx.Cmp(mid)
}

func refFormats() []*refFormat {
	fs := []*refFormat{
		{name: "Float16", eBits: 5, mBits: 10, bias: 15,
			enc32: func(f float32) uint16 { return Float16FromFloat32(f).Bits() },
			enc64: func(f float64) uint16 { return Float16FromFloat64(f).Bits() },
			dec32: func(b uint16) float32 { return Float16FromBits(b).Float32() },
			dec64: func(b uint16) float64 { return Float16FromBits(b).Float64() }},
		{name: "BFloat16", eBits: 8, mBits: 7, bias: 127,
			enc32: func(f float32) uint16 { return BFloat16FromFloat32(f).Bits() },
			enc64: func(f float64) uint16 { return BFloat16FromFloat64(f).Bits() },
			dec32: func(b uint16) float32 { return BFloat16FromBits(b).Float32() },
			dec64: func(b uint16) float64 { return BFloat16FromBits(b).Float64() }},
		{name: "Float8E4M3FN", eBits: 4, mBits: 3, bias: 7, finiteOnly: true,
			enc32: func(f float32) uint16 { return uint16(Float8E4M3FNFromFloat32(f).Bits()) },
			enc64: func(f float64) uint16 { return uint16(Float8E4M3FNFromFloat64(f).Bits()) },
			dec32: func(b uint16) float32 { return Float8E4M3FNFromBits(uint8(b)).Float32() },
			dec64: func(b uint16) float64 { return Float8E4M3FNFromBits(uint8(b)).Float64() }},
		{name: "Float8E5M2", eBits: 5, mBits: 2, bias: 15,
			enc32: func(f float32) uint16 { return uint16(Float8E5M2FromFloat32(f).Bits()) },
			enc64: func(f float64) uint16 { return uint16(Float8E5M2FromFloat64(f).Bits()) },
			dec32: func(b uint16) float32 { return Float8E5M2FromBits(uint8(b)).Float32() },
			dec64: func(b uint16) float64 { return Float8E5M2FromBits(uint8(b)).Float64() }},
	}
	for _, f := range fs {
		f.init()
	}
	return fs
}

// TestDecodeAll checks Float32 and Float64 against the reference decoder
// for every bit pattern, including the sign of zero and of NaN.
func TestDecodeAll(t *testing.T) {
	for _, f := range refFormats() {
		t.Run(f.name, func(t *testing.T) {
			for i := 0; i < 1<<f.nbits(); i++ {
				b := uint16(i)
				want := f.decode(b)
				got32, got64 := f.dec32(b), f.dec64(b)
				if math.IsNaN(want) {
					neg := b&f.signBit() != 0
					if !math.IsNaN(float64(got32)) || !math.IsNaN(got64) ||
						math.Signbit(float64(got32)) != neg || math.Signbit(got64) != neg {
						t.Fatalf("decode(%#x): got %v, %v, want NaN with sign %v", b, got32, got64, neg)
					}
					continue
				}
				if math.Float64bits(float64(got32)) != math.Float64bits(want) || math.Float64bits(got64) != math.Float64bits(want) {
					t.Fatalf("decode(%#x): got %v (float32), %v (float64), want %v", b, got32, got64, want)
				}
			}
		})
	}
}

// TestRoundTripAll converts every bit pattern to float32 and float64 and
// back. Non-NaNs come back bit for bit; NaNs come back as NaNs with the same
// sign and payload, with the quiet bit set.
func TestRoundTripAll(t *testing.T) {
	for _, f := range refFormats() {
		t.Run(f.name, func(t *testing.T) {
			for i := 0; i < 1<<f.nbits(); i++ {
				b := uint16(i)
				want := b
				if f.isNaN(b) {
					want = b | f.quietBit()
				}
				if got := f.enc32(f.dec32(b)); got != want {
					t.Errorf("from32(to32(%#x)): got %#x, want %#x", b, got, want)
				}
				if got := f.enc64(f.dec64(b)); got != want {
					t.Errorf("from64(to64(%#x)): got %#x, want %#x", b, got, want)
				}
			}
		})
	}
}

// float32Cases returns inputs that stress rounding: every representable
// value, every midpoint between neighbours and the float32s on either side
// of it, the overflow thresholds, subnormals, and random bit patterns.
func float32Cases(f *refFormat, rng *rand.Rand) []float32 {
	var xs []float32
	add := func(v float64) {
		x := float32(v)
		if float64(x) != v {
			return // not a float32
		}
		xs = append(xs, x, -x,
			math.Nextafter32(x, float32(math.Inf(1))), math.Nextafter32(x, float32(math.Inf(-1))))
	}
	vs := append(append([]float64{}, f.vals...), 2*f.vals[len(f.vals)-1])
	if !f.finiteOnly {
		vs = append(vs, f.inf)
	}
	for i, v := range vs {
		add(v)
		if i > 0 {
			add((vs[i-1] + v) / 2)
		}
	}
	add(math.MaxFloat32)
	add(math.SmallestNonzeroFloat32)
	add(math.Float64frombits(0x3810000000000000)) // float32 min normal
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)))
	for range 100000 {
		x := math.Float32frombits(rng.Uint32())
		if x != x {
			continue
		}
		xs = append(xs, x)
	}
	// Random values within the format's range, where most rounding happens.
	max := f.vals[len(f.vals)-1]
	for range 50000 {
		xs = append(xs, float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(int(math.Log2(max))+30)-28)))
	}
	return xs
}

func TestFromFloat32Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range refFormats() {
		t.Run(f.name, func(t *testing.T) {
			fails := 0
			for _, x := range float32Cases(f, rng) {
				want := f.encode(float64(x))
				if got := f.enc32(x); got != want {
					t.Errorf("from32(%v = %#x): got %#x (%v), want %#x (%v)",
						x, math.Float32bits(x), got, f.decode(got), want, f.decode(want))
					fails++
				}
				if got := f.enc64(float64(x)); got != want {
					t.Errorf("from64(%v): got %#x, want %#x", x, got, want)
					fails++
				}
				if fails > 20 {
					t.Fatal("too many failures")
				}
			}
		})
	}
}

// TestFromFloat64Reference uses float64 inputs with bits beyond float32's
// precision, where rounding through float32 first would round twice.
func TestFromFloat64Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range refFormats() {
		t.Run(f.name, func(t *testing.T) {
			var xs []float64
			for i := 1; i < len(f.vals); i++ {
				mid := (f.vals[i-1] + f.vals[i]) / 2
				for _, d := range []float64{1e-9, 1e-13, 1e-16} {
					xs = append(xs, mid*(1+d), mid*(1-d))
				}
				xs = append(xs, math.Nextafter(mid, 0), math.Nextafter(mid, 1))
			}
			for range 50000 {
				xs = append(xs, math.Float64frombits(rng.Uint64()&^(0x7ff<<52)|uint64(1023-f.bias-12+rng.IntN(f.bias*2+24))<<52))
			}
			xs = append(xs, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), 1e300, -1e-300)
			fails := 0
			for _, x := range xs {
				for _, x := range []float64{x, -x} {
					if want, got := f.encode(x), f.enc64(x); got != want {
						t.Errorf("from64(%v = %#x): got %#x, want %#x", x, math.Float64bits(x), got, want)
						fails++
					}
				}
				if fails > 20 {
					t.Fatal("too many failures")
				}
			}
		})
	}
}

func TestNaNConversions(t *testing.T) {
	nan32 := []float32{float32(math.NaN()), math.Float32frombits(0xffc00000), math.Float32frombits(0x7f800001), math.Float32frombits(0xff812345)}
	for _, f := range refFormats() {
		for _, x := range nan32 {
			for _, got := range []uint16{f.enc32(x), f.enc64(float64(x))} {
				if !f.isNaN(got) {
					t.Errorf("%s: from(%#x): got %#x, want a NaN", f.name, math.Float32bits(x), got)
				}
				if neg := got&f.signBit() != 0; neg != math.Signbit(float64(x)) {
					t.Errorf("%s: from(%#x): got %#x, want sign %v", f.name, math.Float32bits(x), got, !neg)
				}
				if q := f.quietBit(); got&q != q {
					t.Errorf("%s: from(%#x): got %#x, want the quiet bit set", f.name, math.Float32bits(x), got)
				}
			}
		}
	}
}

func TestKnownConstants(t *testing.T) {
	third := float32(1.0 / 3)
	tests := []struct {
		name string
		got  uint16
		want uint16
		val  float64 // decoded value of want
	}{
		{"f16 max", Float16FromFloat32(65504).Bits(), 0x7bff, 65504},
		{"f16 65519 rounds to max", Float16FromFloat32(65519).Bits(), 0x7bff, 65504},
		{"f16 65520 overflows", Float16FromFloat32(65520).Bits(), 0x7c00, math.Inf(1)},
		{"f16 -65520 overflows", Float16FromFloat64(-65520).Bits(), 0xfc00, math.Inf(-1)},
		{"f16 min subnormal", Float16FromFloat32(0x1p-24).Bits(), 0x0001, 0x1p-24},
		{"f16 half min subnormal ties to 0", Float16FromFloat32(0x1p-25).Bits(), 0x0000, 0},
		{"f16 above half min subnormal", Float16FromFloat64(0x1.0000000000001p-25).Bits(), 0x0001, 0x1p-24},
		{"f16 1.5 min subnormal ties to 2", Float16FromFloat32(0x3p-25).Bits(), 0x0002, 0x1p-23},
		{"f16 subnormal carries to normal", Float16FromFloat32(0x1.ffcp-15).Bits(), 0x0400, 0x1p-14},
		{"f16 min normal", Float16FromFloat32(0x1p-14).Bits(), 0x0400, 0x1p-14},
		{"f16 1/3", Float16FromFloat32(third).Bits(), 0x3555, 0x1.554p-2},
		{"f16 1", Float16FromFloat32(1).Bits(), 0x3c00, 1},
		{"f16 -2", Float16FromFloat32(-2).Bits(), 0xc000, -2},
		{"f16 1+2^-11 ties to even", Float16FromFloat32(1 + 0x1p-11).Bits(), 0x3c00, 1},
		{"f16 1+3·2^-11 ties to even", Float16FromFloat32(1 + 0x3p-11).Bits(), 0x3c02, 1 + 0x1p-9},
		{"f16 carry into exponent", Float16FromFloat32(2 - 0x1p-12).Bits(), 0x4000, 2},
		{"f16 -0", Float16FromFloat32(float32(math.Copysign(0, -1))).Bits(), 0x8000, 0},
		// 1 + 2^-11 + 2^-40 is above the midpoint of 1 and 1+2^-10, but
		// float32 rounds it to the midpoint, which then ties to even (1).
		{"f16 from float64 rounds once", Float16FromFloat64(1 + 0x1p-11 + 0x1p-40).Bits(), 0x3c01, 1 + 0x1p-10},
		{"f16 via float32 rounds twice", Float16FromFloat32(float32(1 + 0x1p-11 + 0x1p-40)).Bits(), 0x3c00, 1},
		{"bf16 1/3", BFloat16FromFloat32(third).Bits(), 0x3eab, 0x1.56p-2},
		{"bf16 1/3 from float64", BFloat16FromFloat64(1.0 / 3).Bits(), 0x3eab, 0x1.56p-2},
		{"bf16 max", BFloat16FromFloat32(math.MaxFloat32).Bits(), 0x7f80, math.Inf(1)},
		{"bf16 max finite", BFloat16FromFloat64(0x1.fep127).Bits(), 0x7f7f, 0x1.fep127},
		{"bf16 float32 min subnormal ties to 0", BFloat16FromFloat32(math.SmallestNonzeroFloat32).Bits(), 0x0000, 0},
		{"bf16 1+2^-8 ties to even", BFloat16FromFloat32(1 + 0x1p-8).Bits(), 0x3f80, 1},
		{"bf16 from float64 rounds once", BFloat16FromFloat64(1 + 0x1p-8 + 0x1p-40).Bits(), 0x3f81, 1 + 0x1p-7},
		{"e4m3 max", uint16(Float8E4M3FNFromFloat32(448).Bits()), 0x7e, 448},
		{"e4m3 464 saturates", uint16(Float8E4M3FNFromFloat32(464).Bits()), 0x7e, 448},
		{"e4m3 1e6 saturates", uint16(Float8E4M3FNFromFloat32(1e6).Bits()), 0x7e, 448},
		{"e4m3 +Inf saturates", uint16(Float8E4M3FNFromFloat32(float32(math.Inf(1))).Bits()), 0x7e, 448},
		{"e4m3 -Inf saturates", uint16(Float8E4M3FNFromFloat64(math.Inf(-1)).Bits()), 0xfe, -448},
		{"e4m3 NaN", uint16(Float8E4M3FNFromFloat64(math.NaN()).Bits()), 0x7f, math.NaN()},
		{"e4m3 min subnormal", uint16(Float8E4M3FNFromFloat32(0x1p-9).Bits()), 0x01, 0x1p-9},
		{"e4m3 1", uint16(Float8E4M3FNFromFloat32(1).Bits()), 0x38, 1},
		{"e4m3 0.3", uint16(Float8E4M3FNFromFloat32(0.3).Bits()), 0x2a, 0.3125},
		{"e5m2 max", uint16(Float8E5M2FromFloat32(57344).Bits()), 0x7b, 57344},
		{"e5m2 61439 rounds to max", uint16(Float8E5M2FromFloat32(61439).Bits()), 0x7b, 57344},
		{"e5m2 61440 overflows", uint16(Float8E5M2FromFloat32(61440).Bits()), 0x7c, math.Inf(1)},
		{"e5m2 -Inf", uint16(Float8E5M2FromFloat32(float32(math.Inf(-1))).Bits()), 0xfc, math.Inf(-1)},
		{"e5m2 min subnormal", uint16(Float8E5M2FromFloat32(0x1p-16).Bits()), 0x01, 0x1p-16},
		{"e5m2 1", uint16(Float8E5M2FromFloat32(1).Bits()), 0x3c, 1},
	}
	fs := refFormats()
	dec := map[string]*refFormat{"f16": fs[0], "bf16": fs[1], "e4m3": fs[2], "e5m2": fs[3]}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, tt.got, tt.want)
		}
		prefix, _, _ := strings.Cut(tt.name, " ")
		f := dec[prefix]
		if v := f.dec64(tt.want); v != tt.val && !(math.IsNaN(v) && math.IsNaN(tt.val)) {
			t.Errorf("%s: %#x decodes to %v, want %v", tt.name, tt.want, v, tt.val)
		}
	}
}

func TestPredicates(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h, b := Float16FromBits(uint16(i)), BFloat16FromBits(uint16(i))
		if got, want := h.IsNaN(), math.IsNaN(h.Float64()); got != want {
			t.Fatalf("Float16(%#x).IsNaN: got %v, want %v", i, got, want)
		}
		if got, want := b.IsNaN(), math.IsNaN(b.Float64()); got != want {
			t.Fatalf("BFloat16(%#x).IsNaN: got %v, want %v", i, got, want)
		}
		for _, s := range []int{-1, 0, 1} {
			if got, want := h.IsInf(s), math.IsInf(h.Float64(), s); got != want {
				t.Fatalf("Float16(%#x).IsInf(%d): got %v, want %v", i, s, got, want)
			}
			if got, want := b.IsInf(s), math.IsInf(b.Float64(), s); got != want {
				t.Fatalf("BFloat16(%#x).IsInf(%d): got %v, want %v", i, s, got, want)
			}
		}
	}
	for i := 0; i < 256; i++ {
		e4, e5 := Float8E4M3FNFromBits(uint8(i)), Float8E5M2FromBits(uint8(i))
		if got, want := e4.IsNaN(), math.IsNaN(e4.Float64()); got != want {
			t.Fatalf("Float8E4M3FN(%#x).IsNaN: got %v, want %v", i, got, want)
		}
		if got, want := e5.IsNaN(), math.IsNaN(e5.Float64()); got != want {
			t.Fatalf("Float8E5M2(%#x).IsNaN: got %v, want %v", i, got, want)
		}
		for _, s := range []int{-1, 0, 1} {
			if got, want := e5.IsInf(s), math.IsInf(e5.Float64(), s); got != want {
				t.Fatalf("Float8E5M2(%#x).IsInf(%d): got %v, want %v", i, s, got, want)
			}
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Float16FromFloat32(65504).String(), "65504"},
		{Float16FromFloat64(0.1).String(), "0.1"},
		{Float16FromFloat64(1.0 / 3).String(), "0.3333"},
		{Float16FromFloat32(-2.5).String(), "-2.5"},
		{Float16FromBits(0x0001).String(), "6e-08"},
		{Float16FromBits(0x7c00).String(), "+Inf"},
		{Float16FromBits(0xfc00).String(), "-Inf"},
		{Float16FromBits(0x7e00).String(), "NaN"},
		{Float16FromBits(0x8000).String(), "-0"},
		{BFloat16FromFloat64(1.0 / 3).String(), "0.334"},
		{BFloat16FromBits(0x7f7f).String(), "3.39e+38"},
		{Float8E4M3FNFromFloat32(448).String(), "448"},
		{Float8E4M3FNFromFloat32(0.3).String(), "0.3"},
		{Float8E4M3FNFromBits(0xff).String(), "NaN"},
		{Float8E5M2FromFloat32(57344).String(), "57344"},
		{Float8E5M2FromBits(0xfc).String(), "-Inf"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// Every value's String reads back to the same value.
	for i := 0; i < 1<<16; i++ {
		h := Float16FromBits(uint16(i))
		if h.IsNaN() {
			continue
		}
		if back := Float16FromFloat64(parseFloat(t, h.String())); back != h {
			t.Fatalf("Float16(%#x).String() = %q reads back as %#x", i, h.String(), back.Bits())
		}
	}
}

// sharedFormats is refFormats built once, for the fuzz target.
var sharedFormats = sync.OnceValue(refFormats)

// FuzzConversions checks float64 and float32 inputs against the reference
// rounding for every format.
func FuzzConversions(f *testing.F) {
	for _, x := range []float64{0, 1, -1.5, 65504, 65520, 0x1p-25, 448, 464, 57344, 61440, 1.0 / 3, 1 + 0x1p-11 + 0x1p-40, 1e-300, math.Inf(-1)} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) {
			return // NaNs are covered by TestNaNConversions
		}
		x32 := float32(x)
		for _, r := range sharedFormats() {
			if got, want := r.enc64(x), r.encode(x); got != want {
				t.Errorf("%s from64(%v): got %#x, want %#x", r.name, x, got, want)
			}
			if got, want := r.enc32(x32), r.encode(float64(x32)); got != want {
				t.Errorf("%s from32(%v): got %#x, want %#x", r.name, x32, got, want)
			}
		}
	})
}
