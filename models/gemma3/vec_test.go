package gemma3

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// TestDotAxpy checks dot and axpy (the assembly variant where the CPU has
// it) against float64 loops for every length up to 70 and unaligned starts,
// with guard elements after y that must stay untouched.
func TestDotAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const guard = 8
	for off := 0; off < 3; off++ {
		for n := 0; n <= 70; n++ {
			a := make([]float32, off+n)
			b := make([]float32, off+n+guard)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			for i := range b {
				b[i] = float32(r.NormFloat64())
			}
			x, y := a[off:], b[off:off+n]
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			if got := dot(x, y); math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
				t.Errorf("dot(n=%d, off=%d) = %v, want %v", n, off, got, want)
			}
			alpha := float32(0.75)
			wantY := make([]float64, n)
			for i := range y {
				wantY[i] = float64(y[i]) + float64(alpha)*float64(x[i])
			}
			tail := append([]float32(nil), b[off+n:]...)
			axpy(y, alpha, x)
			for i := range y {
				if math.Abs(float64(y[i])-wantY[i]) > 1e-6 {
					t.Errorf("axpy(n=%d, off=%d): y[%d] = %v, want %v", n, off, i, y[i], wantY[i])
				}
			}
			for i, v := range b[off+n:] {
				if v != tail[i] {
					t.Errorf("axpy(n=%d, off=%d) wrote guard element %d: got %v, want %v", n, off, i, v, tail[i])
				}
			}
		}
	}
}

// TestRoundQ8_0 checks the branch-free rounding against ggml's
// quantize_row_q8_0 written out with float64 rint.
func TestRoundQ8_0(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 32*64)
	for i := range x {
		x[i] = float32(r.NormFloat64() * math.Pow(10, float64(i/32%8-4)))
	}
	for i := 32 * 5; i < 32*6; i++ {
		x[i] = 0 // an all-zero block
	}
	copy(x[32*6:], []float32{127, 0.5, 1.5, 2.5, -2.5, -0.5}) // ties: id = 1
	got := make([]float32, len(x))
	roundQ8_0(got, x)
	for i := 0; i < len(x); i += 32 {
		var amax float32
		for _, v := range x[i : i+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := numeric.Float16FromFloat32(amax / 127).Float32()
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		for j, v := range x[i : i+32] {
			want := float32(math.RoundToEven(float64(v*id))) * d
			if got[i+j] != want {
				t.Fatalf("roundQ8_0: x[%d] = %v: got %v, want %v", i+j, v, got[i+j], want)
			}
		}
	}
}

// TestScoresValues4 checks scores4 and values4 (assembly where the CPU
// has it) against float64 loops, with a key/value stride larger than the
// head dimension.
func TestScoresValues4(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, hd := range []int{16, 64, 256, 24} {
		for _, n := range []int{0, 1, 5, 33} {
			ld := hd + 16
			var q [4][]float32
			for h := range q {
				q[h] = randn(hd)
			}
			k, v, p := randn(n*ld+hd), randn(n*ld+hd), randn(4*n)
			out := make([]float32, 4*n)
			scores4(&q, k, ld, n, out)
			for j := 0; j < n; j++ {
				for h := 0; h < 4; h++ {
					var want float64
					for d := 0; d < hd; d++ {
						want += float64(q[h][d]) * float64(k[j*ld+d])
					}
					if math.Abs(float64(out[4*j+h])-want) > 1e-4*float64(hd) {
						t.Errorf("scores4(hd=%d, n=%d)[%d][%d] = %v, want %v", hd, n, j, h, out[4*j+h], want)
					}
				}
			}
			tile := randn(4*hd + 4)
			init := append([]float32(nil), tile...)
			values4(p, v, ld, hd, n, tile)
			for h := 0; h < 4; h++ {
				for d := 0; d < hd; d++ {
					want := float64(init[h*hd+d])
					for j := 0; j < n; j++ {
						want += float64(p[4*j+h]) * float64(v[j*ld+d])
					}
					if got := tile[h*hd+d]; math.Abs(float64(got)-want) > 1e-4*float64(n+1) {
						t.Errorf("values4(hd=%d, n=%d) out[%d][%d] = %v, want %v", hd, n, h, d, got, want)
					}
				}
			}
			for i := 4 * hd; i < len(tile); i++ {
				if tile[i] != init[i] {
					t.Errorf("values4(hd=%d, n=%d) wrote past the tile at %d", hd, n, i)
				}
			}
		}
	}
}

