package quant

import (
	"encoding/binary"
	"fmt"

	"github.com/zerfoo/zerfoo/numeric"
)

// Re-encoding: several types that have no fused kernel in Zerfoo store
// their values as small integer codes times scales that another type's
// blocks can hold exactly. Reencode rewrites their blocks as that type's,
// decoding (with ggml's decoder of the target) to the same floats, so
// that the target's kernels can multiply them, with the activation
// rounding llama.cpp pairs with the source type (the targets pair the
// same: Q8_K for the super-block types, Q8_0 for the others). It costs
// memory, the target's bits per weight in place of the source's.
//
// Into Q6_K (y = D·sc·(q − 32), an int8 sc per 16 elements, 6-bit q):
//
//	IQ3_S    y = d·(2s+1)·(±grid)          grid ≤ 15
//	IQ3_XXS  y = (d/2)·(2s+1)·(±grid/2)    grid even, ≤ 62
//	IQ1_S    y = (d/8)·(2s+1)·(8g ± 1)     g ∈ {−1, 0, 1}
//	IQ1_M    the same, s per 16 elements
//	TQ1_0    y = d·1·(q − 1)               q ∈ {0, 1, 2}
//	TQ2_0    the same
//
// Into Q4_0 (y = d·(q − 8) per 32): Q1_0 (y = ±d, code ±1) and Q2_0
// (y = d·(q − 1), code −1…2), each 32 elements of a block with its d.
//
// Into Q8_0 (y = d·q per 32, int8 q): MXFP4, y = 2^(e−128)·kv with kv the
// doubled E2M1 value (−12…12), where 2^(e−128) is a float16 (e from 104
// to 143, which real weights' scales are).
//
// IQ2_XXS, IQ2_XS and IQ2_S (codes up to 43 with a 5-bit scale) and NVFP4
// (a float scale per 16 elements) fit none of these; IQ2Codes gives the
// IQ2 types' 8-bit codes for a tile format that holds them.

// Reencoded returns the type Reencode rewrites blocks of t as (Q6_K, Q4_0
// or Q8_0); ok is false when there is none.
func Reencoded(t Type) (to Type, ok bool) {
	switch t {
	case IQ3_S, IQ3_XXS, IQ1_S, IQ1_M, TQ1_0, TQ2_0:
		return Q6_K, true
	case Q1_0, Q2_0:
		return Q4_0, true
	case MXFP4:
		return Q8_0, true
	}
	return 0, false
}

// Reencode rewrites the blocks of type t in src as blocks of type
// Reencoded(t) in dst (as many elements; dst must have exactly their
// size) and reports whether every one decodes to the floats its source
// decodes to (== for each element). A block whose scale has no exact
// counterpart (d/2 or d/8 not a float16, an MXFP4 scale outside float16,
// a scale that is not finite) makes ok false; the bytes of dst are then
// unspecified. It fails with ErrType when t has no Reencoded type and
// ErrSize for sizes that do not fit.
func Reencode(t Type, dst, src []byte) (ok bool, err error) {
	to, ok := Reencoded(t)
	if !ok {
		return false, fmt.Errorf("quant: Reencode: %v: %w", t, ErrType)
	}
	bb, n := t.BlockBytes(), t.BlockSize()
	nb := len(src) / bb
	if want, _ := to.RowBytes(nb * n); len(src)%bb != 0 || len(dst) != want {
		return false, fmt.Errorf("quant: Reencode: %d bytes of %v into %d bytes of %v: %w", len(src), t, len(dst), to, ErrSize)
	}
	tb := to.BlockBytes() * n / to.BlockSize() // target bytes per source block
	y, z := make([]float32, n), make([]float32, n)
	for i := range nb {
		p, q := src[i*bb:(i+1)*bb], dst[i*tb:(i+1)*tb]
		var exact bool
		switch to {
		case Q6_K:
			exact = toQ6K(t, p, q, y)
		case Q4_0:
			exact = toQ4_0(t, p, q, y)
		case Q8_0:
			exact = mxfp4ToQ8_0(p, q, y)
		}
		if !exact {
			return false, nil
		}
		if err := Dequantize(to, z, q); err != nil {
			return false, err
		}
		for k := range y {
			if y[k] != z[k] {
				return false, nil
			}
		}
	}
	return true, nil
}

