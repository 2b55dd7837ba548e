package quant

import (
	"encoding/binary"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// Decoder is implemented by a pointer to every block struct of this
// package: the block's file encoding and ggml's reference decoder. Load and
// Store panic if p is shorter than the type's BlockBytes; Dequantize panics
// if y is shorter than the block's element count (QK or QKK). Any bytes
// decode without panicking.
type Decoder interface {
	Load(p []byte)
	Store(p []byte)
	Dequantize(y []float32)
}

// Block is implemented by a pointer to every block struct whose type can
// be encoded (Type.CanQuantize): a Decoder plus ggml's reference quantizer.
// Quantize panics if x is shorter than the block's element count.
type Block interface {
	Decoder
	Quantize(x []float32)
}

var (
	_ Block = (*BlockQ4_0)(nil)
	_ Block = (*BlockQ4_1)(nil)
	_ Block = (*BlockQ5_0)(nil)
	_ Block = (*BlockQ5_1)(nil)
	_ Block = (*BlockQ8_0)(nil)
)

func f16(p []byte) numeric.Float16 { return numeric.Float16FromBits(binary.LittleEndian.Uint16(p)) }

func putF16(p []byte, h numeric.Float16) { binary.LittleEndian.PutUint16(p, h.Bits()) }

func toF16(f float32) numeric.Float16 { return numeric.Float16FromFloat32(f) }

// absMaxSigned returns the largest |x[i]| and the signed value that has it
// (the first one on ties), as ggml's reference quantizers pick it.
func absMaxSigned(x []float32) (amax, vmax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, vmax = a, v
		}
	}
	return amax, vmax
}

