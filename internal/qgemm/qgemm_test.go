package qgemm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/numeric"
)

// randQuant returns a random valid BlockQuantized (random codes, scales of
// both signs, and random packed zero points when zp is set).
func randQuant(rng *rand.Rand, n, k, bits, bs int, zp bool, f16 ...bool) *numeric.BlockQuantized {
	q := &numeric.BlockQuantized{N: n, K: k, Bits: bits, BlockSize: bs}
	kb := q.KBlocks()
	q.B = make([]uint8, n*kb*q.BlobSize())
	for i := range q.B {
		q.B[i] = uint8(rng.IntN(256))
	}
	q.Scales = make([]float32, n*kb)
	for i := range q.Scales {
		q.Scales[i] = (rng.Float32()*2 - 1) * 0.1
		if len(f16) > 0 && f16[0] {
			q.Scales[i] = numeric.Float16FromFloat32(q.Scales[i]).Float32()
		}
	}
	if zp {
		q.ZeroPoints = make([]uint8, n*q.ZeroPointRowBytes())
		for i := range q.ZeroPoints {
			q.ZeroPoints[i] = uint8(rng.IntN(256))
		}
	}
	if err := q.Validate(); err != nil {
		panic(err)
	}
	return q
}

func randA(rng *rand.Rand, n int) []float32 {
	a := make([]float32, n)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
	}
	// Exact ties and zero blocks exercise the int8 rounding.
	if n > 3 {
		a[1], a[2] = 0.5, -0.25
	}
	return a
}

// refFloat returns y = a·Wᵀ + bias in float64 from the reference
// dequantizer, and Σ|a·w| per output for the tolerance.
func refFloat(q *numeric.BlockQuantized, a []float32, rows int, bias []float32) (y, mag []float64) {
	w, err := q.Dequantize()
	if err != nil {
		panic(err)
	}
	y = make([]float64, rows*q.N)
	mag = make([]float64, rows*q.N)
	for r := 0; r < rows; r++ {
		for n := 0; n < q.N; n++ {
			var s, m float64
			for k := 0; k < q.K; k++ {
				x := float64(a[r*q.K+k]) * float64(w[n*q.K+k])
				s += x
				m += math.Abs(x)
			}
			if bias != nil {
				s += float64(bias[n])
				m += math.Abs(float64(bias[n]))
			}
			y[r*q.N+n], mag[r*q.N+n] = s, m
		}
	}
	return y, mag
}

