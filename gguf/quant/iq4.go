package quant

import (
	"encoding/binary"

	"github.com/zerfoo/zerfoo/numeric"
)

var (
	_ Block = (*BlockIQ4_NL)(nil)
	_ Block = (*BlockIQ4_XS)(nil)
)

// bestIndexIQ4 returns the index of the IQ4_NL level nearest to x (the
// upper one on ties), as ggml's best_index_int8 finds it by bisection.
func bestIndexIQ4(x float32) uint8 {
	v := &kvaluesIQ4NL
	if x <= float32(v[0]) {
		return 0
	}
	if x >= float32(v[15]) {
		return 15
	}
	lo, hi := 0, 15
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if x < float32(v[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if x-float32(v[hi-1]) < float32(v[hi])-x {
		return uint8(hi - 1)
	}
	return uint8(hi)
}

// iq4Ntry is the number of scale candidates on each side that
// quantize_iq4_nl and quantize_iq4_xs (llama-quantize's entry points) try.
const iq4Ntry = 7

// fitIQ4 fits one 32-element sub-block to d·kvaluesIQ4NL[L] with weights
// x² (ggml's quantize_row_iq4_nl_impl without an importance matrix): a
// first guess from the value of largest magnitude, then 2·iq4Ntry+1 inverse
// scales, keeping the best least-squares scale. It stores the codes of the
// first guess in l and returns d, or 0 for a sub-block of (near) zeros.
func fitIQ4(x []float32, l []uint8) float32 {
	var weight [32]float32
	for j, v := range x[:32] {
		weight[j] = v * v
	}
	amax, vmax := absMaxSigned(x[:32])
	if amax < groupMaxEps {
		return 0
	}
	v0 := float32(kvaluesIQ4NL[0])
	d := -vmax / v0
	id := 1 / d
	var sumQX, sumQ2 float32
	for j := 0; j < 32; j++ {
		k := bestIndexIQ4(id * x[j])
		l[j] = k
		q, w := float32(kvaluesIQ4NL[k]), weight[j]
		sumQX += float32(float32(w*q) * x[j])
		sumQ2 += float32(float32(w*q) * q)
	}
	d = 0
	if sumQ2 > 0 {
		d = sumQX / sumQ2
	}
	best := d * sumQX
	for itry := -iq4Ntry; itry <= iq4Ntry; itry++ {
		id = float32(itry+int(kvaluesIQ4NL[0])) / vmax
		sumQX, sumQ2 = 0, 0
		for j := 0; j < 32; j++ {
			q, w := float32(kvaluesIQ4NL[bestIndexIQ4(id*x[j])]), weight[j]
			sumQX += float32(float32(w*q) * x[j])
			sumQ2 += float32(float32(w*q) * q)
		}
		if sumQ2 > 0 && float32(sumQX*sumQX) > float32(best*sumQ2) {
			d = sumQX / sumQ2
			best = d * sumQX
		}
	}
	return d
}

// packIQ4 packs 32·n 4-bit codes: byte 16i+j holds element 32i+j in its low
// nibble and 32i+16+j in its high nibble.
func packIQ4(qs []uint8, l []uint8) {
	for i := 0; i < len(qs)/16; i++ {
		for j := 0; j < 16; j++ {
			qs[16*i+j] = l[32*i+j] | l[32*i+16+j]<<4
		}
	}
}

// BlockIQ4_NL is an IQ4_NL block (18 bytes): 32 elements y = D·kv[q] with
// 4-bit indices q into the 16 non-uniform levels kv of ggml's
// kvalues_iq4nl (−127 … 113), nibble order as in BlockQ4_0.
type BlockIQ4_NL struct {
	D  numeric.Float16
	Qs [QK / 2]uint8
}

// Load decodes b from its 18-byte encoding.
func (b *BlockIQ4_NL) Load(p []byte) { _ = p[17]; b.D = f16(p); copy(b.Qs[:], p[2:18]) }

// Store writes the 18-byte encoding of b.
func (b *BlockIQ4_NL) Store(p []byte) { _ = p[17]; putF16(p, b.D); copy(p[2:18], b.Qs[:]) }

// Dequantize writes the 32 elements of b to y (dequantize_row_iq4_nl).
func (b *BlockIQ4_NL) Dequantize(y []float32) {
	_ = y[QK-1]
	d := b.D.Float32()
	for j, q := range b.Qs {
		y[j] = d * float32(kvaluesIQ4NL[q&0xf])
		y[j+QK/2] = d * float32(kvaluesIQ4NL[q>>4])
	}
}

// Quantize sets b to the IQ4_NL encoding of x[:32], what ggml's
// quantize_iq4_nl (llama-quantize's entry point) writes without an
// importance matrix: the scale of fitIQ4, rounded to fp16 only for storage,
// and each element's nearest level at that (unrounded) scale. (ggml's
// quantize_row_iq4_nl_ref tries fewer scales and can differ.)
func (b *BlockIQ4_NL) Quantize(x []float32) {
	_ = x[QK-1]
	var l [QK]uint8
	d := fitIQ4(x, l[:])
	b.D = toF16(d)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	for j := range l {
		l[j] = bestIndexIQ4(id * x[j])
	}
	packIQ4(b.Qs[:], l[:])
}

// BlockIQ4_XS is an IQ4_XS super-block (136 bytes): 8 sub-blocks of 32
// elements, y = D·(s − 32)·kv[q] with IQ4_NL's levels kv and a 6-bit scale s
// per sub-block: its low 4 bits in ScalesL[i/2] (low nibble for even i),
// its high 2 bits in bits 2i–2i+1 of ScalesH. Qs holds the 4-bit indices of
// each sub-block in the nibble order of BlockIQ4_NL.
type BlockIQ4_XS struct {
	D       numeric.Float16
	ScalesH uint16
	ScalesL [QKK / 64]uint8
	Qs      [QKK / 2]uint8
}

// Load decodes b from its 136-byte encoding.
func (b *BlockIQ4_XS) Load(p []byte) {
	_ = p[135]
	b.D = f16(p)
	b.ScalesH = binary.LittleEndian.Uint16(p[2:])
	copy(b.ScalesL[:], p[4:8])
	copy(b.Qs[:], p[8:136])
}

// Store writes the 136-byte encoding of b.
func (b *BlockIQ4_XS) Store(p []byte) {
	_ = p[135]
	putF16(p, b.D)
	binary.LittleEndian.PutUint16(p[2:], b.ScalesH)
	copy(p[4:8], b.ScalesL[:])
	copy(p[8:136], b.Qs[:])
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq4_xs).
func (b *BlockIQ4_XS) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		dl := d * float32(b.Scale(ib)-32)
		out := y[32*ib : 32*ib+32]
		for j, q := range b.Qs[16*ib : 16*ib+16] {
			out[j] = dl * float32(kvaluesIQ4NL[q&0xf])
			out[j+16] = dl * float32(kvaluesIQ4NL[q>>4])
		}
	}
}