func minMax(x []float32) (min, max float32) {
	min, max = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	return min, max
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

func inv(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// trunc8 converts like C's (int8_t)f on x86: toward zero, and for f out of
// int32's range or NaN the low byte of the integer indefinite (see cvtt).
func trunc8(f float32) int { return int(int8(cvtt(float64(f)))) }

// cvtt converts f toward zero as x86's CVTTSS2SI/CVTTSD2SI do, which is
// what ggml's float-to-integer casts compile to on the machines whose
// llama-quantize output the goldens hold: NaN and values out of int32's
// range give math.MinInt32, on every architecture. Go's conversion is
// that on amd64, but arm64's FCVTZS saturates (and gives 0 for NaN), so a
// block of subnormal values, whose inverse scale overflows to infinity,
// would quantize to other bytes there.
func cvtt(f float64) int32 {
	if !(f > -2147483649 && f < 2147483648) {
		return math.MinInt32
	}
	return int32(f)
}

// BlockQ4_0 is a Q4_0 block (18 bytes): 32 elements y[j] = (q[j] − 8)·D with
// 4-bit codes; Qs[j] holds q[j] in its low nibble and q[j+16] in its high
// nibble.
type BlockQ4_0 struct {
	D  numeric.Float16
	Qs [QK / 2]uint8
}

// Load decodes b from its 18-byte encoding.
func (b *BlockQ4_0) Load(p []byte) { _ = p[17]; b.D = f16(p); copy(b.Qs[:], p[2:18]) }

// Store writes the 18-byte encoding of b.
func (b *BlockQ4_0) Store(p []byte) { _ = p[17]; putF16(p, b.D); copy(p[2:18], b.Qs[:]) }

// Dequantize writes the 32 elements of b to y.
func (b *BlockQ4_0) Dequantize(y []float32) {
	_ = y[QK-1]
	d := b.D.Float32()
	for j, q := range b.Qs {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+QK/2] = float32(int(q>>4)-8) * d
	}
}

// Quantize sets b to the Q4_0 encoding of x[:32] (ggml's
// quantize_row_q4_0_ref): D = v/−8 for the signed value v of largest
// magnitude, q = min(15, trunc(x/D + 8.5)).
func (b *BlockQ4_0) Quantize(x []float32) {
	_ = x[QK-1]
	_, vmax := absMaxSigned(x[:QK])
	d := vmax / -8
	id := inv(d)
	b.D = toF16(d)
	for j := range b.Qs {
		q0 := min(15, trunc8(float32(x[j]*id)+8.5))
		q1 := min(15, trunc8(float32(x[j+QK/2]*id)+8.5))
		b.Qs[j] = uint8(q0) | uint8(q1)<<4
	}
}

// BlockQ4_1 is a Q4_1 block (20 bytes): y = q·D + M with 4-bit codes in the
// nibble order of BlockQ4_0.
type BlockQ4_1 struct {
	D, M numeric.Float16
	Qs   [QK / 2]uint8
}

// Load decodes b from its 20-byte encoding.
func (b *BlockQ4_1) Load(p []byte) {
	_ = p[19]
	b.D, b.M = f16(p), f16(p[2:])
	copy(b.Qs[:], p[4:20])
}

// Store writes the 20-byte encoding of b.
func (b *BlockQ4_1) Store(p []byte) {
	_ = p[19]
	putF16(p, b.D)
	putF16(p[2:], b.M)
	copy(p[4:20], b.Qs[:])
}

// Dequantize writes the 32 elements of b to y.
func (b *BlockQ4_1) Dequantize(y []float32) {
	_ = y[QK-1]
	d, m := b.D.Float32(), b.M.Float32()
	for j, q := range b.Qs {
		y[j] = float32(float32(q&0xf)*d) + m
		y[j+QK/2] = float32(float32(q>>4)*d) + m
	}
}

// Quantize sets b to the Q4_1 encoding of x[:32] (quantize_row_q4_1_ref):
// M = min, D = (max − min)/15, q = min(15, trunc((x − min)/D + 0.5)).
func (b *BlockQ4_1) Quantize(x []float32) {
	_ = x[QK-1]
	lo, hi := minMax(x[:QK])
	d := (hi - lo) / 15
	id := inv(d)
	b.D, b.M = toF16(d), toF16(lo)
	for j := range b.Qs {
		q0 := min(15, trunc8(float32((x[j]-lo)*id)+0.5))
		q1 := min(15, trunc8(float32((x[j+QK/2]-lo)*id)+0.5))
		b.Qs[j] = uint8(q0) | uint8(q1)<<4
	}
}

// BlockQ5_0 is a Q5_0 block (22 bytes): y = (q − 16)·D with 5-bit codes: the
// low 4 bits in nibbles as in BlockQ4_0, bit 4 of q[j] in bit j of the
// little-endian uint32 Qh.
type BlockQ5_0 struct {
	D  numeric.Float16
	Qh [4]uint8
	Qs [QK / 2]uint8
}

// Load decodes b from its 22-byte encoding.
func (b *BlockQ5_0) Load(p []byte) {
	_ = p[21]
	b.D = f16(p)
	copy(b.Qh[:], p[2:6])
	copy(b.Qs[:], p[6:22])
}

// Store writes the 22-byte encoding of b.
func (b *BlockQ5_0) Store(p []byte) {
	_ = p[21]
	putF16(p, b.D)
	copy(p[2:6], b.Qh[:])
	copy(p[6:22], b.Qs[:])
}

// code5 returns the 5-bit codes of elements j and j+16.
func code5(qs uint8, qh uint32, j int) (q0, q1 int) {
	return int(qs&0xf) | int(qh>>j&1)<<4, int(qs>>4) | int(qh>>(j+16)&1)<<4
}

// pack5 returns the nibble byte and the Qh bits of codes q0 (element j) and
// q1 (element j+16).
func pack5(q0, q1, j int) (uint8, uint32) {
	return uint8(q0&0xf) | uint8(q1&0xf)<<4, uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+16)
}

// Dequantize writes the 32 elements of b to y.
func (b *BlockQ5_0) Dequantize(y []float32) {
	_ = y[QK-1]
	d := b.D.Float32()
	qh := binary.LittleEndian.Uint32(b.Qh[:])
	for j, qs := range b.Qs {
		q0, q1 := code5(qs, qh, j)
		y[j] = float32(q0-16) * d
		y[j+QK/2] = float32(q1-16) * d
	}
}

