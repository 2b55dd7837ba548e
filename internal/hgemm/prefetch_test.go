package hgemm

import (
	"math/rand/v2"
	"testing"

	"github.com/zerfoo/zerfoo/internal/tune"
)

// TestNoPrefetch runs every variant's kernels with and without software
// prefetch, for one row and several (every kernel row count), on integer
// data, where every sum is exact: both must give the reference.
func TestNoPrefetch(t *testing.T) {
	defer func(f int) { tune.Force = f }(tune.Force)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, f := range formats {
		for _, sh := range [][2]int{{100, 1152}, {17, 640}, {64, 100}, {5, 31}} {
			n, k := sh[0], sh[1]
			w := randInts(rng, n*k, 8)
			x := randInts(rng, 13*k, 8)
			m, err := New(f, n, k, encode(f, w))
			if err != nil {
				t.Fatal(err)
			}
			for _, rows := range []int{1, 2, 3, 4, 5, 6, 7, 13} {
				want, _ := reference(f, w, x, rows, n, k)
				for _, v := range allVariants() {
					for _, mode := range []int{tune.On, tune.Off} {
						tune.Force = mode
						for _, threads := range []int{1, 2} {
							got := run(t, m, &v, x, rows, threads)
							for i := range got {
								if float64(got[i]) != want[i] {
									t.Fatalf("%s %v rows %d N %d K %d prefetch mode %d threads %d: y[%d] = %v, want %v",
										v.name, f, rows, n, k, mode, threads, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	}
}