// Quantize sets b to the IQ4_XS encoding of x[:256], what ggml's
// quantize_iq4_xs (and quantize_row_iq4_xs_ref) write without an importance
// matrix: each sub-block's scale from fitIQ4, D = −s/32 for the scale s of
// largest magnitude, 6-bit sub-block scales rounded against D (unrounded),
// and each element's nearest level at its sub-block's rounded scale.
func (b *BlockIQ4_XS) Quantize(x []float32) {
	_ = x[QKK-1]
	var (
		l                   [QKK]uint8
		scales              [8]float32
		maxScale, amaxScale float32
	)
	for ib := 0; ib < 8; ib++ {
		scales[ib] = fitIQ4(x[32*ib:32*ib+32], l[32*ib:32*ib+32])
		if a := abs32(scales[ib]); a > amaxScale {
			amaxScale, maxScale = a, scales[ib]
		}
	}
	d := -maxScale / 32
	b.D = toF16(d)
	var id float32
	if d != 0 {
		id = 1 / d
	}
	b.ScalesH = 0
	for ib := 0; ib < 8; ib++ {
		s := max(-32, min(31, nearestInt(id*scales[ib])))
		dl := d * float32(s)
		var idl float32
		if dl != 0 {
			idl = 1 / dl
		}
		for j := 32 * ib; j < 32*ib+32; j++ {
			l[j] = bestIndexIQ4(idl * x[j])
		}
		s += 32
		if ib%2 == 0 {
			b.ScalesL[ib/2] = uint8(s & 0xf)
		} else {
			b.ScalesL[ib/2] |= uint8(s&0xf) << 4
		}
		b.ScalesH |= uint16(s>>4) << (2 * ib)
	}
	packIQ4(b.Qs[:], l[:])
}
