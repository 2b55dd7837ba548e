package gemm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

const guard = float32(-12345.5)

// refGemm is the float64 reference: C = alpha·op(A)·op(B) + beta·C. It also
// returns, per element, Σ|terms| for the error bound.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			w := float64(alpha) * s
			ma := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				w += float64(beta) * cv
				ma += math.Abs(float64(beta) * cv)
			}
			want[i*n+j] = w
			mag[i*n+j] = ma
		}
	}
	return want, mag
}

// randMat returns rows×ld values: random in the rows×cols region, NaN in the
// padding columns (which must never be read).
func randMat(rng *rand.Rand, rows, cols, ld int) []float32 {
	x := make([]float32, max(rows*ld, 0))
	for i := range rows {
		for j := range ld {
			if j < cols {
				x[i*ld+j] = rng.Float32()*2 - 1
			} else {
				x[i*ld+j] = float32(math.NaN())
			}
		}
	}
	return x
}

type shape struct{ m, n, k int }

// testShapes covers 0..70 at random, tile and block edges, and GEMV shapes.
func testShapes(rng *rand.Rand) []shape {
	s := []shape{
		{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {3, 4, 0}, {1, 1, 1}, {1, 37, 19}, {29, 1, 33}, {1, 64, 40},
		{40, 1, 70}, {1, 1, 100}, {12, 32, 1}, {6, 16, 8}, {13, 33, 17}, {24, 64, 65}, {11, 31, 300},
		{2, 2, 2}, {4, 4, 4}, {145, 70, 9}, {70, 130, 257}, {150, 97, 40},
	}
	if raceEnabled {
		return s[:len(s)-3] // without the largest shapes
	}
	for range 12 {
		s = append(s, shape{rng.IntN(71), rng.IntN(71), rng.IntN(71)})
	}
	return s
}

// testVariants returns every registered variant, each with its own blocking
// and with tiny blocks so that K, M and N block edges are crossed.
func testVariants() []variant {
	var vs []variant
	for _, v := range variants {
		vs = append(vs, v)
		t := v
		t.name += "-tinyblocks"
		t.kc, t.mc, t.nc = 7, 2*v.mr+1, 2*v.nr+1 // not multiples of the tile
		vs = append(vs, t)
	}
	return vs
}

func TestSgemmVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := testShapes(rng)
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {-0.5, 1}, {2, -1.5}}
	vs := testVariants()
	for _, sh := range shapes {
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for si, sc := range scalars {
				pad := [3]int{0, 3, 1}[si]
				checkCase(t, vs, rng, tr[0], tr[1], sh.m, sh.n, sh.k, sc.alpha, sc.beta, pad)
			}
		}
	}
}

// checkOne checks one product for one variant.
func checkOne(t *testing.T, v *variant, rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	checkCase(t, []variant{*v}, rng, transA, transB, m, n, k, alpha, beta, pad)
}

// checkCase runs one product with every variant in vs and compares each with
// refGemm, checking that padding and guard elements of C are untouched.
func checkCase(t *testing.T, vs []variant, rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+2*pad, n+pad
	a := randMat(rng, ar, ac, lda)
	b := randMat(rng, br, bc, ldb)
	c0 := make([]float32, m*ldc+7) // 7 guard elements past the end
	for i := range c0 {
		c0[i] = guard
	}
	for i := range m {
		for j := range n {
			if beta == 0 {
				c0[i*ldc+j] = float32(math.NaN())
			} else {
				c0[i*ldc+j] = rng.Float32()*2 - 1
			}
		}
	}
	want, mag := refGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc)
	eps := float64(1.0 / (1 << 23))
	c := make([]float32, len(c0))
	for _, v := range vs {
		copy(c, c0)
		if err := sgemm(context.Background(), &v, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); err != nil {
			t.Fatalf("%s: sgemm(tA=%v tB=%v m=%d n=%d k=%d): %v", v.name, transA, transB, m, n, k, err)
		}
		for i := range m {
			for j := range ldc {
				got := c[i*ldc+j]
				if j >= n {
					if got != guard {
						t.Fatalf("%s: tA=%v tB=%v m=%d n=%d k=%d: C[%d][%d] (padding) = %v, want untouched %v", v.name, transA, transB, m, n, k, i, j, got, guard)
					}
					continue
				}
				w := want[i*n+j]
				tol := 2*float64(k+2)*eps*mag[i*n+j] + 1e-30
				if d := math.Abs(float64(got) - w); !(d <= tol) {
					t.Fatalf("%s: tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v lds=(%d,%d,%d): C[%d][%d] got %v, want %v (tol %g)",
						v.name, transA, transB, m, n, k, alpha, beta, lda, ldb, ldc, i, j, got, w, tol)
				}
			}
		}
		for i := m * ldc; i < len(c); i++ {
			if c[i] != guard {
				t.Fatalf("%s: tA=%v tB=%v m=%d n=%d k=%d: guard c[%d] = %v, want %v", v.name, transA, transB, m, n, k, i, c[i], guard)
			}
		}
	}
}

