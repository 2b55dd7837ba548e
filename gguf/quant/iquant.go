package quant

import (
	"encoding/binary"

	"github.com/zerfoo/zerfoo/numeric"
)

// The IQ1, IQ2 and IQ3 types ("i-quants") store, per group of 8 (or 4)
// elements, an index into a fixed grid of magnitude patterns (the tables in
// iquant_tables.go, part of the file format) plus sign bits. This package
// decodes them; it does not encode them.

var (
	_ Decoder = (*BlockIQ2_XXS)(nil)
	_ Decoder = (*BlockIQ2_XS)(nil)
	_ Decoder = (*BlockIQ2_S)(nil)
	_ Decoder = (*BlockIQ3_XXS)(nil)
	_ Decoder = (*BlockIQ3_S)(nil)
	_ Decoder = (*BlockIQ1_S)(nil)
	_ Decoder = (*BlockIQ1_M)(nil)
)

// iq1Delta is ggml's IQ1S_DELTA (and IQ1M_DELTA).
const iq1Delta = 0.125

// sign returns −1 if bit j of s is set, else 1 (ggml's kmask_iq2xs test).
func sign(s uint8, j int) float32 {
	if s>>j&1 != 0 {
		return -1
	}
	return 1
}

// signed8 writes y[j] = db·g[j]·sign(s, j) for the 8 bytes g[j] of a grid
// entry, in ggml's order of operations.
func signed8(y []float32, db float32, g uint64, s uint8) {
	_ = y[7]
	for j := 0; j < 8; j++ {
		y[j] = float32(db*float32(uint8(g>>(8*j)))) * sign(s, j)
	}
}

// BlockIQ2_XXS is an IQ2_XXS super-block (66 bytes): 8 groups of 32
// elements, each two little-endian uint32 words taken from Qs: the bytes of
// the first index iq2xxsGrid for 4 runs of 8 elements; the second holds four
// 7-bit sign indices into ksignsIQ2XS (bits 7k…) and a 4-bit scale s (bits
// 28–31), y = D·(0.5 + s)·0.25·grid·sign.
type BlockIQ2_XXS struct {
	D  numeric.Float16
	Qs [QKK / 8]uint16
}

// Load decodes b from its 66-byte encoding.
func (b *BlockIQ2_XXS) Load(p []byte) {
	_ = p[65]
	b.D = f16(p)
	for i := range b.Qs {
		b.Qs[i] = binary.LittleEndian.Uint16(p[2+2*i:])
	}
}

// Store writes the 66-byte encoding of b.
func (b *BlockIQ2_XXS) Store(p []byte) {
	_ = p[65]
	putF16(p, b.D)
	for i, q := range b.Qs {
		binary.LittleEndian.PutUint16(p[2+2*i:], q)
	}
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq2_xxs).
func (b *BlockIQ2_XXS) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		q := b.Qs[4*ib : 4*ib+4]
		grid := uint32(q[0]) | uint32(q[1])<<16
		aux := uint32(q[2]) | uint32(q[3])<<16
		db := d * (0.5 + float32(aux>>28)) * 0.25
		for l := 0; l < 4; l++ {
			g := iq2xxsGrid[uint8(grid>>(8*l))]
			signed8(y[32*ib+8*l:], db, g, ksignsIQ2XS[aux>>(7*l)&127])
		}
	}
}

// BlockIQ2_XS is an IQ2_XS super-block (74 bytes): 8 groups of 32
// elements, 4 runs of 8 each; Qs[4i+l] holds a 9-bit index into iq2xsGrid
// and a 7-bit sign index (bits 9–15) into ksignsIQ2XS, and the nibbles of
// Scales[i] scale runs 0–1 and 2–3: y = D·(0.5 + s)·0.25·grid·sign.
type BlockIQ2_XS struct {
	D      numeric.Float16
	Qs     [QKK / 8]uint16
	Scales [QKK / 32]uint8
}

