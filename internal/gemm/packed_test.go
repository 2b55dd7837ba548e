package gemm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packBRef packs the row-major k×n matrix b as PackedA's doc describes
// the B of MulPacked.
func packBRef(v *variant, b []float32, k, n int) []float32 {
	nr, kc := v.nr, v.kc
	np := ceilDiv(n, nr)
	out := make([]float32, np*nr*k)
	for p := range k {
		q := p / kc
		kq := min(kc, k-q*kc)
		for j := range n {
			out[q*kc*np*nr+(j/nr)*kq*nr+(p-q*kc)*nr+j%nr] = b[p*n+j]
		}
	}
	return out
}

// TestPackedA checks MulB and MulPacked of every variant against the
// float64 reference: sizes with ragged tiles, several K blocks, C with a
// leading dimension past n whose extra columns must stay untouched.
func TestPackedA(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	for _, v := range variants {
		for _, sz := range [][3]int{{1, 1, 1}, {5, 7, 3}, {13, 33, 17}, {40, 70, 400}, {100, 65, 800}, {24, 64, 0}} {
			m, n, k := sz[0], sz[1], sz[2]
			t.Run(fmt.Sprintf("%s/%dx%dx%d", v.name, m, n, k), func(t *testing.T) {
				a, b := randMat(rng, m, k, k), randMat(rng, k, n, n)
				p, err := packAWith(&v, a, k, m, k)
				if err != nil {
					t.Fatal(err)
				}
				want, mag := refGemm(false, false, m, n, k, 1, a, k, b, n, 0, nil, n)
				ldc := n + 3
				for _, packed := range []bool{false, true} {
					c := make([]float32, m*ldc)
					for i := range c {
						c[i] = guard
					}
					// fin adds 1000·(row+1) to every element once.
					fin := func(r0, r1, j0, j1 int) {
						for i := r0; i < r1; i++ {
							for j := j0; j < j1; j++ {
								c[i*ldc+j] += 1000 * float32(i+1)
							}
						}
					}
					if packed {
						err = p.MulPacked(ctx, packBRef(&v, b, k, n), n, c, ldc, fin)
					} else {
						err = p.MulB(ctx, b, n, n, c, ldc, fin)
					}
					if err != nil {
						t.Fatal(err)
					}
					for i := range m {
						for j := range ldc {
							got := c[i*ldc+j]
							if j >= n {
								if got != guard {
									t.Fatalf("packed %v: c[%d][%d] (padding) = %v, written", packed, i, j, got)
								}
								continue
							}
							w := want[i*n+j] + 1000*float64(i+1)
							if math.Abs(float64(got)-w) > 1e-5*(1+mag[i*n+j]+math.Abs(w)) {
								t.Fatalf("packed %v: c[%d][%d] = %v, want %v", packed, i, j, got, w)
							}
						}
					}
				}
			})
		}
	}
	if _, err := PackA(make([]float32, 5), 3, 2, 3); err == nil {
		t.Error("PackA of a short slice: no error")
	}
}
