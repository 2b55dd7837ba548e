//go:build amd64 && !purego

package gemma3

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zerfoo/zerfoo/numeric"
)

// TestNarrowF16 checks that the narrow kernels of a block with at most
// four live lanes give the 16-lane kernels' scores and outputs for those
// lanes to the bit (the values over float32 too): head dims 16 to 256,
// rows wider than the head, key counts from 1 to 517 (the narrow score
// kernel takes multiples of 16, the wide one the rest), 1 to 4 live
// lanes.
func TestNarrowF16(t *testing.T) {
	if narrowKeys(16, 4, 16, 16) == 0 {
		t.Skip("no narrow kernels on this machine")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, hd := range []int{16, 64, 128, 256} {
		for _, n := range []int{1, 16, 31, 48, 160, 517} {
			ld := hd + 32
			k := make([]uint16, n*ld)
			v := make([]uint16, n*ld)
			for i := range k {
				k[i] = numeric.Float16FromFloat32(float32(r.NormFloat64())).Bits()
				v[i] = numeric.Float16FromFloat32(float32(r.NormFloat64())).Bits()
			}
			qt := randF32(r, 16*hd)
			buf := make([]float32, blockChunk*hd)
			want := make([]float32, 16*n)
			scoresTF16(qt, 16, k, ld, hd, n, want, buf)
			got := make([]float32, 16*n)
			m := narrowKeys(16, 4, hd, n)
			scoresNarrowF16(qt, k, ld, hd, m, got)
			scoresTF16(qt, 16, k[m*ld:], ld, hd, n-m, got[16*m:], buf)
			for j := 0; j < n; j++ {
				for i := 0; i < 4; i++ {
					if g, w := got[16*j+i], want[16*j+i]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("hd %d, n %d: score of key %d, lane %d = %v, want %v", hd, n, j, i, g, w)
					}
				}
			}
			if hd%32 != 0 {
				continue
			}
			p := randF32(r, 16*n)
			for nq := 1; nq <= 4; nq++ {
				want := randF32(r, 8*hd) // outputs add to what is there
				got := slices.Clone(want)
				values16F16AVX512(&p[0], &v[0], ld, hd, n, nq, &want[0])
				valuesTF16(p, 16, v, ld, hd, n, nq, got)
				for i := 0; i < nq*hd; i++ {
					if g, w := got[i], want[i]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("hd %d, n %d, %d lanes: output %d of lane %d = %v, want %v", hd, n, nq, i%hd, i/hd, g, w)
					}
				}
				// The same over float32 values (an F32 cache, or Q8_0 rows widened).
				v32 := make([]float32, len(v))
				for i, h := range v {
					v32[i] = f16(h)
				}
				want = randF32(r, 8*hd)
				got = slices.Clone(want)
				values16F32AVX512(&p[0], &v32[0], ld, hd, n, nq, &want[0])
				valuesT(p, 16, v32, ld, hd, n, nq, got)
				for i := 0; i < nq*hd; i++ {
					if g, w := got[i], want[i]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("float32 values, hd %d, n %d, %d lanes: output %d of lane %d = %v, want %v", hd, n, nq, i%hd, i/hd, g, w)
					}
				}
			}
		}
	}
}

// TestNarrowQ8 checks that the narrow Q8_0 score kernel gives the 16-lane
// VNNI kernel's scores for lanes 0…3 to the bit: head dims 32 to 256,
// key rows wider than the head, 16 to 512 keys.
func TestNarrowQ8(t *testing.T) {
	if !useVNNI || narrowKeys(16, 4, 32, 16) == 0 {
		t.Skip("no VNNI narrow kernel on this machine")
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, hd := range []int{32, 64, 128, 256} {
		nb := hd / 32
		qt := randF32(r, 16*hd)
		q8, corr := make([]int32, 8*nb*16), make([]int32, nb*16)
		dq := make([]float32, nb*16)
		quantQT(qt, 16, hd, q8, dq, corr)
		for _, n := range []int{16, 48, 160, 512} {
			ld := nb*34 + 2*34 // rows wider than the head's blocks
			k := make([]byte, n*ld)
			for j := 0; j < n; j++ {
				quantizeQ8_0(k[j*ld:j*ld+nb*34], randF32(r, hd))
			}
			want := make([]float32, 16*n)
			scoresTQ8(q8, dq, corr, 16, k, ld, hd, n, want)
			got := make([]float32, 16*n)
			scoresNarrowQ8(q8, dq, corr, k, ld, hd, n, got)
			for j := 0; j < n; j++ {
				for i := 0; i < 4; i++ {
					if g, w := got[16*j+i], want[16*j+i]; math.Float32bits(g) != math.Float32bits(w) {
						t.Fatalf("hd %d, n %d: score of key %d, lane %d = %v, want %v", hd, n, j, i, g, w)
					}
				}
			}
		}
	}
}