// Load decodes b from its 74-byte encoding.
func (b *BlockIQ2_XS) Load(p []byte) {
	_ = p[73]
	b.D = f16(p)
	for i := range b.Qs {
		b.Qs[i] = binary.LittleEndian.Uint16(p[2+2*i:])
	}
	copy(b.Scales[:], p[66:74])
}

// Store writes the 74-byte encoding of b.
func (b *BlockIQ2_XS) Store(p []byte) {
	_ = p[73]
	putF16(p, b.D)
	for i, q := range b.Qs {
		binary.LittleEndian.PutUint16(p[2+2*i:], q)
	}
	copy(p[66:74], b.Scales[:])
}

// iq2Scales returns ggml's two run scales d·(0.5 + s)·0.25 of the nibbles s
// of sc.
func iq2Scales(d float32, sc uint8) [2]float32 {
	return [2]float32{d * (0.5 + float32(sc&0xf)) * 0.25, d * (0.5 + float32(sc>>4)) * 0.25}
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq2_xs).
func (b *BlockIQ2_XS) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		db := iq2Scales(d, b.Scales[ib])
		for l := 0; l < 4; l++ {
			q := b.Qs[4*ib+l]
			signed8(y[32*ib+8*l:], db[l/2], iq2xsGrid[q&511], ksignsIQ2XS[q>>9])
		}
	}
}

// BlockIQ2_S is an IQ2_S super-block (82 bytes): 8 groups of 32 elements,
// 4 runs of 8 each. Qs[:32] holds the low 8 bits of a 10-bit index into
// iq2sGrid per run (the top 2 bits of run l of group i are bits 2l–2l+1 of
// Qh[i]), Qs[32:] the 8 sign bits of each run, and the nibbles of Scales[i]
// scale runs 0–1 and 2–3: y = D·(0.5 + s)·0.25·grid·sign.
type BlockIQ2_S struct {
	D      numeric.Float16
	Qs     [QKK / 4]uint8
	Qh     [QKK / 32]uint8
	Scales [QKK / 32]uint8
}

// Load decodes b from its 82-byte encoding.
func (b *BlockIQ2_S) Load(p []byte) {
	_ = p[81]
	b.D = f16(p)
	copy(b.Qs[:], p[2:66])
	copy(b.Qh[:], p[66:74])
	copy(b.Scales[:], p[74:82])
}

// Store writes the 82-byte encoding of b.
func (b *BlockIQ2_S) Store(p []byte) {
	_ = p[81]
	putF16(p, b.D)
	copy(p[2:66], b.Qs[:])
	copy(p[66:74], b.Qh[:])
	copy(p[74:82], b.Scales[:])
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq2_s).
func (b *BlockIQ2_S) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		db := iq2Scales(d, b.Scales[ib])
		for l := 0; l < 4; l++ {
			idx := int(b.Qs[4*ib+l]) | int(b.Qh[ib])<<(8-2*l)&0x300
			signed8(y[32*ib+8*l:], db[l/2], iq2sGrid[idx], b.Qs[32+4*ib+l])
		}
	}
}

// signed4 writes y[j] = db·g[j]·sign(s, shift+j) for the 4 bytes g[j] of an
// IQ3 grid entry.
func signed4(y []float32, db float32, g uint32, s uint8, shift int) {
	_ = y[3]
	for j := 0; j < 4; j++ {
		y[j] = float32(db*float32(uint8(g>>(8*j)))) * sign(s, shift+j)
	}
}

// BlockIQ3_XXS is an IQ3_XXS super-block (98 bytes): 8 groups of 32
// elements, 8 runs of 4 each. Qs[8i+r] (r < 8) indexes iq3xxsGrid for run
// r of group i; Qs[64+4i:] is a little-endian uint32 with four 7-bit sign
// indices into ksignsIQ2XS (bits 7k…, one per pair of runs) and a 4-bit
// scale s (bits 28–31): y = D·(0.5 + s)·0.5·grid·sign.
type BlockIQ3_XXS struct {
	D  numeric.Float16
	Qs [3 * QKK / 8]uint8
}

// Load decodes b from its 98-byte encoding.
func (b *BlockIQ3_XXS) Load(p []byte) { _ = p[97]; b.D = f16(p); copy(b.Qs[:], p[2:98]) }