// Quantize sets b to the Q5_0 encoding of x[:32] (quantize_row_q5_0_ref):
// D = v/−16 for the signed value v of largest magnitude, q = min(31,
// trunc(x/D + 16.5)).
func (b *BlockQ5_0) Quantize(x []float32) {
	_ = x[QK-1]
	_, vmax := absMaxSigned(x[:QK])
	d := vmax / -16
	id := inv(d)
	b.D = toF16(d)
	var qh uint32
	for j := range b.Qs {
		q0 := min(31, trunc8(float32(x[j]*id)+16.5))
		q1 := min(31, trunc8(float32(x[j+QK/2]*id)+16.5))
		var h uint32
		b.Qs[j], h = pack5(q0, q1, j)
		qh |= h
	}
	binary.LittleEndian.PutUint32(b.Qh[:], qh)
}

// BlockQ5_1 is a Q5_1 block (24 bytes): y = q·D + M with 5-bit codes laid
// out as in BlockQ5_0.
type BlockQ5_1 struct {
	D, M numeric.Float16
	Qh   [4]uint8
	Qs   [QK / 2]uint8
}

// Load decodes b from its 24-byte encoding.
func (b *BlockQ5_1) Load(p []byte) {
	_ = p[23]
	b.D, b.M = f16(p), f16(p[2:])
	copy(b.Qh[:], p[4:8])
	copy(b.Qs[:], p[8:24])
}

// Store writes the 24-byte encoding of b.
func (b *BlockQ5_1) Store(p []byte) {
	_ = p[23]
	putF16(p, b.D)
	putF16(p[2:], b.M)
	copy(p[4:8], b.Qh[:])
	copy(p[8:24], b.Qs[:])
}

// Dequantize writes the 32 elements of b to y.
func (b *BlockQ5_1) Dequantize(y []float32) {
	_ = y[QK-1]
	d, m := b.D.Float32(), b.M.Float32()
	qh := binary.LittleEndian.Uint32(b.Qh[:])
	for j, qs := range b.Qs {
		q0, q1 := code5(qs, qh, j)
		y[j] = float32(float32(q0)*d) + m
		y[j+QK/2] = float32(float32(q1)*d) + m
	}
}

// Quantize sets b to the Q5_1 encoding of x[:32] (quantize_row_q5_1_ref):
// M = min, D = (max − min)/31, q = trunc((x − min)/D + 0.5).
func (b *BlockQ5_1) Quantize(x []float32) {
	_ = x[QK-1]
	lo, hi := minMax(x[:QK])
	d := (hi - lo) / 31
	id := inv(d)
	b.D, b.M = toF16(d), toF16(lo)
	var qh uint32
	for j := range b.Qs {
		q0 := int(uint8(cvtt(float64(float32((x[j]-lo)*id) + 0.5))))
		q1 := int(uint8(cvtt(float64(float32((x[j+QK/2]-lo)*id) + 0.5))))
		var h uint32
		b.Qs[j], h = pack5(q0, q1, j)
		qh |= h
	}
	binary.LittleEndian.PutUint32(b.Qh[:], qh)
}

// BlockQ8_0 is a Q8_0 block (34 bytes): y[j] = Qs[j]·D.
type BlockQ8_0 struct {
	D  numeric.Float16
	Qs [QK]int8
}

// Load decodes b from its 34-byte encoding.
func (b *BlockQ8_0) Load(p []byte) {
	_ = p[33]
	b.D = f16(p)
	for j := range b.Qs {
		b.Qs[j] = int8(p[2+j])
	}
}

// Store writes the 34-byte encoding of b.
func (b *BlockQ8_0) Store(p []byte) {
	_ = p[33]
	putF16(p, b.D)
	for j, q := range b.Qs {
		p[2+j] = uint8(q)
	}
}

// Dequantize writes the 32 elements of b to y.
func (b *BlockQ8_0) Dequantize(y []float32) {
	_ = y[QK-1]
	d := b.D.Float32()
	for j, q := range b.Qs {
		y[j] = float32(q) * d
	}
}

// Quantize sets b to the Q8_0 encoding of x[:32] (quantize_row_q8_0_ref):
// D = max|x|/127, q = round(x/D), halves away from zero.
func (b *BlockQ8_0) Quantize(x []float32) {
	_ = x[QK-1]
	var amax float32
	for _, v := range x[:QK] {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	id := inv(d)
	b.D = toF16(d)
	for j := range b.Qs {
		b.Qs[j] = int8(cvtt(math.Round(float64(x[j] * id))))
	}
}
