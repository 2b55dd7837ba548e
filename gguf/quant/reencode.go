package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// Re-encoding: several types that have no fused kernel of their own
// store their values as small integer codes times scales. Codes gives
// them as signed codes under int8 sub-block scales and one float16 scale,
// for kernels that read codes through a table of levels (CodeLevels);
// Reencode rewrites the blocks of the others as another type's, decoding
// (with ggml's decoder of the target) to the same floats:
//
//	Q1_0, Q2_0 → Q4_0   y = d·(q − 8) per 32: codes ±1, or −1…2
//	MXFP4      → Q8_0   y = d·q per 32: d = 2^(e−128) as a float16 (e from
//	                    104 to 143, which real weights' scales are), q the
//	                    doubled E2M1 value (−12…12)
//
// Both keep the activation rounding llama.cpp pairs with the source type
// (the targets pair the same: Q8_K for the super-block types, Q8_0 for
// the others). NVFP4 (a float scale per 16 elements) fits neither.

// Reencoded returns the type Reencode rewrites blocks of t as (Q4_0 or
// Q8_0); ok is false when there is none.
func Reencoded(t Type) (to Type, ok bool) {
	switch t {
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
// has no exact counterpart (an MXFP4 scale outside float16, a scale that
// is not finite) makes ok false; the bytes of dst are then unspecified. It
// fails with ErrType when t has no Reencoded type and ErrSize for sizes
// that do not fit.
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

// Codes writes block p of type t — one of the i-quant and ternary types
// whose values are small integers times scales — as signed codes from
// CodeLevels(t) and 16 int8 sub-block scales (one per 16 elements) under
// the block's float16 scale d, so that each value is
// ((d·sc)·CodeScale(t))·code exactly as float32 computes it (CodeScale
// is a power of two):
//
//	IQ3_S    scale 1,    sc = 2s+1, code ±grid      grid odd, ≤ 15
//	IQ3_XXS  scale 1/2,  sc = 2s+1, code ±grid/2    grid even, ≤ 62
//	IQ2_XXS  scale 1/8,  sc = 2s+1, code ±grid      grid 8, 25 or 43
//	IQ2_XS   the same, s per 16 elements
//	IQ2_S    the same, s per 16 elements
//	IQ1_S    scale 1/8,  sc = 2s+1, code 8g ± 1     g ∈ {−1, 0, 1}
//	IQ1_M    the same, s per 16 elements
//	TQ1_0    scale 1,    sc = 1,    code q − 1      q ∈ {0, 1, 2}
//	TQ2_0    the same, q ∈ {0, 1, 2, 3}
//
// (s the block's sub-block scale field; where d·sc is zero, each code is
// the level nearest 0 with the sign that gives the value's zero back). ok
// is false when t is none of these, p is not one block or some value is
// not that product (a scale that is not finite); codes and sc are then
// unspecified.
func Codes(t Type, p []byte, codes *[QKK]int8, sc *[16]int8) (d numeric.Float16, ok bool) {
	lv := codeLevels(t)
	if lv == nil || len(p) != t.BlockBytes() {
		return d, false
	}
	var y [QKK]float32
	decodeBlock(t, y[:], p)
	le16, le32 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32
	for j := range sc {
		ib := j / 2 // the 32-element group
		var s uint32
		switch t {
		case IQ3_S: // a nibble per group at 106
			s = uint32(p[106+ib/2]) >> (4 * (ib % 2)) & 15
		case IQ3_XXS: // the top 4 bits of the group's word at 2+64+4·ib
			s = le32(p[66+4*ib:]) >> 28
		case IQ2_XXS: // the top 4 bits of the group's second word
			s = uint32(p[2+8*ib+7]) >> 4
		case IQ2_XS: // a nibble per 16 elements at 66
			s = uint32(p[66+ib]) >> (4 * (j % 2)) & 15
		case IQ2_S: // a nibble per 16 elements at 74
			s = uint32(p[74+ib]) >> (4 * (j % 2)) & 15
		case IQ1_S: // bits 12–14 of the group's uint16 at 34+2·ib
			s = uint32(le16(p[34+2*ib:])) >> 12 & 7
		case IQ1_M: // 3 bits per 16 elements in the scale words at 48
			s = uint32(le16(p[48+2*(ib/2):])) >> (6*(ib%2) + 3*(j%2)) & 7
		}
		sc[j] = int8(2*s + 1) // TQ1_0, TQ2_0: 1
	}
	switch t {
	case TQ1_0, TQ2_0:
		d = f16(p[len(p)-2:]) // the ternary types store d last
	case IQ1_M:
		var b BlockIQ1_M
		b.Load(p)
		d = b.Scale()
	default:
		d = f16(p)
	}
	return d, scaledCodes(y[:], d.Float32(), CodeScale(t), sc, lv, codes)
}

// CodeScale returns the power of two that Codes's products for type t
// carry besides d and the sub-block scale (1 for a type it does not take).
func CodeScale(t Type) float32 {
	switch t {
	case IQ3_XXS:
		return 0.5
	case IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M:
		return 0.125
	}
	return 1
}

// CodeLevels returns the codes Codes writes for type t, ascending (nil
// for a type Codes does not take). At most 16.
func CodeLevels(t Type) []int8 {
	if ls := codeLevels(t); ls != nil {
		return append([]int8(nil), ls.levels...)
	}
	return nil
}

// levelSet is one type's code levels with what scaledCodes looks up per
// element, made once: membership by a code's uint8 bits, and the levels
// nearest 0 below it (neg) and at or above it (pos).
type levelSet struct {
	levels   []int8
	in       [256]bool
	neg, pos int8
}

func newLevelSet(levels ...int8) *levelSet {
	ls := &levelSet{levels: levels, neg: levels[0], pos: levels[len(levels)-1]}
	for _, l := range levels {
		ls.in[uint8(l)] = true
		if l < 0 {
			ls.neg = l
		}
		if l >= 0 && l < ls.pos {
			ls.pos = l
		}
	}
	return ls
}

var (
	levelsIQ3S   = newLevelSet(-15, -13, -11, -9, -7, -5, -3, -1, 1, 3, 5, 7, 9, 11, 13, 15)
	levelsIQ3XXS = newLevelSet(-31, -26, -22, -18, -14, -10, -6, -2, 2, 6, 10, 14, 18, 22, 26, 31)
	levelsIQ2    = newLevelSet(-43, -25, -8, 8, 25, 43)
	levelsIQ1    = newLevelSet(-9, -7, -1, 1, 7, 9)
	levelsTQ1    = newLevelSet(-1, 0, 1)
	levelsTQ2    = newLevelSet(-1, 0, 1, 2)
)

func codeLevels(t Type) *levelSet {
	switch t {
	case IQ3_S:
		return levelsIQ3S
	case IQ3_XXS:
		return levelsIQ3XXS
	case IQ2_XXS, IQ2_XS, IQ2_S:
		return levelsIQ2
	case IQ1_S, IQ1_M:
		return levelsIQ1
	case TQ1_0:
		return levelsTQ1
	case TQ2_0:
		return levelsTQ2
	}
	return nil
}

// scaledCodes sets codes[k] = y[k] / ((d·sc[k/16])·f) (the products in
// float32, as the decoders compute them; f a power of two) and reports
// whether each is one of ls's levels that gives y[k] back exactly. Where
// d·sc is zero the code is the level nearest 0 whose sign gives y[k]'s
// zero.
func scaledCodes(y []float32, d, f float32, sc *[16]int8, ls *levelSet, codes *[QKK]int8) bool {
	for j := range 16 {
		s := float32(d*float32(sc[j])) * f
		for k := 16 * j; k < 16*j+16; k++ {
			var c int
			if s == 0 {
				// (±0)·c is −0 when exactly one of s and c is negative.
				c = int(ls.pos)
				if math.Signbit(float64(y[k])) != math.Signbit(float64(s)) {
					c = int(ls.neg)
				}
			} else {
				c = nearestInt(y[k] / s)
			}
			if c < -128 || c > 127 || !ls.in[uint8(c)] || float32(s*float32(c)) != y[k] {
				return false
			}
			codes[k] = int8(c)
		}
	}
	return true
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

// Grid returns a copy of the grid of type t's 8-element patterns, one
// entry per index as ggml stores it (8 magnitudes, the bytes of a uint64
// from the lowest), for IQ2_XXS, IQ2_XS, IQ2_S and IQ1_S/IQ1_M; nil for
// the others. Kernels that decode a block's indices themselves need it.
func Grid(t Type) []uint64 {
	switch t {
	case IQ2_XXS:
		return append([]uint64(nil), iq2xxsGrid[:]...)
	case IQ2_XS:
		return append([]uint64(nil), iq2xsGrid[:]...)
	case IQ2_S:
		return append([]uint64(nil), iq2sGrid[:]...)
	case IQ1_S, IQ1_M:
		return append([]uint64(nil), iq1sGrid[:]...)
	}
	return nil
}

// Grid4 returns a copy of the grid of type t's 4-element patterns (IQ3_XXS,
// IQ3_S: 4 magnitudes as the bytes of a uint32, from the lowest), or nil
// for the others.
func Grid4(t Type) []uint32 {
	switch t {
	case IQ3_XXS:
		return append([]uint32(nil), iq3xxsGrid[:]...)
	case IQ3_S:
		return append([]uint32(nil), iq3sGrid[:]...)
	}
	return nil
}