// toQ6K decodes block p of type t into y and writes its Q6_K re-encoding
// to q; false when the scale does not divide exactly or a code is out of
// range.
func toQ6K(t Type, p, q []byte, y []float32) bool {
	var sc [16]int
	d, exact := q6kScales(t, p, &sc, y)
	if !exact {
		return false
	}
	var (
		l  [QKK]int8
		q6 BlockQ6_K
	)
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
				return false
			}
			l[k] = int8(c + 32)
		}
	}
	q6.D = d
	q6.setCodes(&l)
	q6.Store(q)
	return true
}

// toQ4_0 decodes Q1_0 or Q2_0 block p into y and writes it as Q4_0
// blocks (its d, codes −1…2 + 8) to q.
func toQ4_0(t Type, p, q []byte, y []float32) bool {
	var b Decoder = new(BlockQ1_0)
	if t == Q2_0 {
		b = new(BlockQ2_0)
	}
	b.Load(p)
	b.Dequantize(y)
	d := f16(p) // both store d first
	df := d.Float32()
	var q4 BlockQ4_0
	q4.D = d
	for i := range len(y) / QK {
		for j := range QK / 2 {
			var c [2]int
			for h, k := range [2]int{QK*i + j, QK*i + j + QK/2} {
				if df != 0 {
					c[h] = nearestInt(y[k] / df)
				}
				if c[h] < -8 || c[h] > 7 {
					return false
				}
			}
			q4.Qs[j] = uint8(c[0]+8) | uint8(c[1]+8)<<4
		}
		q4.Store(q[18*i : 18*(i+1)])
	}
	return true
}

// mxfp4ToQ8_0 decodes MXFP4 block p into y and writes it as a Q8_0 block
// (the scale as a float16, the doubled E2M1 values as codes) to q; false
// when the scale is not a float16 and some code is not 0.
func mxfp4ToQ8_0(p, q []byte, y []float32) bool {
	var b BlockMXFP4
	b.Load(p)
	b.Dequantize(y)
	s := e8m0Half(b.E)
	d := toF16(s)
	if d.Float32() != s {
		if b.Qs != [QK / 2]uint8{} {
			return false
		}
		d = numeric.Float16FromBits(0) // all codes 0 (as a zero block's e of 0 gives): any scale decodes to 0
	}
	var q8 BlockQ8_0
	q8.D = d
	for j, v := range b.Qs {
		q8.Qs[j], q8.Qs[j+QK/2] = kvaluesFP4[v&0xf], kvaluesFP4[v>>4]
	}
	q8.Store(q)
	return true
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

// IQ2Codes writes block p of type IQ2_XXS, IQ2_XS or IQ2_S (whose values
// d·(0.5 + s)·0.25·(±grid), grid 8, 25 or 43, fit no 6-bit code) as signed
// 8-bit codes and 16 int8 sub-block scales under one float16 scale D:
// y = D·sc·code with D = d/8 and sc = 2s + 1. ok is false when d/8 is not
// a float16 or some value is not D·sc·code exactly (a scale that is not
// finite), for code that multiplies such tiles.
func IQ2Codes(t Type, p []byte, codes *[QKK]int8, sc *[16]int8) (d numeric.Float16, ok bool) {
	var y [QKK]float32
	switch t {
	case IQ2_XXS:
		var b BlockIQ2_XXS
		b.Load(p)
		b.Dequantize(y[:])
		d = b.D
		for ib := range 8 {
			s := int8(2*(p[2+8*ib+7]>>4) + 1) // bits 28–31 of the group's second word
			sc[2*ib], sc[2*ib+1] = s, s
		}
	case IQ2_XS, IQ2_S:
		var b Decoder = new(BlockIQ2_XS)
		scales := p[66:74]
		if t == IQ2_S {
			b, scales = new(BlockIQ2_S), p[74:82]
		}
		b.Load(p)
		b.Dequantize(y[:])
		d = f16(p)
		for ib, s := range scales {
			sc[2*ib], sc[2*ib+1] = int8(2*(s&15)+1), int8(2*(s>>4)+1)
		}
	default:
		return d, false
	}
	D := toF16(d.Float32() / 8)
	if D.Float32()*8 != d.Float32() {
		return D, false
	}
	df := D.Float32()
	for j := range 16 {
		s := float32(df * float32(sc[j]))
		for k := 16 * j; k < 16*j+16; k++ {
			c := 0
			if s != 0 {
				c = nearestInt(y[k] / s)
			}
			if c < -127 || c > 127 || float32(s*float32(c)) != y[k] {
				return D, false
			}
			codes[k] = int8(c)
		}
	}
	return D, true
}
