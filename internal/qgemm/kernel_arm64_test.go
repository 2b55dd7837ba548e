//go:build !purego

package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/zerfoo/zerfoo/numeric"
)

// TestNEONKernels calls every NEON kernel directly against kernelGeneric on
// random blocks: bits 2/4/8, 1–8 rows, 1–3 blocks of 1–4 steps, the three
// scale formats, default and explicit zero points, store and accumulate.
// The int8 path must be bit-exact (same integer block sums, same float32
// operations in block order); the float path sums in another order and is
// compared within 1e-5 of Σ|terms|. Guards around each output row must
// stay untouched.
func TestNEONKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range archVariants {
		t.Logf("variant %s", v.name)
		for _, bits := range []int{2, 4, 8} {
			for _, i8 := range []bool{false, true} {
				for f16 := 0; f16 <= 2; f16++ {
					for _, zp := range []bool{false, true} {
						for mr := 1; mr <= 8; mr++ {
							for _, accum := range []int{0, 1} {
								kb, steps := 1+rng.IntN(3), 1+rng.IntN(4)
								name := fmt.Sprintf("%s/bits%d/i8%v/f16%d/zp%v/mr%d/accum%d/kb%d/steps%d", v.name, bits, i8, f16, zp, mr, accum, kb, steps)
								checkNEONKernel(t, rng, name, v, bits, i8, f16, zp, mr, accum, kb, steps)
							}
						}
					}
				}
			}
		}
	}
}

func checkNEONKernel(t *testing.T, rng *rand.Rand, name string, v variant, bits int, i8 bool, f16 int, zp bool, mr, accum, kb, steps int) {
	t.Helper()
	bs := steps * 64 * 8 / bits / GroupCols
	codes := make([]uint8, kb*steps*64)
	for i := range codes {
		codes[i] = uint8(rng.IntN(256))
	}
	p := kargs{codes: &codes[0], kb: kb, steps: steps, zpdef: 1 << (bits - 1), accum: accum, f16: f16}
	n := kb * GroupCols
	sc := make([]float32, n) // the decoded scales, for the tolerance
	switch f16 {
	case 0:
		s := make([]float32, n)
		for i := range s {
			s[i] = (rng.Float32()*2 - 1) * 0.1
			sc[i] = s[i]
		}
		p.scales = unsafe.Pointer(&s[0])
	case 1:
		s := make([]uint16, n)
		for i := range s {
			h := numeric.Float16FromFloat32((rng.Float32()*2 - 1) * 0.1)
			s[i], sc[i] = h.Bits(), h.Float32()
		}
		p.scales = unsafe.Pointer(&s[0])
	case 2:
		hi, lo := make([]uint16, n), make([]uint8, n)
		for i := range hi {
			b := math.Float32bits((rng.Float32()*2 - 1) * 0.1)
			hi[i], lo[i] = uint16(b>>16), uint8(b>>8)
			sc[i] = math.Float32frombits(b &^ 0xff)
		}
		p.scales, p.scalesLo = unsafe.Pointer(&hi[0]), &lo[0]
	}
	var zps []uint8
	if zp {
		zps = make([]uint8, n)
		for i := range zps {
			zps[i] = uint8(rng.IntN(1 << bits))
		}
		p.zps = &zps[0]
	}
	// Rows of A are padded (lda > kb·bs) to catch stride mistakes.
	k := kb * bs
	var af []float32 // |a| per element, for the tolerance
	if i8 {
		lda := k + 8
		qa := make([]int8, mr*lda)
		for i := range qa {
			qa[i] = int8(rng.IntN(255) - 127)
		}
		rowsAll := mr + 1
		sa := make([]float32, kb*rowsAll)
		suma := make([]int32, kb*rowsAll)
		for i := range sa {
			sa[i] = rng.Float32() / 127
		}
		// suma must be Σ qa (the 8-bit kernels rely on it).
		for b := 0; b < kb; b++ {
			for r := 0; r < mr; r++ {
				for _, x := range qa[r*lda+b*bs : r*lda+(b+1)*bs] {
					suma[b*rowsAll+r] += int32(x)
				}
			}
		}
		p.a, p.lda = unsafe.Pointer(&qa[0]), lda
		p.sa, p.suma, p.lds = &sa[0], &suma[0], 4*rowsAll
	} else {
		lda := k + 4
		a := make([]float32, mr*lda)
		af = make([]float32, mr*lda)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
			af[i] = float32(math.Abs(float64(a[i])))
		}
		p.a, p.lda = unsafe.Pointer(&a[0]), 4*lda
	}
	const ldo = GroupCols + 3
	init := make([]float32, mr*ldo+3)
	for i := range init {
		init[i] = rng.Float32()*2 - 1
	}
	want := append([]float32(nil), init...)
	got := append([]float32(nil), init...)
	q := p
	q.out, q.ldo = &want[0], 4*ldo
	kernelGeneric(&q, i8, bits, mr)
	q = p
	q.out, q.ldo = &got[0], 4*ldo
	v.call(&q, i8, bits, mr)
	for i := range got {
		r, c := i/ldo, i%ldo
		if r >= mr || c >= GroupCols {
			if got[i] != init[i] {
				t.Fatalf("%s: guard out[%d] written: got %g, want %g", name, i, got[i], init[i])
			}
			continue
		}
		if i8 {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: out[%d][%d] got %g, want %g (bit-exact)", name, r, c, got[i], want[i])
			}
			continue
		}
		mag := math.Abs(float64(init[i]) * float64(accum))
		for b := 0; b < kb; b++ {
			z := int(p.zpdef)
			if zp {
				z = int(zps[b*GroupCols+c])
			}
			for j := 0; j < bs; j++ {
				w := float64(int(code(codes[b*steps*64:], bits, c, j)) - z)
				mag += float64(af[r*(k+4)+b*bs+j]) * math.Abs(w*float64(sc[b*GroupCols+c]))
			}
		}
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > 1e-5*(mag+1e-6) {
			t.Fatalf("%s: out[%d][%d] got %g, want %g (|diff| %.3g, Σ|terms| %.3g)", name, r, c, got[i], want[i], d, mag)
		}
	}
}