// TestSgemmLarge checks the dispatched Sgemm on a multi-block, multi-worker
// product against the reference.
func TestSgemmLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	checkOne(t, best, rng, false, false, 200, 300, 400, 1, 0, 5)
	checkOne(t, best, rng, true, true, 97, 3100, 40, 0.5, 2, 0)
}

func TestSgemmAlphaZero(t *testing.T) {
	a := []float32{float32(math.NaN())}
	c := []float32{2, 4}
	if err := Sgemm(context.Background(), false, false, 1, 2, 1, 0, a, 1, []float32{1, 1}, 2, 0.5, c, 2); err != nil {
		t.Fatal(err)
	}
	if c[0] != 1 || c[1] != 2 {
		t.Errorf("alpha=0, beta=0.5: got C=%v, want [1 2]", c)
	}
}

func TestSgemmErrors(t *testing.T) {
	ctx := context.Background()
	s := func(n int) []float32 { return make([]float32, n) }
	tests := []struct {
		name           string
		tA, tB         bool
		m, n, k        int
		a, b, c        []float32
		lda, ldb, ldc  int
		wantSubstrings string
	}{
		{"negative m", false, false, -1, 2, 2, s(4), s(4), s(4), 2, 2, 2, "negative size"},
		{"negative k", false, false, 2, 2, -3, s(4), s(4), s(4), 2, 2, 2, "negative size"},
		{"short a", false, false, 2, 2, 3, s(5), s(6), s(4), 3, 2, 2, "a has 5 elements, need 6"},
		{"short a transposed", true, false, 2, 2, 3, s(5), s(6), s(4), 2, 2, 2, "a has 5 elements, need 6"},
		{"short b", false, false, 2, 2, 3, s(6), s(5), s(4), 3, 2, 2, "b has 5 elements, need 6"},
		{"short b transposed", false, true, 2, 2, 3, s(6), s(5), s(4), 3, 3, 2, "b has 5 elements, need 6"},
		{"short c", false, false, 2, 2, 3, s(6), s(6), s(3), 3, 2, 2, "c has 3 elements, need 4"},
		{"short c for ldc", false, false, 2, 2, 3, s(6), s(6), s(4), 3, 2, 3, "c has 4 elements, need 5"},
		{"small lda", false, false, 2, 2, 3, s(6), s(6), s(4), 2, 2, 2, "lda=2 smaller than 3"},
		{"small ldc", false, false, 2, 2, 3, s(6), s(6), s(4), 3, 2, 1, "ldc=1 smaller than 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Sgemm(ctx, tc.tA, tc.tB, tc.m, tc.n, tc.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, tc.c, tc.ldc)
			if err == nil || !strings.HasPrefix(err.Error(), "gemm: ") || !strings.Contains(err.Error(), tc.wantSubstrings) {
				t.Errorf("got error %v, want \"gemm: ...%s...\"", err, tc.wantSubstrings)
			}
		})
	}
}

func TestSgemmCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, sh := range []shape{{2, 2, 2}, {1, 64, 64}, {200, 200, 200}} {
		a, b, c := make([]float32, sh.m*sh.k), make([]float32, sh.k*sh.n), make([]float32, sh.m*sh.n)
		err := Sgemm(ctx, false, false, sh.m, sh.n, sh.k, 1, a, sh.k, b, sh.n, 0, c, sh.n)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v: got %v, want context.Canceled", sh, err)
		}
	}
}

func TestKernelName(t *testing.T) {
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.name
	}
	if got := Kernel(); got != names[len(names)-1] {
		t.Errorf("Kernel() = %q, want the last of %v", got, names)
	}
	t.Logf("variants %v, using %s", names, Kernel())
}