// TestGeluExhaustive runs geglu (assembly where the CPU has it: the AVX2
// and NEON kernels round to binary16 in hardware) on every binary16
// value, each also nudged up and down by a float32 ulp (inputs that round
// to it or to a neighbour), times 1 and times a random factor, and
// requires gegluGeneric's result bit for bit (NaN for NaN).
func TestGeluExhaustive(t *testing.T) {
	geluOnce.Do(initGelu)
	r := rand.New(rand.NewPCG(11, 12))
	const n = 3 << 16
	g, u := make([]float32, n), make([]float32, n)
	for i := range 1 << 16 {
		h := numeric.Float16FromBits(uint16(i)).Float32()
		g[3*i] = h
		g[3*i+1] = math.Nextafter32(h, float32(math.Inf(1)))
		g[3*i+2] = math.Nextafter32(h, float32(math.Inf(-1)))
	}
	for _, random := range []bool{false, true} {
		for i := range u {
			u[i] = 1
			if random {
				u[i] = float32(r.NormFloat64())
			}
		}
		got, want := make([]float32, n), make([]float32, n)
		geglu(got, g, u)
		gegluGeneric(want, g, u)
		bad := 0
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				if bad++; bad <= 5 {
					t.Errorf("geglu: g=%v (%#08x) u=%v: got %v, want %v", g[i], math.Float32bits(g[i]), u[i], got[i], want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d values differ (random factors %v)", bad, n, random)
		}
	}
}

// TestGegluNorm checks geglu and scaleMul (assembly where the CPU has it)
// bit for bit against their generic versions, and sumSquares against a
// float64 loop, for lengths 0..40 and values around GELU's ±10 cut-offs.
func TestGegluNorm(t *testing.T) {
	geluOnce.Do(initGelu)
	r := rand.New(rand.NewPCG(9, 9))
	special := []float32{-10, 10, -9.999, 9.999, -10.001, 10.001, 0, float32(math.Copysign(0, -1)), 1e-6, -1e-6,
		1e-9, 65504, -1e5, 3.14159, -0.5}
	for n := 0; n <= 40; n++ {
		g, u, w := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range g {
			g[i] = float32(r.NormFloat64() * 4)
			if r.IntN(3) == 0 {
				g[i] = special[r.IntN(len(special))]
			}
			u[i], w[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		got, want := make([]float32, n), make([]float32, n)
		geglu(got, g, u)
		gegluGeneric(want, g, u)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("geglu(n=%d)[%d]: g=%v u=%v: got %v, want %v", n, i, g[i], u[i], got[i], want[i])
			}
		}
		scaleMul(got, g, w, 0.37)
		scaleMulGeneric(want, g, w, 0.37)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("scaleMul(n=%d)[%d]: got %v, want %v", n, i, got[i], want[i])
			}
		}
		if gs, ws := sumSquares(g), sumSquaresGeneric(g); math.Abs(gs-ws) > 1e-12*math.Abs(ws) {
			t.Errorf("sumSquares(n=%d) = %v, want %v", n, gs, ws)
		}
	}
}

// TestSoftmax4 checks softmax4 (assembly where the CPU has it) against
// softmax4Generic for 0..40 keys, odd and even, scores spread wide enough
// that some underflow, and a NaN score, and that nothing past 4n values is
// written.
func TestSoftmax4(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, scale := range []float64{0.1, 5, 60} {
		for n := 0; n <= 40; n++ {
			p := make([]float32, 4*n+4)
			for i := range p {
				p[i] = float32(scale * r.NormFloat64())
			}
			want := append([]float32(nil), p...)
			softmax4Generic(want, n)
			got := append([]float32(nil), p...)
			softmax4(got, n)
			for i := 0; i < 4*n; i++ {
				if d := math.Abs(float64(got[i] - want[i])); d > 4e-7*float64(want[i])+1e-37 {
					t.Errorf("softmax4(scale %v, n %d)[%d] = %v, want %v", scale, n, i, got[i], want[i])
				}
			}
			for i := 4 * n; i < len(p); i++ {
				if got[i] != p[i] {
					t.Errorf("softmax4(scale %v, n %d) wrote %v past the scores at %d", scale, n, got[i], i)
				}
			}
		}
	}
	p := []float32{1, 2, 3, 4, float32(math.NaN()), 0, 0, 0, 2, 1, 0, -1}
	softmax4(p, 3)
	if !math.IsNaN(float64(p[0])) || math.IsNaN(float64(p[1])) {
		t.Errorf("softmax4 with a NaN in row 0: got %v, want row 0 NaN and row 1 not", p)
	}
}

// TestSoftmax4Bits pins the bits of the Cephes-exp softmax4 kernels
// (AVX2, and NEON, which repeats its steps) by a hash of their outputs on
// fixed scores, ±∞ and a NaN among them, so that a seed samples the same
// tokens on both architectures; the hash was taken from the AVX2 kernel.
func TestSoftmax4Bits(t *testing.T) {
	if !avx2Bits {
		t.Skip("softmax4 is the generic kernel here")
	}
	r := rand.New(rand.NewPCG(31, 41))
	h := fnv.New64a()
	var b [4]byte
	for _, n := range []int{1, 2, 3, 7, 40, 333} {
		for _, scale := range []float64{0.01, 5, 60} {
			p := make([]float32, 4*n)
			for i := range p {
				p[i] = float32(scale * r.NormFloat64())
			}
			if n > 3 {
				p[5], p[6] = float32(math.Inf(-1)), float32(math.Copysign(0, -1))
			}
			if n == 40 {
				p[9] = float32(math.NaN())
			}
			softmax4(p, n)
			for i, v := range p {
				if i%4 == 1 && n == 40 {
					continue // row 1 is NaN: its payload is the architecture's
				}
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				h.Write(b[:])
			}
		}
	}
	const want = 0xe1636c3e4a20c1c6
	if got := h.Sum64(); got != want {
		t.Errorf("softmax4 outputs hash to %#x, want %#x", got, uint64(want))
	}
}