// Store writes the 98-byte encoding of b.
func (b *BlockIQ3_XXS) Store(p []byte) { _ = p[97]; putF16(p, b.D); copy(p[2:98], b.Qs[:]) }

// Dequantize writes the 256 elements of b to y (dequantize_row_iq3_xxs).
func (b *BlockIQ3_XXS) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		aux := binary.LittleEndian.Uint32(b.Qs[64+4*ib:])
		db := d * (0.5 + float32(aux>>28)) * 0.5
		qs := b.Qs[8*ib : 8*ib+8]
		for l := 0; l < 4; l++ {
			s := ksignsIQ2XS[aux>>(7*l)&127]
			out := y[32*ib+8*l:]
			signed4(out, db, iq3xxsGrid[qs[2*l]], s, 0)
			signed4(out[4:], db, iq3xxsGrid[qs[2*l+1]], s, 4)
		}
	}
}

// BlockIQ3_S is an IQ3_S super-block (110 bytes): 8 groups of 32 elements,
// 8 runs of 4 each. Qs[8i+r] holds the low 8 bits of a 9-bit index into
// iq3sGrid for run r of group i (the ninth is bit r of Qh[i]), Signs[4i:]
// the 32 sign bits of the group, and the nibbles of Scales[i/2] (low nibble
// for even i) the group's scale s: y = D·(1 + 2s)·grid·sign.
type BlockIQ3_S struct {
	D      numeric.Float16
	Qs     [QKK / 4]uint8
	Qh     [QKK / 32]uint8
	Signs  [QKK / 8]uint8
	Scales [QKK / 64]uint8
}

// Load decodes b from its 110-byte encoding.
func (b *BlockIQ3_S) Load(p []byte) {
	_ = p[109]
	b.D = f16(p)
	copy(b.Qs[:], p[2:66])
	copy(b.Qh[:], p[66:74])
	copy(b.Signs[:], p[74:106])
	copy(b.Scales[:], p[106:110])
}

// Store writes the 110-byte encoding of b.
func (b *BlockIQ3_S) Store(p []byte) {
	_ = p[109]
	putF16(p, b.D)
	copy(p[2:66], b.Qs[:])
	copy(p[66:74], b.Qh[:])
	copy(p[74:106], b.Signs[:])
	copy(p[106:110], b.Scales[:])
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq3_s).
func (b *BlockIQ3_S) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		db := d * float32(1+2*int(b.Scales[ib/2]>>(4*(ib%2))&0xf))
		qs, qh, signs := b.Qs[8*ib:8*ib+8], int(b.Qh[ib]), b.Signs[4*ib:4*ib+4]
		for l := 0; l < 4; l++ {
			out := y[32*ib+8*l:]
			signed4(out, db, iq3sGrid[int(qs[2*l])|qh<<(8-2*l)&256], signs[l], 0)
			signed4(out[4:], db, iq3sGrid[int(qs[2*l+1])|qh<<(7-2*l)&256], signs[l], 4)
		}
	}
}

// iq1Run writes y[j] = dl·(g[j] + delta) for the 8 signed bytes g[j] (−1,
// 0 or 1) of an iq1sGrid entry.
func iq1Run(y []float32, dl float32, g uint64, delta float32) {
	_ = y[7]
	for j := 0; j < 8; j++ {
		y[j] = dl * (float32(int8(g>>(8*j))) + delta)
	}
}

// BlockIQ1_S is an IQ1_S super-block (50 bytes): 8 groups of 32 elements,
// 4 runs of 8 each. Qs[4i+l] holds the low 8 bits of an 11-bit index into
// iq1sGrid for run l of group i; Qh[i] holds the top 3 bits of each run's
// index (bits 3l…), a 3-bit scale s (bits 12–14) and the sign of the shift
// δ = ±1/8 (bit 15): y = D·(2s + 1)·(grid + δ).
type BlockIQ1_S struct {
	D  numeric.Float16
	Qs [QKK / 8]uint8
	Qh [QKK / 32]uint16
}

