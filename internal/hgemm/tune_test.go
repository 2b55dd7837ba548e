package hgemm

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOneRowNoPrefetch runs every variant's one-row kernels with and
// without software prefetch on integer data, where every sum is exact: both
// must give the reference.
func TestOneRowNoPrefetch(t *testing.T) {
	defer func(f int) { forcePrefetch = f }(forcePrefetch)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, f := range formats {
		for _, sh := range [][2]int{{100, 1152}, {17, 640}, {64, 100}, {5, 31}} {
			n, k := sh[0], sh[1]
			w := randInts(rng, n*k, 8)
			x := randInts(rng, k, 8)
			m, err := New(f, n, k, encode(f, w))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := reference(f, w, x, 1, n, k)
			for _, v := range allVariants() {
				for _, mode := range []int{tunePrefetch, tuneNone} {
					forcePrefetch = mode
					for _, threads := range []int{1, 2} {
						got := run(t, m, &v, x, 1, threads)
						for i := range got {
							if float64(got[i]) != want[i] {
								t.Fatalf("%s %v N %d K %d prefetch mode %d threads %d: y[%d] = %v, want %v",
									v.name, f, n, k, mode, threads, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestPrefetchTuner checks the tuner's protocol: small products prefetch
// unmeasured; large ones alternate until each kind has tuneSamples runs;
// the kernels without prefetch are kept only when at least 3 % faster;
// the choice then holds for every size.
func TestPrefetchTuner(t *testing.T) {
	const big = tuneBytes
	for _, tc := range []struct {
		name       string
		with, none time.Duration // per run of big bytes
		want       int32
	}{
		{"none faster", 10 * time.Millisecond, 8 * time.Millisecond, tuneNone},
		{"prefetch faster", 8 * time.Millisecond, 10 * time.Millisecond, tunePrefetch},
		{"within 3 %", 10 * time.Millisecond, 9800 * time.Microsecond, tunePrefetch},
	} {
		var tu prefetchTuner
		if pf, measure := tu.choose(big - 1); !pf || measure {
			t.Fatalf("%s: small product: prefetch %v measure %v", tc.name, pf, measure)
		}
		for i := 0; tu.state.Load() == tuneMeasuring; i++ {
			if i > 2*tuneSamples {
				t.Fatalf("%s: no choice after %d runs", tc.name, i)
			}
			pf, measure := tu.choose(big)
			if !measure || pf != (i%2 == 0) {
				t.Fatalf("%s: run %d: prefetch %v measure %v", tc.name, i, pf, measure)
			}
			d := tc.none
			if pf {
				d = tc.with
			}
			if i == 0 {
				d *= 5 // a cold first run must not decide
			}
			tu.record(pf, d, big)
		}
		if got := tu.state.Load(); got != tc.want {
			t.Errorf("%s: state %d, want %d", tc.name, got, tc.want)
		}
		for _, b := range []int{1, big, 4 * big} {
			if pf, measure := tu.choose(b); measure || pf != (tc.want == tunePrefetch) {
				t.Errorf("%s: after the choice, %d bytes: prefetch %v measure %v", tc.name, b, pf, measure)
			}
		}
	}
}
