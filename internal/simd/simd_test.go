package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// specials are inputs every float kernel test includes.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-30, -1e-30, 1e-45, 3, -3, 5.5, -5.5, 9, -9, 13, -13, 87, -87, 200, -200, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}

// randFloats returns n values: specials first, then a mix of scales.
func randFloats(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch {
		case i < len(specials) && n > 40:
			x[i] = specials[i]
		case i%3 == 0:
			x[i] = float32(r.NormFloat64() * 100)
		default:
			x[i] = float32(r.NormFloat64() * 3)
		}
	}
	r.Shuffle(n, func(i, j int) { x[i], x[j] = x[j], x[i] })
	return x
}

// sameF32 reports bit equality, any NaN matching any NaN.
func sameF32(a, b float32) bool {
	if a != a || b != b {
		return a != a && b != b
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// lengths covers the empty slice, tails of every size around whole
// vectors, and a long run.
var lengths = []int{0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000}

// TestErf checks Erf against math.Erf over [−6, 6] and at the special
// values, and ExpNeg against math.Exp.
func TestErf(t *testing.T) {
	for i := -60000; i <= 60000; i++ {
		x := float32(i) / 10000
		got, want := float64(Erf(x)), math.Erf(float64(x))
		if math.Abs(got-want) > 5e-7 {
			t.Fatalf("Erf(%v) = %v, want %v", x, got, want)
		}
	}
	for _, c := range []struct{ x, want float32 }{{0, 0}, {float32(math.Inf(1)), 1}, {float32(math.Inf(-1)), -1}, {100, 1}} {
		if got := Erf(c.x); got != c.want {
			t.Errorf("Erf(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	for _, y := range []float32{0, -1e-3, -0.5, -1, -10, -50, -86.9} {
		want := math.Exp(float64(y))
		if d := math.Abs(float64(ExpNeg(y))-want) / want; d > 3e-7 {
			t.Errorf("ExpNeg(%g) = %g, want %g (relative error %g)", y, ExpNeg(y), want, d)
		}
	}
	if ExpNeg(-88) != 0 || ExpNeg(float32(math.NaN())) != 0 {
		t.Errorf("ExpNeg(-88), ExpNeg(NaN) = %g, %g, want 0, 0", ExpNeg(-88), ExpNeg(float32(math.NaN())))
	}
}

func TestBiasGelu(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range lengths {
		x, b := randFloats(r, n+1)[1:], randFloats(r, n) // unaligned x
		want := make([]float32, n)
		biasGeluGeneric(want, x, b)
		got := make([]float32, n+1)
		got[n] = -7 // guard
		BiasGelu(got[:n], x, b)
		for i := range want {
			if !sameF32(got[i], want[i]) {
				t.Fatalf("n %d: BiasGelu(%g + %g) = %g, want %g", n, x[i], b[i], got[i], want[i])
			}
		}
		if got[n] != -7 {
			t.Fatalf("n %d: guard overwritten", n)
		}
	}
	// the exact GELU within the erf approximation's error
	x := []float32{-5, -2, -1, -0.5, 0, 0.5, 1, 2, 5}
	got := make([]float32, len(x))
	BiasGelu(got, x, make([]float32, len(x)))
	for i, v := range x {
		want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
		if math.Abs(float64(got[i])-want) > 1e-6*(1+math.Abs(want)) {
			t.Errorf("GELU(%g) = %g, want %g", v, got[i], want)
		}
	}
}

func TestMinMax(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range lengths {
		for _, shift := range []float32{0, 1000, -1000} {
			x := randFloats(r, n)
			for i := range x {
				if !math.IsInf(float64(x[i]), 0) && x[i] < 1e29 && x[i] > -1e29 {
					x[i] += shift
				}
			}
			lo, hi := MinMax(x)
			wlo, whi := minMaxGeneric(x, 0, 0)
			if !sameF32(lo, wlo) || !sameF32(hi, whi) {
				t.Fatalf("n %d shift %g: MinMax = %g, %g, want %g, %g", n, shift, lo, hi, wlo, whi)
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		scale        float32
		z, lo, hi, n int32
	}{{0.05, 128, 0, 255, 128}, {0.1, 0, -128, 127, -128}, {1e-3, 3, 0, 255, 3}, {7, -5, -128, 127, -128}, {0, 10, 0, 255, 10}} {
		for _, n := range lengths {
			x := randFloats(r, n+1)[1:]
			want := make([]uint8, n)
			quantizeGeneric(want, x, tc.scale, float32(tc.z), float32(tc.lo), float32(tc.hi), tc.n)
			got := make([]uint8, n+1)
			got[n] = 0xa5
			Quantize(got[:n], x, tc.scale, tc.z, tc.lo, tc.hi, tc.n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v n %d: Quantize(%g) = %d, want %d", tc, n, x[i], got[i], want[i])
				}
			}
			if got[n] != 0xa5 {
				t.Fatalf("%+v n %d: guard overwritten", tc, n)
			}
		}
	}
}

func TestDequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range lengths {
		u := make([]uint8, n)
		for i := range u {
			u[i] = uint8(r.IntN(256))
		}
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(u[i])
		}
		for _, z := range []int32{0, 128, -128, 5} {
			want := make([]float32, n)
			got := make([]float32, n+1)
			got[n] = -7
			dequantizeU8Generic(want, u, z, 0.37)
			DequantizeU8(got[:n], u, z, 0.37)
			for i := range want {
				if !sameF32(got[i], want[i]) || got[n] != -7 {
					t.Fatalf("n %d z %d: DequantizeU8(%d) = %g, want %g (guard %g)", n, z, u[i], got[i], want[i], got[n])
				}
			}
			dequantizeI8Generic(want, s, z, 0.37)
			DequantizeI8(got[:n], s, z, 0.37)
			for i := range want {
				if !sameF32(got[i], want[i]) || got[n] != -7 {
					t.Fatalf("n %d z %d: DequantizeI8(%d) = %g, want %g (guard %g)", n, z, s[i], got[i], want[i], got[n])
				}
			}
		}
	}
}

func TestSumU8(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range append(lengths, 127, 128, 3072, 100000) {
		x := make([]uint8, n+1)
		for i := range x {
			x[i] = uint8(r.IntN(256))
		}
		if got, want := SumU8(x[1:]), sumU8Generic(x[1:]); got != want {
			t.Fatalf("n %d: SumU8 = %d, want %d", n, got, want)
		}
	}
}

func TestEpilogues(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range lengths {
		acc, sub := make([]int32, n), make([]int32, n)
		mult, bias := make([]float32, n), make([]float32, n)
		for i := range acc {
			acc[i] = r.Int32N(1<<24) - 1<<23
			sub[i] = r.Int32N(1<<20) - 1<<19
			mult[i] = float32(r.Float64()*1e-3) + 1e-6
			bias[i] = float32(r.NormFloat64())
		}
		if n > 3 {
			acc[0], acc[1], sub[1], mult[2] = math.MaxInt32, math.MinInt32, 5, 1e6 // wrapping, clamping
		}
		for _, b := range [][]float32{nil, bias} {
			want := make([]float32, n)
			got := make([]float32, n+1)
			got[n] = -7
			accF32Generic(want, acc, 12345, sub, mult, b)
			AccF32(got[:n], acc, 12345, sub, mult, b)
			for i := range want {
				if !sameF32(got[i], want[i]) || got[n] != -7 {
					t.Fatalf("n %d bias %v: AccF32[%d] = %g, want %g (guard %g)", n, b != nil, i, got[i], want[i], got[n])
				}
			}
		}
		for _, q := range []struct {
			lo, hi float32
			z      int32
		}{{-128, 127, 128}, {0, 255, 0}, {-100, 155, 100}} {
			want := make([]uint8, n)
			got := make([]uint8, n+1)
			got[n] = 0xa5
			wantF := make([]float32, n)
			gotF := make([]float32, n+1)
			gotF[n] = -7
			requantDequantGeneric(wantF, acc, -777, sub, mult, q.lo, q.hi, q.z, q.z-3, 0.0123)
			RequantDequant(gotF[:n], acc, -777, sub, mult, q.lo, q.hi, q.z, q.z-3, 0.0123)
			for i := range wantF {
				if !sameF32(gotF[i], wantF[i]) || gotF[n] != -7 {
					t.Fatalf("n %d %+v: RequantDequant[%d] = %g, want %g (guard %g)", n, q, i, gotF[i], wantF[i], gotF[n])
				}
			}
			requantGeneric(want, acc, -777, sub, mult, q.lo, q.hi, q.z)
			Requant(got[:n], acc, -777, sub, mult, q.lo, q.hi, q.z)
			for i := range want {
				if got[i] != want[i] || got[n] != 0xa5 {
					t.Fatalf("n %d %+v: Requant[%d] = %d, want %d (guard %d)", n, q, i, got[i], want[i], got[n])
				}
			}
		}
	}
}

func BenchmarkBiasGelu(b *testing.B) {
	x := randFloats(rand.New(rand.NewPCG(1, 1)), 3072)
	bias, dst := make([]float32, len(x)), make([]float32, len(x))
	for _, v := range []struct {
		name string
		f    func(dst, x, b []float32)
	}{{"generic", biasGeluGeneric}, {"best", BiasGelu}} {
		b.Run(fmt.Sprintf("%s/n%d", v.name, len(x)), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				v.f(dst, x, bias)
			}
		})
	}
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, n := range append(lengths, 128, 129) {
		for _, kind := range []string{"normal", "masked", "nan", "inf", "edge", "-inf"} {
			x := make([]float32, n+1)[1:]
			for i := range x {
				x[i] = float32(r.NormFloat64() * 4)
				if kind == "masked" && i%3 == 0 {
					x[i] -= 10000
				}
			}
			if n > 0 {
				i := r.IntN(n)
				switch kind {
				case "nan":
					x[i] = nan
				case "inf":
					x[i] = inf
				case "-inf":
					x[i] = -inf
				case "edge": // Exp leaves its polynomial: the reference handles the row
					x[i] = x[(i+1)%n] - 95
					if n == 1 {
						x[i] = 0
					}
				}
			}
			want := make([]float32, n)
			softmaxGeneric(want, x)
			got := make([]float32, n+1)
			got[n] = -7
			Softmax(got[:n], x)
			for i := range want {
				d := math.Abs(float64(got[i] - want[i]))
				if !(sameF32(got[i], want[i]) || d <= 2.5e-7*math.Abs(float64(want[i]))) {
					t.Fatalf("n %d %s: Softmax[%d] = %g, want %g (x %g)", n, kind, i, got[i], want[i], x[i])
				}
			}
			if got[n] != -7 {
				t.Fatalf("n %d %s: guard overwritten", n, kind)
			}
			Softmax(x, x) // in place
			for i := range want {
				d := math.Abs(float64(x[i] - want[i]))
				if !(sameF32(x[i], want[i]) || d <= 2.5e-7*math.Abs(float64(want[i]))) {
					t.Fatalf("n %d %s in place: Softmax[%d] = %g, want %g", n, kind, i, x[i], want[i])
				}
			}
		}
	}
	for _, v := range []float32{-200, -104, -103.9, -100, -90, -87.4, -87.33654, -50, -1, 0, 1, 50, 88.7, 88.72283, 89, inf, -inf} {
		want := math.Exp(float64(v))
		if got := float64(Exp(v)); math.Abs(got-want) > max(2e-7*want, 0x1p-149) && !(math.IsInf(got, 1) && want > math.MaxFloat32) {
			t.Errorf("Exp(%g) = %g, want %g", v, got, want)
		}
	}
}

func BenchmarkSoftmax(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 128)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 3)
	}
	y := make([]float32, len(x))
	for _, v := range []struct {
		name string
		f    func(y, x []float32)
	}{{"generic", softmaxGeneric}, {"best", Softmax}} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				v.f(y, x)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range lengths {
		x, y := randFloats(r, n+1)[1:], randFloats(r, n)
		want := make([]float32, n)
		addGeneric(want, x, y)
		got := make([]float32, n+1)
		got[n] = -7
		Add(got[:n], x, y)
		for i := range want {
			if !sameF32(got[i], want[i]) || got[n] != -7 {
				t.Fatalf("n %d: Add(%g, %g) = %g, want %g (guard %g)", n, x[i], y[i], got[i], want[i], got[n])
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range append(lengths[1:], 768) {
		for _, simplified := range []bool{false, true} {
			for _, withBias := range []bool{false, true} {
				x, g, b := make([]float32, n+1)[1:], make([]float32, n), make([]float32, n)
				for i := range x {
					x[i] = float32(r.NormFloat64()*2 + 5)
					g[i] = float32(r.NormFloat64())
					b[i] = float32(r.NormFloat64())
				}
				if !withBias {
					b = nil
				}
				want := make([]float32, n)
				wm, wi := layerNormGeneric(want, x, g, b, 1e-5, simplified)
				got := make([]float32, n+1)
				got[n] = -7
				gm, gi := LayerNorm(got[:n], x, g, b, 1e-5, simplified)
				if math.Abs(gm-wm) > 1e-12*math.Abs(wm)+1e-15 || math.Abs(gi-wi) > 1e-12*wi {
					t.Fatalf("n %d simplified %v: mean, inv %g, %g, want %g, %g", n, simplified, gm, gi, wm, wi)
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1.2e-7*math.Abs(float64(want[i])) {
						t.Fatalf("n %d simplified %v bias %v: y[%d] = %g, want %g", n, simplified, withBias, i, got[i], want[i])
					}
				}
				if got[n] != -7 {
					t.Fatalf("n %d: guard overwritten", n)
				}
			}
		}
	}
}

// TestEpilogueRows checks the row-block epilogues against the per-row
// references, with strides wider than the rows and guards between them.
func TestEpilogueRows(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, cols := range []int{1, 15, 16, 33, 64} {
		for _, rows := range []int{1, 2, 6} {
			ld := cols + 3
			acc, add := make([]int32, rows*ld), make([]int32, rows)
			sub, mult, bias := make([]int32, cols), make([]float32, cols), make([]float32, cols)
			for i := range acc {
				acc[i] = r.Int32N(1<<22) - 1<<21
			}
			for i := range add {
				add[i] = r.Int32N(1<<16) - 1<<15
			}
			for i := range sub {
				sub[i] = r.Int32N(1<<16) - 1<<15
				mult[i] = float32(r.Float64()*1e-3) + 1e-6
				bias[i] = float32(r.NormFloat64())
			}
			check := func(name string, got []float32, want func(row []float32, r int)) {
				for i := 0; i < rows; i++ {
					w := make([]float32, cols)
					want(w, i)
					for j := range w {
						if !sameF32(got[i*ld+j], w[j]) {
							t.Fatalf("%s cols %d rows %d: [%d][%d] = %g, want %g", name, cols, rows, i, j, got[i*ld+j], w[j])
						}
					}
					for j := cols; j < ld; j++ {
						if got[i*ld+j] != -7 {
							t.Fatalf("%s cols %d rows %d: guard [%d][%d] overwritten", name, cols, rows, i, j)
						}
					}
				}
			}
			guarded := func() []float32 {
				d := make([]float32, rows*ld)
				for i := range d {
					d[i] = -7
				}
				return d
			}
			d := guarded()
			RequantDequantRows(d, ld, acc, ld, rows, add, sub, mult, -128, 127, 128, 125, 0.02)
			check("RequantDequantRows", d, func(w []float32, i int) {
				requantDequantGeneric(w, acc[i*ld:i*ld+cols], add[i], sub, mult, -128, 127, 128, 125, 0.02)
			})
			for _, b := range [][]float32{nil, bias} {
				d := guarded()
				AccF32Rows(d, ld, acc, ld, rows, add, sub, mult, b)
				check("AccF32Rows", d, func(w []float32, i int) {
					accF32Generic(w, acc[i*ld:i*ld+cols], add[i], sub, mult, b)
				})
			}
		}
	}
}

func TestMaxInto(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range lengths {
		d, x := randFloats(r, n+1), randFloats(r, n)
		// equal pairs and signed zeros exercise the tie rule
		for i := 0; i+1 < n; i += 5 {
			x[i] = d[i]
		}
		if n > 3 {
			d[2], x[2] = float32(math.Copysign(0, -1)), 0
			d[3], x[3] = 0, float32(math.Copysign(0, -1))
		}
		want := append([]float32(nil), d...)
		maxIntoGeneric(want[:n], x)
		got := append([]float32(nil), d...)
		MaxInto(got, x)
		for i := range want {
			if !sameF32(got[i], want[i]) {
				t.Fatalf("n %d, i %d: MaxInto(%g, %g) = %g, want %g", n, i, d[i], x[i], got[i], want[i])
			}
		}
	}
	if got := []float32{1, float32(math.NaN()), 2}; true {
		MaxInto(got, []float32{float32(math.NaN()), 0, 3})
		if got[0] == got[0] || got[1] == got[1] || got[2] != 3 {
			t.Errorf("MaxInto NaN propagation: got %v", got)
		}
	}
}

func TestMaxWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, c := range []struct{ n, k, d int }{{0, 3, 1}, {1, 1, 1}, {17, 3, 1}, {40, 3, 2}, {54, 2, 1}, {100, 5, 3}} {
		x := randFloats(r, c.n+(c.k-1)*c.d)
		got := make([]float32, c.n)
		MaxWindow(got, x, c.k, c.d)
		for i := range got {
			want := x[i]
			for t := 1; t < c.k; t++ {
				if v := x[i+t*c.d]; v > want || v != v {
					want = v
				}
			}
			if !sameF32(got[i], want) {
				t.Fatalf("%+v: MaxWindow[%d] = %g, want %g", c, i, got[i], want)
			}
		}
	}
}

func TestBiasResRelu(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range lengths {
		for _, withRes := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				for _, b := range []float32{0, 0.75, -3, float32(math.NaN())} {
					row, res := randFloats(r, n), randFloats(r, n)
					if !withRes {
						res = nil
					}
					want := append([]float32(nil), row...)
					biasResReluGeneric(want, res, b, relu)
					got := append([]float32(nil), row...)
					BiasResRelu(got, res, b, relu)
					for i := range want {
						if !sameF32(got[i], want[i]) {
							t.Fatalf("n %d res %v relu %v b %g, i %d: got %g, want %g (row %g)", n, withRes, relu, b, i, got[i], want[i], row[i])
						}
					}
				}
			}
		}
	}
}

