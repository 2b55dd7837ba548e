package quant

import (
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// The 1- and 2-bit block types llama.cpp added after the ternary ones
// (ggml types 41 and 42): one fp16 scale per block of sign bits or 2-bit
// codes, with Q8_0 activations in llama.cpp's dot products.

var (
	_ Block = (*BlockQ1_0)(nil)
	_ Block = (*BlockQ2_0)(nil)
)

// QK1_0 and QK2_0 are the elements in a Q1_0 and a Q2_0 block.
const (
	QK1_0 = 128
	QK2_0 = 64
)

// BlockQ1_0 is a Q1_0 block (18 bytes): 128 elements y[j] = ±D, bit j%8 of
// Qs[j/8] set for +D.
type BlockQ1_0 struct {
	D  numeric.Float16
	Qs [QK1_0 / 8]uint8
}

// Load reads the block's 18-byte encoding (D first).
func (b *BlockQ1_0) Load(p []byte) { _ = p[17]; b.D = f16(p); copy(b.Qs[:], p[2:18]) }

// Store writes the block's 18-byte encoding.
func (b *BlockQ1_0) Store(p []byte) { _ = p[17]; putF16(p, b.D); copy(p[2:18], b.Qs[:]) }

// Dequantize writes the block's 128 elements to y (dequantize_row_q1_0).
func (b *BlockQ1_0) Dequantize(y []float32) {
	_ = y[QK1_0-1]
	d := b.D.Float32()
	for j := range QK1_0 {
		if b.Qs[j/8]>>(j%8)&1 != 0 {
			y[j] = d
		} else {
			y[j] = -d
		}
	}
}

// Quantize sets b to the Q1_0 encoding of x[:128] (quantize_row_q1_0_ref):
// D is the mean |x| summed in float32 in order, and each bit is set for
// x ≥ 0.
func (b *BlockQ1_0) Quantize(x []float32) {
	x = x[:QK1_0]
	var sum float32
	for _, v := range x {
		sum += abs32(v)
	}
	b.D = toF16(sum / QK1_0)
	b.Qs = [QK1_0 / 8]uint8{}
	for j, v := range x {
		if v >= 0 {
			b.Qs[j/8] |= 1 << (j % 8)
		}
	}
}

// BlockQ2_0 is a Q2_0 block (18 bytes): 64 elements y[j] = (q[j] − 1)·D
// with 2-bit codes q[j] at bits 2·(j%4) of Qs[j/4].
type BlockQ2_0 struct {
	D  numeric.Float16
	Qs [QK2_0 / 4]uint8
}

// Load reads the block's 18-byte encoding (D first).
func (b *BlockQ2_0) Load(p []byte) { _ = p[17]; b.D = f16(p); copy(b.Qs[:], p[2:18]) }

// Store writes the block's 18-byte encoding.
func (b *BlockQ2_0) Store(p []byte) { _ = p[17]; putF16(p, b.D); copy(p[2:18], b.Qs[:]) }

// Dequantize writes the block's 64 elements to y (dequantize_row_q2_0).
func (b *BlockQ2_0) Dequantize(y []float32) {
	_ = y[QK2_0-1]
	d := b.D.Float32()
	for j := range QK2_0 {
		q := int(b.Qs[j/4]>>(2*(j%4))) & 3
		y[j] = float32(q-1) * d
	}
}

// Quantize sets b to the Q2_0 encoding of x[:64] (quantize_row_q2_0_ref):
// D = max |x|, and each code is round(x/D) (half away from zero) + 1,
// clamped to 0..3, with x/D computed as x·(1/D) in float32.
func (b *BlockQ2_0) Quantize(x []float32) {
	x = x[:QK2_0]
	amax, _ := absMaxSigned(x)
	id := inv(amax)
	b.D = toF16(amax)
	b.Qs = [QK2_0 / 4]uint8{}
	for j, v := range x {
		q := cInt(float32(math.Round(float64(v*id)))) + 1
		q = max(0, min(3, q))
		b.Qs[j/4] |= uint8(q) << (2 * (j % 4))
	}
}

// cInt converts like C's (int)f on x86-64 (cvttss2si): toward zero, and
// the "integer indefinite" value math.MinInt32 for NaN or out of range.
func cInt(f float32) int {
	if !(f > -2147483649 && f < 2147483648) {
		return math.MinInt32
	}
	return int(int32(f))
}