// TestSumSquaresBits checks sumSquares bit for bit against a Go model of
// sumSquaresAVX2's order (float64 lane l sums the squares of elements
// 8i+l; then lanes l and l+4, the halves and the pair are added; the last
// n%8 squares follow in order), where the kernels claim it (AVX2, NEON),
// so that RMSNorm scales are the same on both.
func TestSumSquaresBits(t *testing.T) {
	if !avx2Bits {
		t.Skip("sumSquares is the generic kernel here")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 70; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Exp(r.Float64()*20-10))
		}
		var lane [8]float64
		m := n &^ 7
		for i := 0; i < m; i++ {
			lane[i%8] += float64(x[i] * x[i])
		}
		want := ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
		want += sumSquaresGeneric(x[m:])
		if got := sumSquares(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("sumSquares(n=%d) = %v, want %v", n, got, want)
		}
	}
}

// TestScoresValues4F16 checks scores4F16 and values4F16 (assembly where
// the CPU has it) against their generic versions over binary16 keys and
// values, within float32 rounding of the sums, and that values4F16 writes
// nothing past the 4 output rows.
func TestScoresValues4F16(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	half := func(n int) []uint16 {
		v := make([]uint16, n)
		for i := range v {
			v[i] = numeric.Float16FromFloat32(float32(r.NormFloat64())).Bits()
		}
		return v
	}
	for _, hd := range []int{8, 16, 64, 256, 24, 20} {
		for _, n := range []int{0, 1, 5, 33} {
			ld := hd + 8
			var q [4][]float32
			for h := range q {
				q[h] = randn(hd)
			}
			k, v, p := half(n*ld+hd), half(n*ld+hd), randn(4*n)
			got, want := make([]float32, 4*n), make([]float32, 4*n)
			scores4F16(&q, k, ld, n, got)
			scores4F16Generic(&q, k, ld, n, want)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(hd) {
					t.Errorf("scores4F16(hd=%d, n=%d)[%d] = %v, want %v", hd, n, i, got[i], want[i])
				}
			}
			tile := randn(4*hd + 4)
			ref := append([]float32(nil), tile...)
			values4F16(p, v, ld, hd, n, tile)
			values4F16Generic(p, v, ld, hd, n, ref[:4*hd])
			for i := range tile {
				if math.Abs(float64(tile[i]-ref[i])) > 1e-5*float64(n+1) {
					t.Errorf("values4F16(hd=%d, n=%d)[%d] = %v, want %v", hd, n, i, tile[i], ref[i])
				}
			}
		}
	}
}

// TestScoresValues4Q8 checks scores4Q8 and values4Q8 (assembly where the
// CPU has it) against their generic versions over Q8_0 keys and values
// (blocks of scales from e^-2 to e^5, a zero block among them), within
// float32 rounding of the sums, and that values4Q8 writes nothing past the tile.
func TestScoresValues4Q8(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, hd := range []int{32, 64, 256, 96} {
		for _, n := range []int{0, 1, 5, 33} {
			ld := hd/32*34 + 6 // bytes per cache row
			rows := func() []byte {
				b := make([]byte, (n+1)*ld)
				for j := 0; j <= n; j++ {
					x := randn(hd)
					for i := range x {
						x[i] *= float32(math.Exp(float64(i/32) - 2))
					}
					if j == 2 {
						clear(x[:32])
					}
					quantizeQ8_0(b[j*ld:], x)
				}
				return b
			}
			var q [4][]float32
			for h := range q {
				q[h] = randn(hd)
			}
			k, v, p := rows(), rows(), randn(4*n)
			got, want := make([]float32, 4*n), make([]float32, 4*n)
			scores4Q8(&q, k, ld, n, got)
			scores4Q8Generic(&q, k, ld, n, want)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(hd)*(1+math.Abs(float64(want[i]))) {
					t.Errorf("scores4Q8(hd=%d, n=%d)[%d] = %v, want %v", hd, n, i, got[i], want[i])
				}
			}
			tile := randn(4*hd + 4)
			ref := append([]float32(nil), tile...)
			values4Q8(p, v, ld, hd, n, tile)
			values4Q8Generic(p, v, ld, hd, n, ref[:4*hd])
			for i := range tile {
				if math.Abs(float64(tile[i]-ref[i])) > 1e-6*float64(n+1)*(1+math.Abs(float64(ref[i]))) {
					t.Errorf("values4Q8(hd=%d, n=%d)[%d] = %v, want %v", hd, n, i, tile[i], ref[i])
				}
			}
		}
	}
}