func TestTap3(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, s := range []int{1, 2} {
		for _, dw := range []int{1, 2} {
			for _, n := range lengths {
				for _, extra := range []int{0, 1, 40} { // x exactly long enough, or longer
					m := 0
					if n > 0 {
						m = s*(n-1) + 2*dw + 1 + extra
					}
					x, d := randFloats(r, m), randFloats(r, n)
					w := randFloats(r, 3)
					want := append([]float32(nil), d...)
					tap3Generic(want, x, s, dw, w[0], w[1], w[2])
					got := append([]float32(nil), d...)
					Tap3(got, x[:m:m], s, dw, w[0], w[1], w[2])
					for i := range want {
						if !sameF32(got[i], want[i]) {
							t.Fatalf("s %d dw %d n %d extra %d, i %d: got %g, want %g", s, dw, n, extra, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// expSumLanes is expSumWith's specification for rows without a NaN or
// infinite maximum: Exp(x_i − m) added in float64 by lane (i mod 16) over
// the blocks of 16, the lanes summed in order, then the values of the
// blocks below Exp's polynomial range (x − m in [−104, −87.33654)) and
// the tail in index order; lanes below −104 give 0.
func expSumLanes(y, x []float32) (m float32, s float64) {
	n := len(x) &^ 15
	m = x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var lanes [16]float64
	for i, v := range x[:n] {
		y[i] = 0
		if d := v - m; d >= -87.33654 {
			y[i] = Exp(d)
			lanes[i%16] += float64(y[i])
		}
	}
	for _, v := range lanes {
		s += v
	}
	for i, v := range x[:n] {
		if d := v - m; d < -87.33654 && d >= -104 {
			y[i] = Exp(d)
			s += float64(y[i])
		}
	}
	for i, v := range x[n:] {
		y[n+i] = Exp(v - m)
		s += float64(y[n+i])
	}
	return m, s
}

// TestExpSumKernels checks the vector kernels of ExpSub and Softmax
// (max, expSub and scale in their AVX-512, AVX2 and NEON forms, each
// that this CPU runs) on rows with masked, out-of-range, −Inf and NaN
// entries: against Exp in float64, and bit for bit against expSumLanes
// (Exp's float32 steps, the same 16 lanes and float64 sums), so that
// every kernel set gives the same values and sums, and so the same drawn
// tokens.
func TestExpSumKernels(t *testing.T) {
	var sets []bool // expSumWith's avx512 argument
	if hasAVX512 {
		sets = append(sets, true)
	}
	if hasAVX2 || hasNEON {
		sets = append(sets, false)
	}
	if len(sets) == 0 {
		t.Skip("no vector kernels on this CPU")
	}
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range append(lengths, 128, 129, 262144) {
		for _, kind := range []string{"normal", "masked", "edge", "-inf", "zeros", "nan"} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 4)
				switch {
				case kind == "masked" && i%3 == 0:
					x[i] -= 10000
				case kind == "edge" && i%5 == 0:
					x[i] -= 88 + float32(r.IntN(20)) // around Exp's range and −104
				case kind == "-inf" && i%7 == 0:
					x[i] = float32(math.Inf(-1))
				case kind == "zeros":
					x[i] = float32(math.Copysign(0, float64(r.IntN(2)*2-1))) - float32(r.IntN(2))
				}
			}
			if kind == "nan" && n > 0 {
				x[r.IntN(n)] = float32(math.NaN())
			}
			if n < 16 {
				continue // no kernel
			}
			var wy []float32
			var wm float32
			var ws float64
			if kind != "nan" {
				wy = make([]float32, n)
				wm, ws = expSumLanes(wy, x)
			}
			for _, avx512 := range sets {
				y := make([]float32, n)
				m, s, ok := expSumWith(y, x, avx512)
				if kind == "nan" {
					if ok && !math.IsNaN(float64(m)) {
						t.Fatalf("n %d avx512 %v: a NaN row gave max %v, ok", n, avx512, m)
					}
					continue // the NaN sends the row to the reference
				}
				if !ok {
					t.Fatalf("n %d %s avx512 %v: the kernels declined a row", n, kind, avx512)
				}
				var ys float64
				for i, v := range y {
					ys += float64(v)
					if e := math.Exp(float64(x[i]) - float64(m)); math.Abs(float64(v)-e) > 5e-6*e+1e-30 {
						t.Fatalf("n %d %s avx512 %v: y[%d] = %v, want %v", n, kind, avx512, i, v, e)
					}
					if math.Float32bits(v) != math.Float32bits(wy[i]) {
						t.Fatalf("n %d %s avx512 %v: y[%d] = %v, the lanes' reference %v", n, kind, avx512, i, v, wy[i])
					}
				}
				if m != wm || s != ws {
					t.Fatalf("n %d %s avx512 %v: max %v sum %v, the lanes' reference %v, %v", n, kind, avx512, m, s, wm, ws)
				}
				if math.Abs(s-ys) > 1e-9*ys {
					t.Fatalf("n %d %s avx512 %v: sum %v, Σy %v", n, kind, avx512, s, ys)
				}
				z := slices.Clone(y)
				inv := float32(1 / s)
				switch {
				case avx512:
					scaleAVX512(&z[0], n/16, inv)
				case hasNEON:
					scaleNEON(&z[0], n/16, inv)
				default:
					scaleAVX2(&z[0], n/16, inv)
				}
				for i := range n &^ 15 {
					if z[i] != y[i]*inv {
						t.Fatalf("n %d %s avx512 %v: scaled y[%d] = %v, want %v", n, kind, avx512, i, z[i], y[i]*inv)
					}
				}
			}
		}
	}
}

// TestLogSumExp compares LogSumExp and ExpSub with a float64 reference on
// rows of every length up to 129 (and Gemma 3's vocabulary) with masked,
// -Inf, +Inf and NaN entries.
func TestLogSumExp(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range append(lengths, 128, 129, 262144) {
		for _, kind := range []string{"normal", "masked", "nan", "inf", "-inf"} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64() * 4)
				if kind == "masked" && i%3 == 0 {
					x[i] -= 10000
				}
			}
			if n > 0 && kind != "normal" && kind != "masked" {
				x[r.IntN(n)] = map[string]float32{"nan": float32(math.NaN()), "inf": float32(math.Inf(1)), "-inf": float32(math.Inf(-1))}[kind]
			}
			m := math.Inf(-1)
			for _, v := range x {
				if v != v {
					m = math.NaN()
					break
				}
				m = math.Max(m, float64(v))
			}
			want := m
			if !math.IsNaN(m) && !math.IsInf(m, 0) {
				var s float64
				for _, v := range x {
					s += math.Exp(float64(v) - m)
				}
				want = m + math.Log(s)
			}
			got := LogSumExp(x, make([]float32, n))
			if !(got == want || math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) <= 1e-6*(1+math.Abs(want))) {
				t.Fatalf("n %d %s: LogSumExp = %v, want %v", n, kind, got, want)
			}
			if n > 0 && !math.IsNaN(m) && !math.IsInf(m, 0) {
				y := make([]float32, n)
				mx, sum := ExpSub(y, x)
				var ys float64
				for i, v := range y {
					ys += float64(v)
					if e := math.Exp(float64(x[i]) - m); math.Abs(float64(v)-e) > 5e-6*e+1e-30 { // x−m rounded to float32
						t.Fatalf("n %d %s: ExpSub y[%d] = %v, want %v", n, kind, i, v, e)
					}
				}
				if float64(mx) != m || math.Abs(sum-ys) > 1e-9*ys || math.Abs(float64(mx)+math.Log(sum)-want) > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("n %d %s: ExpSub = %v, %v (Σy %v), want max %v and log-sum-exp %v", n, kind, mx, sum, ys, m, want)
				}
			}
		}
	}
}
