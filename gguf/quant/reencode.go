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
// decodes to (== for each element): each value is checked to be its code
// times its scale as the target's decoder computes it. A block whose scale
// has no exact counterpart (d/2 or d/8 not a float16, an MXFP4 scale
// outside float16, a scale that is not finite) makes ok false; the bytes
// of dst are then unspecified. It fails with ErrType when t has no Reencoded type and
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
	y := make([]float32, n)
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
	}
	return true, nil
}

// toQ6K decodes block p of type t into y and writes its Q6_K re-encoding
// to q; false when the scale does not divide exactly or some value is not
// (D·sc)·code exactly with a 6-bit code, as Q6_K's decoder computes it.
func toQ6K(t Type, p, q []byte, y []float32) bool {
	var (
		q6    BlockQ6_K
		codes [QKK]int8
	)
	d, exact := q6kScales(t, p, &q6.Scales, y)
	if !exact || !scaledCodes(y, d.Float32(), &q6.Scales, 31, &codes) {
		return false
	}
	for k, c := range codes {
		codes[k] = c + 32
	}
	q6.D = d
	q6.setCodes(&codes)
	q6.Store(q)
	return true
}

// scaledCodes sets codes[k] = y[k] / (d·sc[k/16]) (the product in float32,
// as the decoders compute it) and reports whether each is an integer in
// −lim−1…lim that gives y[k] back exactly.
func scaledCodes(y []float32, d float32, sc *[16]int8, lim int, codes *[QKK]int8) bool {
	for j := range 16 {
		s := float32(d * float32(sc[j]))
		for k := 16 * j; k < 16*j+16; k++ {
			c := 0
			if s != 0 {
				c = nearestInt(y[k] / s)
			}
			if c < -lim-1 || c > lim || float32(s*float32(c)) != y[k] {
				return false
			}
			codes[k] = int8(c)
		}
	}
	return true
}

// divScale returns d/div as a float16 and whether it is exact.
func divScale(d numeric.Float16, div float32) (numeric.Float16, bool) {
	q := toF16(d.Float32() / div)
	return q, q.Float32()*div == d.Float32()
}

// toQ4_0 decodes Q1_0 or Q2_0 block p into y and writes it as Q4_0
// blocks (its d, codes −1…2 + 8) to q; false when some value is not
// code·d exactly (a scale that is not finite).
func toQ4_0(t Type, p, q []byte, y []float32) bool {
	decodeBlock(t, y, p)
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
				if c[h] < -8 || c[h] > 7 || float32(c[h])*df != y[k] {
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
// and the 16 sub-block scales of its re-encoding (read from p's bytes:
// the block layouts of iquant.go and ternary.go); exact is false when D is
// not the source scale divided exactly.
func q6kScales(t Type, p []byte, sc *[16]int8, y []float32) (d numeric.Float16, exact bool) {
	decodeBlock(t, y, p)
	le32 := binary.LittleEndian.Uint32
	var div float32 = 1
	for j := range sc {
		ib := j / 2 // the 32-element group
		var s uint32
		switch t {
		case IQ3_S: // Scales at 106, a nibble per group
			s = uint32(p[106+ib/2]) >> (4 * (ib % 2)) & 15
		case IQ3_XXS: // the top 4 bits of the group's word at 2+64+4·ib
			s = le32(p[66+4*ib:]) >> 28
		case IQ1_S: // bits 12–14 of the group's uint16 at 34+2·ib
			s = uint32(binary.LittleEndian.Uint16(p[34+2*ib:])) >> 12 & 7
		case IQ1_M: // 3 bits per 16 elements in the scale words at 48
			s = uint32(binary.LittleEndian.Uint16(p[48+2*(ib/2):])) >> (6*(ib%2) + 3*(j%2)) & 7
		}
		sc[j] = int8(2*s + 1) // TQ1_0, TQ2_0: 1
	}
	switch t {
	case IQ3_S, IQ3_XXS:
		d = f16(p)
		if t == IQ3_XXS {
			div = 2
		}
	case IQ1_S:
		d, div = f16(p), 8
	case IQ1_M:
		var b BlockIQ1_M
		b.Load(p)
		d, div = b.Scale(), 8
	case TQ1_0, TQ2_0:
		d = f16(p[len(p)-2:]) // both store D last
	}
	if div == 1 {
		return d, true
	}
	return divScale(d, div)
}

// IQ2Codes writes block p of type IQ2_XXS, IQ2_XS or IQ2_S (whose values
// d·(0.5 + s)·0.25·(±grid), grid 8, 25 or 43, fit no 6-bit code) as signed
// 8-bit codes and 16 int8 sub-block scales under one float16 scale D:
// y = D·sc·code with D = d/8 and sc = 2s + 1. ok is false when d/8 is not
// a float16 or some value is not D·sc·code exactly (a scale that is not
// finite), for code that multiplies such tiles.
func IQ2Codes(t Type, p []byte, codes *[QKK]int8, sc *[16]int8) (d numeric.Float16, ok bool) {
	var y [QKK]float32
	if t != IQ2_XXS && t != IQ2_XS && t != IQ2_S {
		return d, false
	}
	decodeBlock(t, y[:], p)
	if t == IQ2_XXS {
		for ib := range 8 {
			s := int8(2*(p[2+8*ib+7]>>4) + 1) // bits 28–31 of the group's second word
			sc[2*ib], sc[2*ib+1] = s, s
		}
	} else {
		scales := p[66:74] // IQ2_XS
		if t == IQ2_S {
			scales = p[74:82]
		}
		for ib, s := range scales {
			sc[2*ib], sc[2*ib+1] = int8(2*(s&15)+1), int8(2*(s>>4)+1)
		}
	}
	d, ok = divScale(f16(p), 8)
	return d, ok && scaledCodes(y[:], d.Float32(), sc, 127, codes)
}

// decodeBlock decodes one block of t (a type the re-encoders read) from p
// into y with concrete block values, so that a loader decoding millions of
// blocks allocates nothing (Dequantize's generic path allocates its block).
func decodeBlock(t Type, y []float32, p []byte) {
	switch t {
	case IQ3_S:
		var b BlockIQ3_S
		b.Load(p)
		b.Dequantize(y)
	case IQ3_XXS:
		var b BlockIQ3_XXS
		b.Load(p)
		b.Dequantize(y)
	case IQ1_S:
		var b BlockIQ1_S
		b.Load(p)
		b.Dequantize(y)
	case IQ1_M:
		var b BlockIQ1_M
		b.Load(p)
		b.Dequantize(y)
	case TQ1_0:
		var b BlockTQ1_0
		b.Load(p)
		b.Dequantize(y)
	case TQ2_0:
		var b BlockTQ2_0
		b.Load(p)
		b.Dequantize(y)
	case IQ2_XXS:
		var b BlockIQ2_XXS
		b.Load(p)
		b.Dequantize(y)
	case IQ2_XS:
		var b BlockIQ2_XS
		b.Load(p)
		b.Dequantize(y)
	case IQ2_S:
		var b BlockIQ2_S
		b.Load(p)
		b.Dequantize(y)
	case Q1_0:
		var b BlockQ1_0
		b.Load(p)
		b.Dequantize(y)
	case Q2_0:
		var b BlockQ2_0
		b.Load(p)
		b.Dequantize(y)
	default:
		panic("quant: decodeBlock: " + t.String())
	}
}
