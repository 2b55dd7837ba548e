package quant

import (
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

var (
	_ Block = (*BlockTQ1_0)(nil)
	_ Block = (*BlockTQ2_0)(nil)
)

// pow3 holds 3⁰ … 3⁵ as ggml's TQ1_0 decoder uses them (3⁵ = 243 fits a
// byte).
var pow3 = [6]uint8{1, 3, 9, 27, 81, 243}

// lround is C's lroundf as x86-64 computes it: round half away from zero,
// and the "integer indefinite" value (math.MinInt64) for NaN and values out
// of int64 range.
func lround(f float32) int64 {
	r := math.Round(float64(f))
	if r != r || r >= 1<<63 || r < -(1<<63) {
		return math.MinInt64
	}
	return int64(r)
}

// ternaryScale returns the largest |x[i]| (ggml's MAX macro, which lets a
// later value replace a NaN) and its inverse, or 0 for an all-zero block.
func ternaryScale(x []float32) (d, id float32) {
	for _, v := range x {
		if a := abs32(v); !(d > a) {
			d = a
		}
	}
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

// trit returns the ternary code (0, 1, 2 for −1, 0, 1) of x·id.
func trit(x, id float32) int { return int(lround(x*id) + 1) } // callers keep the low bits

// BlockTQ1_0 is a TQ1_0 super-block (54 bytes, D last): 256 ternary
// elements y = D·(t − 1), t in 0..2, packed five to a byte as a base-3
// fraction: byte q holds the trits t₀…t₄ (most significant first) as
// q = ⌈(Σ tₖ·3^(4−k))·256/243⌉, and t_k is ((q·3^k mod 256)·3) >> 8. Qs[m]
// (m < 32) holds elements m+32k, Qs[32+m] (m < 16) elements 160+m+16k, and
// Qh[j] four elements 240+j+4k (with a zero fifth trit).
type BlockTQ1_0 struct {
	Qs [48]uint8
	Qh [4]uint8
	D  numeric.Float16
}

// Load decodes b from its 54-byte encoding.
func (b *BlockTQ1_0) Load(p []byte) {
	_ = p[53]
	copy(b.Qs[:], p[0:48])
	copy(b.Qh[:], p[48:52])
	b.D = f16(p[52:])
}

// Store writes the 54-byte encoding of b.
func (b *BlockTQ1_0) Store(p []byte) {
	_ = p[53]
	copy(p[0:48], b.Qs[:])
	copy(p[48:52], b.Qh[:])
	putF16(p[52:], b.D)
}

// tq1Trit returns trit k of the base-3 fraction byte q.
func tq1Trit(q uint8, k int) int { return int(uint16(q*pow3[k])*3>>8) - 1 }

// Dequantize writes the 256 elements of b to y (dequantize_row_tq1_0).
func (b *BlockTQ1_0) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	i := 0
	for k := 0; k < 5; k++ {
		for _, q := range b.Qs[:32] {
			y[i] = float32(tq1Trit(q, k)) * d
			i++
		}
	}
	for k := 0; k < 5; k++ {
		for _, q := range b.Qs[32:] {
			y[i] = float32(tq1Trit(q, k)) * d
			i++
		}
	}
	for k := 0; k < 4; k++ {
		for _, q := range b.Qh {
			y[i] = float32(tq1Trit(q, k)) * d
			i++
		}
	}
}

// tq1Pack returns the TQ1_0 byte of the trits of x[0], x[stride], … (n of
// them, then 5−n zero trits).
func tq1Pack(x []float32, stride, n int, id float32) uint8 {
	var q uint8
	for k := 0; k < n; k++ {
		q = q*3 + uint8(trit(x[k*stride], id))
	}
	for k := n; k < 5; k++ {
		q *= 3
	}
	return uint8((int(q)*256 + 242) / 243)
}

// Quantize sets b to the TQ1_0 encoding of x[:256] (quantize_row_tq1_0_ref):
// D is the largest magnitude and each element rounds to the nearest of
// −D, 0, D.
func (b *BlockTQ1_0) Quantize(x []float32) {
	_ = x[QKK-1]
	d, id := ternaryScale(x[:QKK])
	b.D = toF16(d)
	for m := 0; m < 32; m++ {
		b.Qs[m] = tq1Pack(x[m:], 32, 5, id)
	}
	for m := 0; m < 16; m++ {
		b.Qs[32+m] = tq1Pack(x[160+m:], 16, 5, id)
	}
	for j := 0; j < 4; j++ {
		b.Qh[j] = tq1Pack(x[240+j:], 4, 4, id)
	}
}

// BlockTQ2_0 is a TQ2_0 super-block (66 bytes, D last): 256 elements
// y = D·(q − 1) with 2-bit q (3 does not occur in ggml's output but decodes
// to 2·D); Qs[32h+m] holds element 128h+m+32k in bits 2k–2k+1.
type BlockTQ2_0 struct {
	Qs [QKK / 4]uint8
	D  numeric.Float16
}

// Load decodes b from its 66-byte encoding.
func (b *BlockTQ2_0) Load(p []byte) { _ = p[65]; copy(b.Qs[:], p[0:64]); b.D = f16(p[64:]) }

// Store writes the 66-byte encoding of b.
func (b *BlockTQ2_0) Store(p []byte) { _ = p[65]; copy(p[0:64], b.Qs[:]); putF16(p[64:], b.D) }

// Dequantize writes the 256 elements of b to y (dequantize_row_tq2_0).
func (b *BlockTQ2_0) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for h := 0; h < 2; h++ {
		for k := 0; k < 4; k++ {
			out := y[128*h+32*k : 128*h+32*k+32]
			for m, q := range b.Qs[32*h : 32*h+32] {
				out[m] = float32(int(q>>(2*k)&3)-1) * d
			}
		}
	}
}

// Quantize sets b to the TQ2_0 encoding of x[:256] (quantize_row_tq2_0_ref):
// D is the largest magnitude and each element rounds to the nearest of
// −D, 0, D.
func (b *BlockTQ2_0) Quantize(x []float32) {
	_ = x[QKK-1]
	d, id := ternaryScale(x[:QKK])
	b.D = toF16(d)
	for h := 0; h < 2; h++ {
		for m := 0; m < 32; m++ {
			var q uint8
			for k := 0; k < 4; k++ {
				q += uint8(trit(x[128*h+m+32*k], id)&3) << (2 * k)
			}
			b.Qs[32*h+m] = q
		}
	}
}
