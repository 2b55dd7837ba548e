package quant

import "github.com/zerfoo/zerfoo/numeric"

var (
	_ Block = (*BlockQ2_K)(nil)
	_ Block = (*BlockQ3_K)(nil)
)

// packQ2 packs 256 2-bit codes the way Q2_K and Q3_K store them: Qs[32h+l]
// holds elements 128h+l, +32, +64 and +96 in bits 0–1, 2–3, 4–5 and 6–7.
func packQ2(qs *[QKK / 4]uint8, l *[QKK]uint8) {
	for h := 0; h < 2; h++ {
		for i := 0; i < 32; i++ {
			j := 128*h + i
			qs[32*h+i] = l[j] | l[j+32]<<2 | l[j+64]<<4 | l[j+96]<<6
		}
	}
}

// BlockQ2_K is a Q2_K super-block (84 bytes, D and Dmin last): 16
// sub-blocks of 16 elements, y = D·(sc&15)·q − Dmin·(sc>>4) with 2-bit q and
// one Scales byte sc per sub-block. Qs packs the codes as packQ2 describes,
// so element 128h+32k+l (l < 32) is bits 2k–2k+1 of Qs[32h+l] and belongs to
// sub-block 8h+2k+l/16.
type BlockQ2_K struct {
	Scales  [QKK / 16]uint8
	Qs      [QKK / 4]uint8
	D, Dmin numeric.Float16
}

// Load decodes b from its 84-byte encoding.
func (b *BlockQ2_K) Load(p []byte) {
	_ = p[83]
	copy(b.Scales[:], p[0:16])
	copy(b.Qs[:], p[16:80])
	b.D, b.Dmin = f16(p[80:]), f16(p[82:])
}

// Store writes the 84-byte encoding of b.
func (b *BlockQ2_K) Store(p []byte) {
	_ = p[83]
	copy(p[0:16], b.Scales[:])
	copy(p[16:80], b.Qs[:])
	putF16(p[80:], b.D)
	putF16(p[82:], b.Dmin)
}

// Dequantize writes the 256 elements of b to y (dequantize_row_q2_K).
func (b *BlockQ2_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	d, dmin := b.D.Float32(), b.Dmin.Float32()
	for h := 0; h < 2; h++ {
		q := b.Qs[32*h : 32*h+32]
		for k := 0; k < 4; k++ {
			shift := uint(2 * k)
			out := y[128*h+32*k : 128*h+32*k+32]
			for half := 0; half < 2; half++ {
				sc := b.Scales[8*h+2*k+half]
				dl, ml := d*float32(sc&0xf), float32(dmin*float32(sc>>4))
				for l := 16 * half; l < 16*half+16; l++ {
					out[l] = float32(dl*float32(q[l]>>shift&3)) - ml
				}
			}
		}
	}
}

