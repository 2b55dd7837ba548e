package quant

import (
	"encoding/binary"
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

// Several super-block types that have no fused kernel store, per group of
// 16 elements, an integer scale times a small integer code times one
// float16 per block — the shape of a Q6_K block (y = D·sc·(q − 32), int8 sc
// per 16, 6-bit q):
//
//	IQ3_S    y = d·(2s+1)·(±grid)          grid ≤ 15
//	IQ3_XXS  y = (d/2)·(2s+1)·(±grid/2)    grid even, ≤ 62
//	IQ1_S    y = (d/8)·(2s+1)·(8g ± 1)     g ∈ {−1, 0, 1}
//	IQ1_M    the same, s per 16 elements
//	TQ1_0    y = d·1·(q − 1)               q ∈ {0, 1, 2}
//	TQ2_0    the same
//
// ToQ6K re-encodes such blocks as Q6_K blocks that ggml's Q6_K decoder
// turns into the same floats, so that the Q6_K kernels can multiply them
// (llama.cpp pairs all of them with Q8_K activations, as Q6_K). It costs
// memory: 6.56 bits per weight against 1.56 (IQ1_S) to 3.44 (IQ3_S).

// ToQ6KTypes reports whether ToQ6K re-encodes type t.
func ToQ6KTypes(t Type) bool {
	switch t {
	case IQ3_S, IQ3_XXS, IQ1_S, IQ1_M, TQ1_0, TQ2_0:
		return true
	}
	return false
}

// ToQ6K re-encodes the blocks of type t in src as Q6_K blocks in dst
// (exactly as many, 210 bytes each) and reports whether every one decodes
// to the floats its source block decodes to (== for each element; a block
// whose d/2 or d/8 is not a float16, or whose scale is not finite, is
// not). The bytes of dst are unspecified when ok is false. It fails with
// ErrType for a type ToQ6KTypes rejects and ErrSize for sizes that do not
// fit.
func ToQ6K(t Type, dst, src []byte) (ok bool, err error) {
	if !ToQ6KTypes(t) {
		return false, fmt.Errorf("quant: ToQ6K: %v: %w", t, ErrType)
	}
	bb := t.BlockBytes()
	nb := len(src) / bb
	if len(src)%bb != 0 || len(dst) != nb*Q6_K.BlockBytes() {
		return false, fmt.Errorf("quant: ToQ6K: %d bytes of %v into %d bytes of Q6_K: %w", len(src), t, len(dst), ErrSize)
	}
	var (
		y, z [QKK]float32
		sc   [16]int
		q6   BlockQ6_K
	)
	for i := range nb {
		p := src[i*bb : (i+1)*bb]
		d, exact := q6kScales(t, p, &sc, y[:])
		if !exact {
			return false, nil
		}
		var l [QKK]int8
		df := d.Float32()
		for j := range 16 {
			q6.Scales[j] = int8(sc[j])
			s := float32(df * float32(sc[j]))
			for k := 16 * j; k < 16*j+16; k++ {
				c := 0
				if s != 0 {
					c = nearestInt(y[k] / s)
				}
				if c < -32 || c > 31 {
					return false, nil
				}
				l[k] = int8(c + 32)
			}
		}
		q6.D = d
		q6.setCodes(&l)
		q6.Dequantize(z[:])
		if z != y {
			return false, nil
		}
		q6.Store(dst[i*210 : (i+1)*210])
	}
	return true, nil
}

// q6kScales decodes block p of type t into y and returns the Q6_K scale D
// and the 16 sub-block scales of its re-encoding; exact is false when D is
// not the source scale divided exactly.
func q6kScales(t Type, p []byte, sc *[16]int, y []float32) (d numeric.Float16, exact bool) {
	var div float32 = 1
	switch t {
	case IQ3_S:
		var b BlockIQ3_S
		b.Load(p)
		b.Dequantize(y)
		for j := range sc {
			sc[j] = 1 + 2*int(b.Scales[j/4]>>(4*(j/2%2))&0xf)
		}
		d = b.D
	case IQ3_XXS:
		var b BlockIQ3_XXS
		b.Load(p)
		b.Dequantize(y)
		for j := range sc {
			sc[j] = 1 + 2*int(binary.LittleEndian.Uint32(b.Qs[64+4*(j/2):])>>28)
		}
		d, div = b.D, 2
	case IQ1_S:
		var b BlockIQ1_S
		b.Load(p)
		b.Dequantize(y)
		for j := range sc {
			sc[j] = 1 + 2*int(b.Qh[j/2]>>12&7)
		}
		d, div = b.D, 8
	case IQ1_M:
		var b BlockIQ1_M
		b.Load(p)
		b.Dequantize(y)
		for j := range sc {
			ib := j / 2
			w := binary.LittleEndian.Uint16(b.Scales[2*(ib/2):])
			sc[j] = 1 + 2*int(w>>(6*(ib%2)+3*(j%2))&7)
		}
		d, div = b.Scale(), 8
	case TQ1_0, TQ2_0:
		var b Decoder = new(BlockTQ1_0)
		if t == TQ2_0 {
			b = new(BlockTQ2_0)
		}
		b.Load(p)
		b.Dequantize(y)
		for j := range sc {
			sc[j] = 1
		}
		d = f16(p[len(p)-2:]) // both store D last
	}
	if div == 1 {
		return d, true
	}
	q := toF16(d.Float32() / div)
	return q, q.Float32()*div == d.Float32()
}
