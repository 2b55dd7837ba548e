package hgemm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

var (
	testRows = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 64}
	testK    = []int{1, 15, 16, 17, 31, 64, 100, 640, 1152}
	testN    = []int{1, 15, 16, 17, 33, 100}
	formats  = []Format{F16, BF16}
)

// allVariants returns the variants this CPU runs: the generic one, the
// generic one on blocks of 32 (as the assembly, which exercises its tail
// block), and the assembly ones.
func allVariants() []variant {
	g32 := generic
	g32.name, g32.kb = "generic32", [3]int{F16: 32, BF16: 32}
	return append([]variant{generic, g32}, archVariants...)
}

// bits16 returns the 16-bit code of v in format f (nearest even).
func bits16(f Format, v float32) uint16 {
	if f == BF16 {
		return numeric.BFloat16FromFloat32(v).Bits()
	}
	return numeric.Float16FromFloat32(v).Bits()
}

// round16 returns v rounded to format f, as float32.
func round16(f Format, v float32) float32 { return decode(f, bits16(f, v)) }

// encode returns vals in format f, little-endian, starting at an odd
// address (the kernels must not assume alignment).
func encode(f Format, vals []float32) []byte {
	buf := make([]byte, 2*len(vals)+1)[1:]
	for i, v := range vals {
		binary.LittleEndian.PutUint16(buf[2*i:], bits16(f, v))
	}
	return buf
}

// randInts returns n random integers in [-lim, lim] as float32: with
// integer data of this size every float32 sum below is exact, so every
// variant must match the reference exactly.
func randInts(rng *rand.Rand, n, lim int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.IntN(2*lim+1) - lim)
	}
	return v
}