// Load decodes b from its 50-byte encoding.
func (b *BlockIQ1_S) Load(p []byte) {
	_ = p[49]
	b.D = f16(p)
	copy(b.Qs[:], p[2:34])
	for i := range b.Qh {
		b.Qh[i] = binary.LittleEndian.Uint16(p[34+2*i:])
	}
}

// Store writes the 50-byte encoding of b.
func (b *BlockIQ1_S) Store(p []byte) {
	_ = p[49]
	putF16(p, b.D)
	copy(p[2:34], b.Qs[:])
	for i, q := range b.Qh {
		binary.LittleEndian.PutUint16(p[34+2*i:], q)
	}
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq1_s).
func (b *BlockIQ1_S) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for ib := 0; ib < 8; ib++ {
		qh := b.Qh[ib]
		dl := d * float32(2*int(qh>>12&7)+1)
		delta := float32(iq1Delta)
		if qh&0x8000 != 0 {
			delta = -iq1Delta
		}
		for l := 0; l < 4; l++ {
			idx := int(b.Qs[4*ib+l]) | int(qh>>(3*l)&7)<<8
			iq1Run(y[32*ib+8*l:], dl, iq1sGrid[idx], delta)
		}
	}
}

// BlockIQ1_M is an IQ1_M super-block (56 bytes, no separate scale field):
// 8 groups of 32 elements, 4 runs of 8 each. Qs[4i+l] holds the low 8 bits
// of an 11-bit index into iq1sGrid for run l of group i; the nibbles of
// Qh[2i+l/2] hold the top 3 bits of runs l (low nibble for even l) and the
// sign of their shift δ = ±1/8 (the nibble's bit 3). Scales is four
// little-endian uint16 words: the top nibbles of words 0–3 form the fp16
// super-block scale D (least significant first), and the 3-bit fields
// 6(i%2)… and 6(i%2)+3… of word i/2 scale runs 0–1 and 2–3 of group i:
// y = D·(2s + 1)·(grid + δ).
type BlockIQ1_M struct {
	Qs     [QKK / 8]uint8
	Qh     [QKK / 16]uint8
	Scales [QKK / 32]uint8
}

// Load decodes b from its 56-byte encoding.
func (b *BlockIQ1_M) Load(p []byte) {
	_ = p[55]
	copy(b.Qs[:], p[0:32])
	copy(b.Qh[:], p[32:48])
	copy(b.Scales[:], p[48:56])
}

// Store writes the 56-byte encoding of b.
func (b *BlockIQ1_M) Store(p []byte) {
	_ = p[55]
	copy(p[0:32], b.Qs[:])
	copy(p[32:48], b.Qh[:])
	copy(p[48:56], b.Scales[:])
}

// Scale returns the fp16 super-block scale D packed in the top nibbles of
// b's scale words.
func (b *BlockIQ1_M) Scale() numeric.Float16 {
	var h uint16
	for k := 0; k < 4; k++ {
		h |= uint16(b.Scales[2*k+1]>>4) << (4 * k)
	}
	return numeric.Float16FromBits(h)
}

// Dequantize writes the 256 elements of b to y (dequantize_row_iq1_m).
func (b *BlockIQ1_M) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.Scale().Float32()
	for ib := 0; ib < 8; ib++ {
		sc := binary.LittleEndian.Uint16(b.Scales[2*(ib/2):])
		shift := 6 * (ib % 2)
		dl := [2]float32{
			d * float32(2*int(sc>>shift&7)+1),
			d * float32(2*int(sc>>(shift+3)&7)+1),
		}
		for l := 0; l < 4; l++ {
			qh := b.Qh[2*ib+l/2] >> (4 * (l % 2)) // the run's nibble
			idx := int(b.Qs[4*ib+l]) | int(qh&7)<<8
			delta := float32(iq1Delta)
			if qh&8 != 0 {
				delta = -iq1Delta
			}
			iq1Run(y[32*ib+8*l:], dl[l/2], iq1sGrid[idx], delta)
		}
	}
}