// refInt8 is the accuracy-level-4 emulation (ORT CompInt8, matmul-nbits.md
// §12) in float64 block sums with the float32 block scales of ORT.
func refInt8(q *numeric.BlockQuantized, a []float32, rows int, bias []float32) (y, mag []float64) {
	kb, bs := q.KBlocks(), q.BlockSize
	y = make([]float64, rows*q.N)
	mag = make([]float64, rows*q.N)
	for r := 0; r < rows; r++ {
		for b := 0; b < kb; b++ {
			src := a[r*q.K+b*bs : r*q.K+min((b+1)*bs, q.K)]
			var amax float32
			for _, v := range src {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			sa := amax / 127
			var inv float32
			if amax != 0 {
				inv = 127 / amax
			}
			qa := make([]int32, len(src))
			for j, v := range src {
				qa[j] = int32(math.Max(-128, math.Min(127, math.RoundToEven(float64(v*inv)))))
			}
			for n := 0; n < q.N; n++ {
				zp := int32(q.ZeroPoint(n, b))
				var d int32
				for j, x := range qa {
					d += x * (int32(q.Code(n, b*bs+j)) - zp)
				}
				t := float64(float32(d) * (sa * q.Scale(n, b)))
				y[r*q.N+n] += t
				mag[r*q.N+n] += math.Abs(t)
			}
		}
		if bias != nil {
			for n := 0; n < q.N; n++ {
				y[r*q.N+n] += float64(bias[n])
				mag[r*q.N+n] += math.Abs(float64(bias[n]))
			}
		}
	}
	return y, mag
}

func allVariants() []variant { return append([]variant{generic}, archVariants...) }

func TestPackLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bits := range []int{2, 4, 8} {
		for _, bs := range []int{16, 32, 256} {
			q := randQuant(rng, 21, 2*bs+3, bits, bs, bits != 8, bs == 32)
			m, err := PackNBits(q)
			if (m.Scales16 != nil) != (bs == 32) {
				t.Fatalf("bits %d bs %d: float16 scales %v, want %v", bits, bs, m.Scales16 != nil, bs == 32)
			}
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 2*GroupCols; n++ {
				g, c := n/GroupCols, n%GroupCols
				for k := 0; k < m.KBlocks*bs; k++ {
					b := k / bs
					blk := g*m.KBlocks + b
					got := code(m.Codes[blk*m.BlockBytes():], bits, c, k%bs)
					wantZP, wantS := q.DefaultZeroPoint(), float32(0)
					want := wantZP
					if n < q.N {
						wantZP, wantS = q.ZeroPoint(n, b), q.Scale(n, b)
						want = wantZP
						if k < q.K {
							want = q.Code(n, k)
						}
					}
					if got != want || m.zeroPoint(blk, c) != wantZP || m.scale(blk, c) != wantS {
						t.Fatalf("bits %d bs %d (n=%d,k=%d): got code %d zp %d scale %g, want %d %d %g",
							bits, bs, n, k, got, m.zeroPoint(blk, c), m.scale(blk, c), want, wantZP, wantS)
					}
				}
			}
		}
	}
}

func TestMatMulVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	for _, v := range allVariants() {
		for _, bits := range []int{2, 4, 8} {
			for _, bs := range []int{16, 32, 64, 128, 256} {
				for _, zp := range []bool{false, true} {
					// K ragged (not a multiple of bs), N ragged, M = 1..20.
					k := bs*2 + 1 + rng.IntN(bs-1)
					if bs >= 128 {
						k = bs + 7
					}
					n := GroupCols*2 + 1 + rng.IntN(GroupCols-1)
					// Block sizes 32 and 128 get float16-exact scales (packed as float16).
					q := randQuant(rng, n, k, bits, bs, zp, bs == 32 || bs == 128)
					var opts []PackOption
					if bs == 16 || bs == 64 {
						// General float32 scales stored in 24 bits: the
						// reference uses the rounded scales.
						opts = append(opts, CompactScales())
						q = roundedScales(q)
					}
					m, err := PackNBits(q, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if want := map[int]int{16: 24, 32: 16, 64: 24, 128: 16, 256: 32}[bs]; m.ScaleBits() != want {
						t.Fatalf("bits %d bs %d: scales stored in %d bits, want %d", bits, bs, m.ScaleBits(), want)
					}
					for _, rows := range []int{1, 2, 3, 4, 5, 6, 7, 8, 13, 20} {
						a := randA(rng, rows*k)
						bias := randA(rng, n)
						for _, act := range []Activations{Float32, Int8} {
							name := fmt.Sprintf("%s/bits%d/bs%d/zp%v/scalebits%d/K%d/N%d/M%d/act%d", v.name, bits, bs, zp, m.ScaleBits(), k, n, rows, act)
							ref, tol := refFloat, 1e-5
							if act == Int8 {
								ref, tol = refInt8, 1e-6
							}
							want, mag := ref(q, a, rows, bias)
							y := make([]float32, rows*n+5)
							for i := range y {
								y[i] = 12345
							}
							if err := m.matmul(ctx, y[:rows*n], a, rows, bias, Options{Activations: act}, v); err != nil {
								t.Fatalf("%s: %v", name, err)
							}
							for i, w := range want {
								if d := math.Abs(float64(y[i]) - w); d > tol*(mag[i]+1e-6) {
									t.Fatalf("%s: y[%d] got %g, want %g (|diff| %.3g, Σ|terms| %.3g)", name, i, y[i], w, d, mag[i])
								}
							}
							for i := rows * n; i < len(y); i++ {
								if y[i] != 12345 {
									t.Fatalf("%s: guard y[%d] written: %g", name, i, y[i])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulGroups covers the one-row kernels that read several groups
// at once (variants with groups > 1: int8 activations, float16 or float32
// scales, the default zero point): 9 or 27 full groups and a partial one, so
// that each thread's piece holds runs of one or several groups (one kernel
// call walks a run) and left-over groups, with and without bias and
// software prefetch, against the int8 reference.
func TestMatMulGroups(t *testing.T) {
	defer func(f int) { tune.Force = f }(tune.Force)
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for _, v := range allVariants() {
		if v.groups <= 1 {
			continue
		}
		for _, bits := range []int{4, 8} {
			for _, c := range [][2]int{{32, 9}, {128, 9}, {256, 9}, {32, 27}} {
				bs, n := c[0], c[1]*GroupCols+5
				k := 3*bs + 7
				// Block sizes 32 and 128 get float16 scales, 256 float32 ones.
				q := randQuant(rng, n, k, bits, bs, false, bs != 256)
				m, err := PackNBits(q)
				if err != nil {
					t.Fatal(err)
				}
				a := randA(rng, k)
				for _, tc := range [][2]int{{1, tune.On}, {2, tune.On}, {1, tune.Off}, {2, tune.Off}} {
					threads := tc[0]
					tune.Force = tc[1]
					for _, bias := range [][]float32{nil, randA(rng, n)} {
						name := fmt.Sprintf("%s/bits%d/bs%d/n%d/threads%d/prefetch%v/bias%v", v.name, bits, bs, n, threads, tc[1] == tune.On, bias != nil)
						want, mag := refInt8(q, a, 1, bias)
						y := make([]float32, n+3)
						y[n], y[n+1], y[n+2] = 7, 7, 7
						if err := m.matmul(ctx, y[:n], a, 1, bias, Options{Activations: Int8, Threads: threads}, v); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						for i, w := range want {
							if d := math.Abs(float64(y[i]) - w); d > 1e-6*(mag[i]+1e-6) {
								t.Fatalf("%s: y[%d] got %g, want %g (Σ|terms| %.3g)", name, i, y[i], w, mag[i])
							}
						}
						if y[n] != 7 || y[n+2] != 7 {
							t.Fatalf("%s: wrote past y", name)
						}
					}
				}
			}
		}
	}
}

func TestRoundEven(t *testing.T) {
	for _, x := range []float32{0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127, 127.49, -127.5, 0.49999997, 3.7, -3.7} {
		want := int32(math.Max(-128, math.Min(127, math.RoundToEven(float64(x)))))
		if got := roundEven(x); got != want {
			t.Errorf("roundEven(%g) got %d, want %d", x, got, want)
		}
	}
}

// TestMatMulLongK covers K split into several L1-sized chunks (the kernels
// then add into the output) for both activation types.
func TestMatMulLongK(t *testing.T) {
	defer func(c int) { chunkBytes = c }(chunkBytes)
	chunkBytes = 16 << 10
	rng := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	for _, v := range allVariants() {
		for _, c := range []struct{ bits, bs, k int }{{4, 16, 4200}, {8, 32, 2100}, {2, 64, 4500}} {
			q := randQuant(rng, 20, c.k, c.bits, c.bs, c.bits == 8, c.bits == 4)
			m, err := PackNBits(q)
			if err != nil {
				t.Fatal(err)
			}
			const rows = 10
			a := randA(rng, rows*c.k)
			bias := randA(rng, q.N)
			for _, act := range []Activations{Float32, Int8} {
				ref, tol := refFloat, 1e-5
				if act == Int8 {
					ref, tol = refInt8, 1e-6
				}
				want, mag := ref(q, a, rows, bias)
				y := make([]float32, rows*q.N)
				if err := m.matmul(ctx, y, a, rows, bias, Options{Activations: act}, v); err != nil {
					t.Fatal(err)
				}
				for i, w := range want {
					if d := math.Abs(float64(y[i]) - w); d > tol*(mag[i]+1e-6) {
						t.Fatalf("%s bits %d bs %d K %d act %d: y[%d] got %g, want %g", v.name, c.bits, c.bs, c.k, act, i, y[i], w)
					}
				}
			}
		}
	}
}

// roundedScales returns a copy of q whose scales are rounded as
// CompactScales stores them.
func roundedScales(q *numeric.BlockQuantized) *numeric.BlockQuantized {
	c := *q
	c.Scales = make([]float32, len(q.Scales))
	for i, s := range q.Scales {
		r, _ := round24(s)
		c.Scales[i] = math.Float32frombits(r)
	}
	return &c
}

func TestRound24(t *testing.T) {
	f := math.Float32frombits
	for _, tc := range []struct {
		in   uint32
		want uint32
		ok   bool
	}{
		{0x3f800000, 0x3f800000, true}, // 1 is exact
		{0x3f80007f, 0x3f800000, true}, // below half: down
		{0x3f800080, 0x3f800000, true}, // tie, even: down
		{0x3f800180, 0x3f800200, true}, // tie, odd: up
		{0x3f800081, 0x3f800100, true}, // above half: up
		{0xbf8000ff, 0xbf800100, true}, // negative, magnitude rounds up
		{0x3f7fffff, 0x3f800000, true}, // carries into the exponent
		{0x00000081, 0x00000100, true}, // subnormal
		{0x7f800000, 0x7f800000, true}, // +Inf stays
		{0x7f7fffff, 0, false},         // MaxFloat32 would overflow
		{0x7f7fff7f, 0x7f7fff00, true}, // just below: fine
		{0x7f800001, 0x7fc00000, true}, // NaN with a low payload stays NaN
		{0x80000000, 0x80000000, true}, // −0
	} {
		got, ok := round24(f(tc.in))
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("round24(%#08x) got %#08x, %v, want %#08x, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 100000 {
		s := float32(rng.NormFloat64()) * float32(math.Pow(2, float64(rng.IntN(40)-20)))
		r, _ := round24(s)
		if d := math.Abs(float64(f(r)) - float64(s)); d > math.Abs(float64(s))/(1<<16) {
			t.Fatalf("round24(%g) = %g: relative change %g > 2^-16", s, f(r), d/math.Abs(float64(s)))
		}
	}
}

// TestCompactScalesError checks the price of CompactScales against the
// exact int8 path: at most 2⁻¹⁶ of Σ|terms| (the scale rounding bound) plus
// float32 rounding.
func TestCompactScalesError(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ctx := context.Background()
	q := randQuant(rng, 40, 1000, 4, 32, false)
	m, err := PackNBits(q, CompactScales())
	if err != nil {
		t.Fatal(err)
	}
	if m.ScaleBits() != 24 {
		t.Fatalf("got %d-bit scales, want 24", m.ScaleBits())
	}
	const rows = 3
	a := randA(rng, rows*q.K)
	want, mag := refInt8(q, a, rows, nil)
	y := make([]float32, rows*q.N)
	if err := m.MatMul(ctx, y, a, rows, nil, Options{Activations: Int8}); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, w := range want {
		d := math.Abs(float64(y[i])-w) / mag[i]
		worst = max(worst, d)
		if d > 1.0/(1<<16)+1e-6 {
			t.Fatalf("y[%d] got %g, exact-scale reference %g: %.3g of Σ|terms|", i, y[i], w, d)
		}
	}
	t.Logf("worst deviation from exact scales: %.3g of Σ|terms|", worst)
}

// TestMatrixAsSource reads a Matrix back through Source and repacks it: the
// codes, scales and zero points must survive unchanged, in every scale
// format.
func TestMatrixAsSource(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, tc := range []struct {
		bits, bs     int
		zp, f16, cmp bool
	}{{4, 32, false, false, true}, {4, 32, true, true, false}, {2, 64, true, false, false}, {8, 16, false, false, true}} {
		var opts []PackOption
		if tc.cmp {
			opts = append(opts, CompactScales())
		}
		q := randQuant(rng, 37, 3*tc.bs+5, tc.bits, tc.bs, tc.zp, tc.f16)
		m, err := PackNBits(q, opts...)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := Pack(m, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if m2.ScaleBits() != m.ScaleBits() || !slices.Equal(m2.Codes, m.Codes) || !slices.Equal(m2.Scales, m.Scales) ||
			!slices.Equal(m2.Scales16, m.Scales16) || !slices.Equal(m2.ScalesLo, m.ScalesLo) || !slices.Equal(m2.ZeroPoints, m.ZeroPoints) {
			t.Errorf("bits %d bs %d zp %v: repacking the Matrix changed it", tc.bits, tc.bs, tc.zp)
		}
		codes := make([]uint8, tc.bs)
		for n := 0; n < q.N; n++ {
			for b := 0; b < q.KBlocks(); b++ {
				s, z := m.Block(n, b, codes)
				want := q.Scale(n, b)
				if tc.cmp {
					r, _ := round24(want)
					want = math.Float32frombits(r)
				}
				if s != want || z != q.ZeroPoint(n, b) {
					t.Fatalf("bits %d bs %d: Block(%d, %d) scale %g zp %d, want %g %d", tc.bits, tc.bs, n, b, s, z, want, q.ZeroPoint(n, b))
				}
				for j := 0; j < min(tc.bs, q.K-b*tc.bs); j++ {
					if codes[j] != q.Code(n, b*tc.bs+j) {
						t.Fatalf("bits %d bs %d: code (%d, %d) got %d, want %d", tc.bits, tc.bs, n, b*tc.bs+j, codes[j], q.Code(n, b*tc.bs+j))
					}
				}
			}
		}
	}
}

// TestDequantizeRow checks DequantizeRow against the source's codes,
// scales and zero points, on ragged ranges, and its argument errors.
func TestDequantizeRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, tc := range []struct{ bits, bs int }{{4, 32}, {2, 16}, {8, 64}, {4, 128}} {
		q := randQuant(rng, 19, 3*tc.bs+5, tc.bits, tc.bs, true)
		m, err := PackNBits(q)
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, q.K)
		for n := 0; n < q.N; n++ {
			for _, r := range [][2]int{{0, q.K}, {tc.bs, q.K}, {0, 1}, {tc.bs, 2*tc.bs + 3}} {
				if err := m.DequantizeRow(n, r[0], r[1], dst); err != nil {
					t.Fatal(err)
				}
				for k := r[0]; k < r[1]; k++ {
					b := k / tc.bs
					want := float32(int32(q.Code(n, k))-int32(q.ZeroPoint(n, b))) * q.Scale(n, b)
					if dst[k-r[0]] != want {
						t.Fatalf("bits %d bs %d: W[%d][%d] got %g, want %g", tc.bits, tc.bs, n, k, dst[k-r[0]], want)
					}
				}
			}
		}
		for _, bad := range [][3]int{{-1, 0, 1}, {q.N, 0, 1}, {0, 1, 2}, {0, 0, q.K + 1}, {0, tc.bs, 0}} {
			if err := m.DequantizeRow(bad[0], bad[1], bad[2], dst); !errors.Is(err, ErrArgs) {
				t.Errorf("DequantizeRow(%v): got %v, want ErrArgs", bad, err)
			}
		}
	}
}