// Quantize sets b to the Q2_K encoding of x[:256] (quantize_row_q2_K_ref,
// which llama-quantize uses when there is no importance matrix): each
// sub-block is fitted by make_qkx2_quants with weights |x| and absolute
// error, the 4-bit scales and mins are scaled to their maxima, and the codes
// are requantized against the rounded scales.
func (b *BlockQ2_K) Quantize(x []float32) {
	_ = x[QKK-1]
	var (
		l              [QKK]uint8
		laux           [16]uint8
		weights        [16]float32
		mins, scales   [16]float32
		maxScale, maxM float32
	)
	for j := 0; j < 16; j++ {
		xs := x[16*j : 16*j+16]
		for i, v := range xs {
			weights[i] = abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(3, xs, weights[:], l[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxM {
			maxM = mins[j]
		}
	}
	if maxScale > 0 {
		iscale := 15 / maxScale
		for j := range b.Scales {
			b.Scales[j] = uint8(nearestInt(iscale * scales[j]))
		}
		b.D = toF16(maxScale / 15)
	} else {
		b.Scales = [16]uint8{}
		b.D = toF16(0)
	}
	if maxM > 0 {
		iscale := 15 / maxM
		for j := range b.Scales {
			b.Scales[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
		}
		b.Dmin = toF16(maxM / 15)
	} else {
		b.Dmin = toF16(0)
	}
	df, dminf := b.D.Float32(), b.Dmin.Float32()
	for j := 0; j < 16; j++ {
		d := df * float32(b.Scales[j]&0xf)
		if d == 0 {
			continue
		}
		dm := float32(dminf * float32(b.Scales[j]>>4))
		for i := 0; i < 16; i++ {
			l[16*j+i] = uint8(max(0, min(3, nearestInt((x[16*j+i]+dm)/d))))
		}
	}
	packQ2(&b.Qs, &l)
}

// BlockQ3_K is a Q3_K super-block (110 bytes, D last): 16 sub-blocks of 16
// elements, y = D·(s − 32)·(q − 4) with a 6-bit scale s per sub-block (see
// q3Scale) and 3-bit codes q: the low 2 bits packed in Qs as in BlockQ2_K,
// the high bit of element 32k+l (l < 32) in bit k of Hmask[l].
type BlockQ3_K struct {
	Hmask  [QKK / 8]uint8
	Qs     [QKK / 4]uint8
	Scales [12]uint8
	D      numeric.Float16
}

// Load decodes b from its 110-byte encoding.
func (b *BlockQ3_K) Load(p []byte) {
	_ = p[109]
	copy(b.Hmask[:], p[0:32])
	copy(b.Qs[:], p[32:96])
	copy(b.Scales[:], p[96:108])
	b.D = f16(p[108:])
}

// Store writes the 110-byte encoding of b.
func (b *BlockQ3_K) Store(p []byte) {
	_ = p[109]
	copy(p[0:32], b.Hmask[:])
	copy(p[32:96], b.Qs[:])
	copy(p[96:108], b.Scales[:])
	putF16(p[108:], b.D)
}

// q3Scale returns the 6-bit scale (0..63) of sub-block j of a Q3_K block:
// its low 4 bits are the low nibble of s[j] (j < 8) or the high nibble of
// s[j−8], its high 2 bits are bits 2(j/4)… of s[8+j%4].
func q3Scale(j int, s *[12]uint8) int {
	var lo uint8
	if j < 8 {
		lo = s[j] & 0xf
	} else {
		lo = s[j-8] >> 4
	}
	return int(lo | (s[8+j%4]>>(2*(j/4))&3)<<4)
}

// Dequantize writes the 256 elements of b to y (dequantize_row_q3_K).
func (b *BlockQ3_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for h := 0; h < 2; h++ {
		q := b.Qs[32*h : 32*h+32]
		for k := 0; k < 4; k++ {
			shift, m := uint(2*k), uint8(1)<<(4*h+k)
			out := y[128*h+32*k : 128*h+32*k+32]
			for half := 0; half < 2; half++ {
				dl := d * float32(q3Scale(8*h+2*k+half, &b.Scales)-32)
				for l := 16 * half; l < 16*half+16; l++ {
					v := int(q[l] >> shift & 3)
					if b.Hmask[l]&m == 0 {
						v -= 4
					}
					out[l] = dl * float32(v)
				}
			}
		}
	}
}

// Quantize sets b to the Q3_K encoding of x[:256] (quantize_row_q3_K_ref,
// which llama-quantize uses when there is no importance matrix): each
// sub-block is fitted by make_q3_quants, the signed 6-bit scales are scaled
// to the one of largest magnitude, and the codes are requantized against
// the rounded scales.
func (b *BlockQ3_K) Quantize(x []float32) {
	_ = x[QKK-1]
	var (
		l              [QKK]int8
		scales         [16]float32
		maxScale, amax float32
	)
	for j := 0; j < 16; j++ {
		scales[j] = makeQ3Quants(4, x[16*j:16*j+16], l[16*j:16*j+16])
		if a := abs32(scales[j]); a > amax {
			amax, maxScale = a, scales[j]
		}
	}
	b.Scales = [12]uint8{}
	if maxScale != 0 {
		iscale := -32 / maxScale
		for j := 0; j < 16; j++ {
			v := uint8(max(-32, min(31, int(int8(nearestInt(iscale*scales[j]))))) + 32)
			if j < 8 {
				b.Scales[j] = v & 0xf
			} else {
				b.Scales[j-8] |= (v & 0xf) << 4
			}
			b.Scales[8+j%4] |= (v >> 4) << (2 * (j / 4))
		}
		b.D = toF16(1 / iscale)
	} else {
		b.D = toF16(0)
	}
	df := b.D.Float32()
	for j := 0; j < 16; j++ {
		d := df * float32(q3Scale(j, &b.Scales)-32)
		if d == 0 {
			continue
		}
		for i := 0; i < 16; i++ {
			l[16*j+i] = int8(max(-4, min(3, nearestInt(x[16*j+i]/d))) + 4)
		}
	}
	b.Hmask = [QKK / 8]uint8{}
	var codes [QKK]uint8
	for j, v := range l {
		if v > 3 {
			b.Hmask[j%32] |= 1 << (j / 32)
			v -= 4
		}
		codes[j] = uint8(v)
	}
	packQ2(&b.Qs, &codes)
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse set: a symmetric fit
// x ≈ scale·(L − nmax) with weights x², refined by up to 5 rounds of
// coordinate descent. It stores L (0..2·nmax−1) in l and returns scale.
func makeQ3Quants(nmax int, x []float32, l []int8) float32 {
	n := len(x)
	amax, vmax := absMaxSigned(x)
	if amax < groupMaxEps {
		clear(l[:n])
		return 0
	}
	iscale := float32(-nmax) / vmax
	var sumLX, sumL2 float32
	for i := 0; i < n; i++ {
		q := max(-nmax, min(nmax-1, nearestInt(iscale*x[i])))
		l[i] = int8(q)
		w := x[i] * x[i]
		fq := float32(q)
		sumLX += float32(float32(w*x[i]) * fq)
		sumL2 += float32(float32(w*fq) * fq)
	}
	for itry := 0; itry < 5; itry++ {
		changed := false
		for i := 0; i < n; i++ {
			w := x[i] * x[i]
			li := float32(l[i])
			slx := sumLX - float32(float32(w*x[i])*li)
			if slx > 0 {
				sl2 := sumL2 - float32(float32(w*li)*li)
				q := max(-nmax, min(nmax-1, nearestInt(float32(x[i]*sl2)/slx)))
				if q != int(l[i]) {
					fq := float32(q)
					slx += float32(float32(w*x[i]) * fq)
					sl2 += float32(float32(w*fq) * fq)
					if sl2 > 0 && float32(float32(slx*slx)*sumL2) > float32(float32(sumLX*sumLX)*sl2) {
						l[i], sumLX, sumL2 = int8(q), slx, sl2
						changed = true
					}
				}
			}
		}
		if !changed {
			break
		}
	}
	for i := 0; i < n; i++ {
		l[i] += int8(nmax)
	}
	if sumL2 > 0 {
		return sumLX / sumL2
	}
	return 0
}