func randReals(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// reference returns y = round16(x)·Wᵀ in float64 and Σ|x·w| per output.
func reference(f Format, w, x []float32, rows, n, k int) (y, mag []float64) {
	y = make([]float64, rows*n)
	mag = make([]float64, rows*n)
	for r := 0; r < rows; r++ {
		for j := 0; j < n; j++ {
			var s, a float64
			for i := 0; i < k; i++ {
				p := float64(round16(f, x[r*k+i])) * float64(round16(f, w[j*k+i]))
				s += p
				a += math.Abs(p)
			}
			y[r*n+j], mag[r*n+j] = s, a
		}
	}
	return y, mag
}

const guard = 4

// run calls matmul of variant v with guard elements around y and checks
// that they are untouched; it returns y.
func run(t *testing.T, m *Matrix, v *variant, x []float32, rows, threads int) []float32 {
	t.Helper()
	buf := make([]float32, rows*m.N()+2*guard)
	for i := range buf {
		buf[i] = -7777
	}
	y := buf[guard : guard+rows*m.N()]
	if err := m.matmul(context.Background(), y, x, rows, threads, v); err != nil {
		t.Fatal(err)
	}
	for i := range guard {
		if buf[i] != -7777 || buf[len(buf)-1-i] != -7777 {
			t.Fatalf("%s %v rows %d N %d K %d: wrote outside y", v.name, m.Format(), rows, m.N(), m.K())
		}
	}
	return y
}

// TestMatMulExact runs every variant on integer data (exact float32 sums)
// over the rows, K and N and requires the exact result. Under
// -race, which is there for the threads rather than the arithmetic (and
// runs the float64 reference ten times slower), and with -short (CI's
// arm64 run under qemu), it takes every fourth N×K shape.
func TestMatMulExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shape := 0
	for _, f := range formats {
		for _, n := range testN {
			for _, k := range testK {
				if shape++; (raceEnabled || testing.Short()) && shape%4 != 0 {
					continue
				}
				w := randInts(rng, n*k, 8)
				m, err := New(f, n, k, encode(f, w))
				if err != nil {
					t.Fatal(err)
				}
				x := randInts(rng, 64*k, 8)
				for _, rows := range testRows {
					want, _ := reference(f, w, x, rows, n, k)
					for _, v := range allVariants() {
						got := run(t, m, &v, x, rows, 1+(rows+n)%3)
						for i := range got {
							if float64(got[i]) != want[i] {
								t.Fatalf("%s %v rows %d N %d K %d: y[%d][%d] = %v, want %v",
									v.name, f, rows, n, k, i/n, i%n, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulReal compares every variant with the float64 reference on
// normal random data, within 1e-5·Σ|x·w|, with activations that need
// rounding.
func TestMatMulReal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range formats {
		for _, sh := range [][3]int{{64, 100, 1152}, {20, 33, 640}, {7, 17, 100}, {1, 100, 1152}} {
			rows, n, k := sh[0], sh[1], sh[2]
			w := randReals(rng, n*k)
			x := randReals(rng, rows*k)
			m, err := New(f, n, k, encode(f, w))
			if err != nil {
				t.Fatal(err)
			}
			want, mag := reference(f, w, x, rows, n, k)
			for _, v := range allVariants() {
				got := run(t, m, &v, x, rows, 2)
				for i := range got {
					if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5*mag[i] {
						t.Fatalf("%s %v rows %d N %d K %d: y[%d][%d] = %v, want %v (Σ|x·w| %v)",
							v.name, f, rows, n, k, i/n, i%n, got[i], want[i], mag[i])
					}
				}
			}
		}
	}
}

// TestMatMulBlocks forces small K blocks (each added to y) and compares
// with the exact reference.
func TestMatMulBlocks(t *testing.T) {
	defer func(b, k int) { rowPanelBytes, minKC = b, k }(rowPanelBytes, minKC)
	rowPanelBytes, minKC = 128, 32
	rng := rand.New(rand.NewPCG(5, 6))
	for _, f := range formats {
		for _, sh := range [][3]int{{64, 33, 1152}, {100, 17, 100}, {13, 15, 640}, {3, 16, 1000}} {
			rows, n, k := sh[0], sh[1], sh[2]
			w := randInts(rng, n*k, 8)
			x := randInts(rng, rows*k, 8)
			m, err := New(f, n, k, encode(f, w))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := reference(f, w, x, rows, n, k)
			for _, v := range allVariants() {
				for _, threads := range []int{1, 2} {
					got := run(t, m, &v, x, rows, threads)
					for i := range got {
						if float64(got[i]) != want[i] {
							t.Fatalf("%s %v rows %d N %d K %d threads %d: y[%d][%d] = %v, want %v",
								v.name, f, rows, n, k, threads, i/n, i%n, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestMatMulSpecials checks that NaN and Inf in activations or weights,
// and activations that overflow the format, give NaN and ±Inf where the
// reference does.
func TestMatMulSpecials(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	const rows, n, k = 9, 17, 100
	for _, f := range formats {
		w := randInts(rng, n*k, 4)
		x := randInts(rng, rows*k, 4)
		// Row 0 and 1 of x: an Inf and a NaN; row 2: Inf and -Inf; row 3:
		// 1e5, Inf in float16 only; row 4: the largest float32, Inf in bfloat16.
		x[0*k+5], x[1*k+99], x[2*k+3], x[2*k+70] = inf, nan, inf, -inf
		x[3*k+50], x[4*k+10] = 1e5, math.MaxFloat32
		// Weight row 2: NaN; row 3: Inf at the tail; row 5: zero where x
		// row 0 has its Inf (Inf·0 = NaN).
		w[2*k+40], w[3*k+98], w[5*k+5] = nan, -inf, 0
		m, err := New(f, n, k, encode(f, w))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := reference(f, w, x, rows, n, k)
		for _, v := range allVariants() {
			got := run(t, m, &v, x, rows, 1)
			for i := range got {
				g, wv := float64(got[i]), want[i]
				ok := g == wv || math.IsNaN(g) && math.IsNaN(wv)
				if !ok {
					t.Fatalf("%s %v: y[%d][%d] = %v, want %v", v.name, f, i/n, i%n, got[i], want[i])
				}
			}
		}
	}
}

// roundCases are float32 bit patterns around the rounding boundaries of
// both formats.
var roundCases = []uint32{
	0, 0x80000000, 0x3f800000, 0xbf800000, // ±0, ±1
	0x7f800000, 0xff800000, // ±Inf
	0x7fc00000, 0xffc00000, 0x7f800001, 0xff812345, 0x7fbfffff, 0x7fffffff, // NaNs, quiet and signalling
	0x00000001, 0x807fffff, 0x00800000, // float32 subnormals, smallest normal
	0x3f801000, 0x3f803000, 0x3f801001, // float16 ties at 1: to even (down, up), above
	0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, // bfloat16 ties at 1 and around
	0x477fe000, 0x477fefff, 0x477ff000, 0x47800000, // 65504, below 65520, 65520, 65536
	0x33000000, 0x33000001, 0x33800000, 0x387fc000, 0x38800000, 0x387ff000, // float16 subnormal range
	0x7f7fffff, 0xff7fffff, 0x7f7f7fff, 0x7f7f8000, // float32 max: bfloat16 overflow to Inf and not
}

func roundInputs(rng *rand.Rand) []float32 {
	in := make([]float32, 0, len(roundCases)+1<<16)
	for _, b := range roundCases {
		in = append(in, math.Float32frombits(b))
	}
	for len(in) < cap(in)-3 {
		in = append(in, math.Float32frombits(rng.Uint32()))
	}
	return in
}

// TestRound checks every activation rounding implementation bit for bit
// against numeric.Float16FromFloat32 and numeric.BFloat16FromFloat32, on
// the boundary cases and random bits, at every length mod 16.
func TestRound(t *testing.T) {
	in := roundInputs(rand.New(rand.NewPCG(9, 10)))
	for _, impl := range roundImpls() {
		for _, f := range formats {
			for _, n := range []int{len(in), len(in) - 1, 37, 8, 3} {
				got := make([]float32, n+1)
				got[n] = -7777
				impl.round(f, got[:n], in[:n])
				if got[n] != -7777 {
					t.Fatalf("%s %v n %d: wrote past dst", impl.name, f, n)
				}
				for i, v := range in[:n] {
					var want uint32
					if f == BF16 {
						want = uint32(numeric.BFloat16FromFloat32(v).Bits()) << 16
					} else {
						want = math.Float32bits(numeric.Float16FromFloat32(v).Float32())
					}
					if g := math.Float32bits(got[i]); g != want {
						t.Fatalf("%s %v: round(%#08x) = %#08x, want %#08x", impl.name, f, math.Float32bits(v), g, want)
					}
				}
			}
		}
		for _, n := range []int{len(in), len(in) - 5, 31, 16, 5} {
			got := make([]uint16, n+1)
			got[n] = 0x1234
			impl.pack(got[:n], in[:n])
			if got[n] != 0x1234 {
				t.Fatalf("%s n %d: pack wrote past dst", impl.name, n)
			}
			for i, v := range in[:n] {
				if want := numeric.BFloat16FromFloat32(v).Bits(); got[i] != want {
					t.Fatalf("%s: packBF16(%#08x) = %#04x, want %#04x", impl.name, math.Float32bits(v), got[i], want)
				}
			}
		}
	}
}

// TestWiden checks every widening implementation on all 65536 codes of
// both formats, bit for bit except that a signalling float16 NaN may come
// back quiet (VCVTPH2PS sets the quiet bit).
func TestWiden(t *testing.T) {
	src := make([]byte, 2<<16+1)[1:]
	for i := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*i:], uint16(i))
	}
	for _, impl := range roundImpls() {
		for _, f := range formats {
			for _, n := range []int{1 << 16, 1<<16 - 3, 9} {
				got := make([]float32, n)
				impl.widen(f, got, src[:2*n])
				for i := range got {
					var want uint32
					if f == BF16 {
						want = uint32(i) << 16
					} else {
						want = math.Float32bits(numeric.Float16FromBits(uint16(i)).Float32())
					}
					g := math.Float32bits(got[i])
					if f == F16 && math.IsNaN(float64(got[i])) {
						g &^= 1 << 22 // the quiet bit
						want &^= 1 << 22
					}
					if g != want {
						t.Fatalf("%s %v: widen(%#04x) = %#08x, want %#08x", impl.name, f, i, g, want)
					}
				}
			}
		}
	}
}

func TestRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, f := range formats {
		const n, k = 5, 37
		w := randReals(rng, n*k)
		m, err := New(f, n, k, encode(f, w))
		if err != nil {
			t.Fatal(err)
		}
		dst := make([]float32, k+1)
		for j := range n {
			dst[k] = -7777
			if err := m.Row(j, dst); err != nil {
				t.Fatal(err)
			}
			if dst[k] != -7777 {
				t.Fatalf("%v Row(%d) wrote past K", f, j)
			}
			for i, v := range dst[:k] {
				if want := round16(f, w[j*k+i]); v != want {
					t.Fatalf("%v Row(%d)[%d] = %v, want %v", f, j, i, v, want)
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	data := make([]byte, 2*3*4)
	for _, tc := range []struct {
		f    Format
		n, k int
		data []byte
		want error
	}{
		{0, 3, 4, data, ErrFormat}, {Format(3), 3, 4, data, ErrFormat},
		{F16, 3, 4, data[1:], ErrShape}, {BF16, 0, 4, nil, ErrShape}, {F16, 3, 0, nil, ErrShape},
		{F16, -3, -4, data, ErrShape}, {F16, 4, 4, data, ErrShape},
	} {
		if _, err := New(tc.f, tc.n, tc.k, tc.data); !errors.Is(err, tc.want) {
			t.Errorf("New(%v, %d, %d, len %d): got %v, want %v", tc.f, tc.n, tc.k, len(tc.data), err, tc.want)
		}
	}
	m, err := New(F16, 3, 4, data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ ny, nx, rows int }{{6, 7, 2}, {5, 8, 2}, {6, 8, -1}, {0, 0, 1}} {
		if err := m.MatMul(ctx, make([]float32, tc.ny), make([]float32, tc.nx), tc.rows, 0); !errors.Is(err, ErrShape) {
			t.Errorf("MatMul len(y) %d len(x) %d rows %d: got %v, want ErrShape", tc.ny, tc.nx, tc.rows, err)
		}
	}
	if err := m.MatMul(ctx, nil, nil, 0, 0); err != nil {
		t.Errorf("MatMul rows 0: got %v, want nil", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.MatMul(cancelled, make([]float32, 3), make([]float32, 4), 1, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("MatMul with a cancelled context: got %v, want context.Canceled", err)
	}
	for _, tc := range []struct{ j, n int }{{-1, 4}, {3, 4}, {0, 3}} {
		if err := m.Row(tc.j, make([]float32, tc.n)); !errors.Is(err, ErrShape) {
			t.Errorf("Row(%d, len %d): got %v, want ErrShape", tc.j, tc.n, err)
		}
	}
	if s := fmt.Sprint(F16, BF16, Format(7)); s != "F16 BF16 Format(7)" {
		t.Errorf("Format strings: got %q", s)
	}
}

// TestMatMulAllocs checks that steady-state calls do not allocate, on one
// thread and on the worker pool.
func TestMatMulAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	ctx := context.Background()
	for _, f := range formats {
		const n, k = 256, 333
		m, err := New(f, n, k, encode(f, randReals(rng, n*k)))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ rows, threads int }{{1, 1}, {1, 0}, {9, 1}, {64, 0}} {
			x := randReals(rng, tc.rows*k)
			y := make([]float32, tc.rows*n)
			got := testing.AllocsPerRun(20, func() {
				if err := m.MatMul(ctx, y, x, tc.rows, tc.threads); err != nil {
					t.Fatal(err)
				}
			})
			if got > 0 {
				t.Errorf("%v rows %d threads %d: got %v allocs per call, want 0", f, tc.rows, tc.threads, got)
			}
		}
	}
}

// roundImpl is one implementation of the activation and weight conversions.
type roundImpl struct {
	name  string
	round func(f Format, dst, src []float32)
	pack  func(dst []uint16, src []float32)
	widen func(f Format, dst []float32, src []byte)
}

// roundImpls returns the pure-Go conversions and the dispatched ones
// (assembly where the CPU has AVX2 and F16C).
func roundImpls() []roundImpl {
	return []roundImpl{
		{"generic", roundGeneric, packBF16Generic, widenGeneric},
		{"dispatched", round, packBF16, widen},
	}
}

// TestStack multiplies stacks of matrices (parts of N not a multiple of 4,
// one and several K blocks) by every variant and compares with the exact
// reference of the stacked rows; Row reads each part's rows.
func TestStack(t *testing.T) {
	defer func(b, k int) { rowPanelBytes, minKC = b, k }(rowPanelBytes, minKC)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, blocks := range []bool{false, true} {
		if blocks {
			rowPanelBytes, minKC = 128, 32
		}
		for _, f := range formats {
			for _, sh := range []struct {
				rows, k int
				ns      []int
			}{{1, 64, []int{5, 3, 9}}, {7, 100, []int{8, 4}}, {13, 96, []int{1, 17, 2, 12}}, {2, 40, []int{33}}} {
				var ms []*Matrix
				var w []float32
				N := 0
				for _, n := range sh.ns {
					wi := randInts(rng, n*sh.k, 8)
					m, err := New(f, n, sh.k, encode(f, wi))
					if err != nil {
						t.Fatal(err)
					}
					ms, w, N = append(ms, m), append(w, wi...), N+n
				}
				st, err := Stack(ms...)
				if err != nil {
					t.Fatal(err)
				}
				if st.N() != N || st.K() != sh.k || st.Bytes() != 2*N*sh.k {
					t.Fatalf("Stack of %v×%d: N %d K %d Bytes %d", sh.ns, sh.k, st.N(), st.K(), st.Bytes())
				}
				x := randInts(rng, sh.rows*sh.k, 8)
				want, _ := reference(f, w, x, sh.rows, N, sh.k)
				for _, v := range allVariants() {
					for _, threads := range []int{1, 2} {
						got := run(t, st, &v, x, sh.rows, threads)
						for i := range got {
							if float64(got[i]) != want[i] {
								t.Fatalf("%s %v stack %v K %d rows %d threads %d blocks %v: y[%d][%d] = %v, want %v",
									v.name, f, sh.ns, sh.k, sh.rows, threads, blocks, i/N, i%N, got[i], want[i])
							}
						}
					}
				}
				row := make([]float32, sh.k)
				for j := range N {
					if err := st.Row(j, row); err != nil {
						t.Fatal(err)
					}
					for i, got := range row {
						if want := round16(f, w[j*sh.k+i]); got != want {
							t.Fatalf("%v stack %v: Row(%d)[%d] = %v, want %v", f, sh.ns, j, i, got, want)
						}
					}
				}
			}
		}
	}
	a, _ := New(F16, 2, 4, make([]byte, 16))
	b, _ := New(BF16, 2, 4, make([]byte, 16))
	c, _ := New(F16, 2, 8, make([]byte, 32))
	for _, ms := range [][]*Matrix{nil, {a, b}, {a, c}} {
		if _, err := Stack(ms...); !errors.Is(err, ErrShape) {
			t.Errorf("Stack of %d matrices: err = %v, want ErrShape", len(ms), err)
		}
	}
}
