package quant

import (
	"encoding/binary"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

var (
	_ Block = (*BlockQ4_K)(nil)
	_ Block = (*BlockQ5_K)(nil)
	_ Block = (*BlockQ6_K)(nil)
	_ Block = (*BlockQ8_K)(nil)
)

// groupMaxEps is ggml's GROUP_MAX_EPS: groups with a smaller maximum
// magnitude quantize to zero.
const groupMaxEps = 1e-15

// nearestInt rounds f to the nearest integer, ties to even, with ggml's
// float trick (valid for |f| ≤ 4194303). The explicit conversion keeps a
// caller's nearestInt(a*b) from fusing into an FMA (which Go may do on
// arm64 and GOAMD64=v3), so f is rounded to float32 first, as in C.
func nearestInt(f float32) int {
	v := float32(f) + 12582912
	i := int32(math.Float32bits(v))
	return int(i&0x007fffff - 0x00400000)
}

// scaleMinK4 returns the 6-bit scale and min of sub-block j (0..7) packed in
// the 12 scale bytes of a Q4_K or Q5_K block.
func scaleMinK4(j int, q *[12]uint8) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// putScaleMinK4 packs the 6-bit scales and mins of the 8 sub-blocks.
func putScaleMinK4(q *[12]uint8, ls, lm *[8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			q[j] = ls[j]
			q[j+4] = lm[j]
		} else {
			q[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			q[j-4] |= (ls[j] >> 4) << 6
			q[j] |= (lm[j] >> 4) << 6
		}
	}
}

// makeQKX2Quants is ggml's make_qkx2_quants: it fits x ≈ scale·L − min
// (L in 0..nmax, min ≥ 0) by weighted least squares, trying nstep+1 inverse
// scales, and returns scale and min. Candidates are ranked by their
// weighted squared error, or by their weighted absolute error if mad is set
// (ggml's use_mad).
func makeQKX2Quants(nmax int, x, weights []float32, l, laux []uint8, rmin, rdelta float32, nstep int, mad bool) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		lo = min(lo, x[i])
		hi = max(hi, x[i])
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(l[:n])
		return 0, -lo
	}
	fmax := float32(nmax)
	iscale := fmax / (hi - lo)
	scale = 1 / iscale
	var bestError float32
	for i := 0; i < n; i++ {
		q := max(0, min(nmax, nearestInt(iscale*(x[i]-lo))))
		l[i] = uint8(q)
		diff := float32(scale*float32(q)) + lo - x[i]
		bestError += float32(weights[i] * errTerm(diff, mad))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + fmax) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			q := max(0, min(nmax, nearestInt(iscale*(x[i]-lo))))
			laux[i] = uint8(q)
			w := weights[i]
			fq := float32(q)
			sumL += float32(w * fq)
			sumL2 += float32(float32(w*fq) * fq)
			sumXL += float32(float32(w*fq) * x[i])
		}
		det := float32(sumW*sumL2) - float32(sumL*sumL)
		if det > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / det
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / det
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var cur float32
			for i := 0; i < n; i++ {
				diff := float32(thisScale*float32(laux[i])) + thisMin - x[i]
				cur += float32(weights[i] * errTerm(diff, mad))
			}
			if cur < bestError {
				copy(l[:n], laux[:n])
				bestError = cur
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// errTerm is |diff| if mad is set, else diff².
func errTerm(diff float32, mad bool) float32 {
	if mad {
		return abs32(diff)
	}
	return diff * diff
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 and no importance
// weights: a symmetric fit x ≈ scale·(L − nmax) with weights x², trying 19
// inverse scales. It stores L + nmax (0..2·nmax−1) in l.
func makeQXQuants(nmax int, x []float32, l []int8) float32 {
	n := len(x)
	amax, vmax := absMaxSigned(x)
	if amax < groupMaxEps {
		clear(l[:n])
		return 0
	}
	fmax := float32(nmax)
	iscale := -fmax / vmax
	var sumLX, sumL2 float32
	for i := 0; i < n; i++ {
		q := max(-nmax, min(nmax-1, nearestInt(iscale*x[i])))
		l[i] = int8(q + nmax)
		w := float32(x[i] * x[i])
		fq := float32(q)
		sumLX += float32(float32(w*x[i]) * fq)
		sumL2 += float32(float32(w*fq) * fq)
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fmax + float32(0.1*float32(is))) / vmax
		sumLX, sumL2 = 0, 0
		for i := 0; i < n; i++ {
			q := max(-nmax, min(nmax-1, nearestInt(iscale*x[i])))
			w := float32(x[i] * x[i])
			fq := float32(q)
			sumLX += float32(float32(w*x[i]) * fq)
			sumL2 += float32(float32(w*fq) * fq)
		}
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i := 0; i < n; i++ {
				q := max(-nmax, min(nmax-1, nearestInt(iscale*x[i])))
				l[i] = int8(q + nmax)
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

// BlockQ4_K is a Q4_K super-block (144 bytes): 8 sub-blocks of 32 elements,
// y = D·sc[s]·q − Dmin·m[s] with 4-bit q and 6-bit sc, m packed in Scales.
// Qs[32c+l] holds element 64c+l in its low nibble and 64c+32+l in its high
// nibble.
type BlockQ4_K struct {
	D, Dmin numeric.Float16
	Scales  [12]uint8
	Qs      [QKK / 2]uint8
}

// Load decodes b from its 144-byte encoding.
func (b *BlockQ4_K) Load(p []byte) {
	_ = p[143]
	b.D, b.Dmin = f16(p), f16(p[2:])
	copy(b.Scales[:], p[4:16])
	copy(b.Qs[:], p[16:144])
}

// Store writes the 144-byte encoding of b.
func (b *BlockQ4_K) Store(p []byte) {
	_ = p[143]
	putF16(p, b.D)
	putF16(p[2:], b.Dmin)
	copy(p[4:16], b.Scales[:])
	copy(p[16:144], b.Qs[:])
}

// Dequantize writes the 256 elements of b to y.
func (b *BlockQ4_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	d, dmin := b.D.Float32(), b.Dmin.Float32()
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, &b.Scales)
		d1, m1 := d*float32(sc), float32(dmin*float32(m))
		sc, m = scaleMinK4(2*c+1, &b.Scales)
		d2, m2 := d*float32(sc), float32(dmin*float32(m))
		q := b.Qs[32*c : 32*c+32]
		out := y[64*c : 64*c+64]
		for l, v := range q {
			out[l] = float32(d1*float32(v&0xf)) - m1
			out[32+l] = float32(d2*float32(v>>4)) - m2
		}
	}
}

// quantizeK fits 8 sub-blocks of 32 (quantize_row_q4_K_ref and
// quantize_row_q5_K_ref) and returns the codes (0..nmax) per element.
func quantizeK(x []float32, nmax int, rmin, rdelta float32, nstep int, d, dmin *numeric.Float16, scales *[12]uint8, l *[QKK]uint8) {
	var (
		laux           [32]uint8
		weights        [32]float32
		mins, scs      [8]float32
		maxScale, maxM float32
	)
	for j := 0; j < 8; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for i, v := range xs {
			weights[i] = avX + abs32(v)
		}
		scs[j], mins[j] = makeQKX2Quants(nmax, xs, weights[:], l[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		maxScale = max(maxScale, scs[j])
		maxM = max(maxM, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxM > 0 {
		invMin = 63 / maxM
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(invScale*scs[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	*scales = [12]uint8{}
	putScaleMinK4(scales, &ls, &lm)
	*d = toF16(maxScale / 63)
	*dmin = toF16(maxM / 63)
	df, dminf := d.Float32(), dmin.Float32()
	for j := 0; j < 8; j++ {
		sc, m := scaleMinK4(j, scales)
		dd := df * float32(sc)
		if dd == 0 {
			continue
		}
		dm := float32(dminf * float32(m))
		for i := 0; i < 32; i++ {
			l[32*j+i] = uint8(max(0, min(nmax, nearestInt((x[32*j+i]+dm)/dd))))
		}
	}
}

// Quantize sets b to the Q4_K encoding of x[:256] (quantize_row_q4_K_ref).
func (b *BlockQ4_K) Quantize(x []float32) {
	_ = x[QKK-1]
	var l [QKK]uint8
	quantizeK(x, 15, -1, 0.1, 20, &b.D, &b.Dmin, &b.Scales, &l)
	for c := 0; c < 4; c++ {
		for i := 0; i < 32; i++ {
			b.Qs[32*c+i] = l[64*c+i] | l[64*c+32+i]<<4
		}
	}
}

// BlockQ5_K is a Q5_K super-block (176 bytes): Q4_K plus a fifth bit per
// element: bit 2c of Qh[l] for element 64c+l, bit 2c+1 for 64c+32+l.
type BlockQ5_K struct {
	D, Dmin numeric.Float16
	Scales  [12]uint8
	Qh      [QKK / 8]uint8
	Qs      [QKK / 2]uint8
}

// Load decodes b from its 176-byte encoding.
func (b *BlockQ5_K) Load(p []byte) {
	_ = p[175]
	b.D, b.Dmin = f16(p), f16(p[2:])
	copy(b.Scales[:], p[4:16])
	copy(b.Qh[:], p[16:48])
	copy(b.Qs[:], p[48:176])
}

// Store writes the 176-byte encoding of b.
func (b *BlockQ5_K) Store(p []byte) {
	_ = p[175]
	putF16(p, b.D)
	putF16(p[2:], b.Dmin)
	copy(p[4:16], b.Scales[:])
	copy(p[16:48], b.Qh[:])
	copy(p[48:176], b.Qs[:])
}

// Dequantize writes the 256 elements of b to y.
func (b *BlockQ5_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	d, dmin := b.D.Float32(), b.Dmin.Float32()
	for c := 0; c < 4; c++ {
		sc, m := scaleMinK4(2*c, &b.Scales)
		d1, m1 := d*float32(sc), float32(dmin*float32(m))
		sc, m = scaleMinK4(2*c+1, &b.Scales)
		d2, m2 := d*float32(sc), float32(dmin*float32(m))
		u1, u2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
		q := b.Qs[32*c : 32*c+32]
		out := y[64*c : 64*c+64]
		for l, v := range q {
			h := b.Qh[l]
			q0, q1 := int(v&0xf), int(v>>4)
			if h&u1 != 0 {
				q0 += 16
			}
			if h&u2 != 0 {
				q1 += 16
			}
			out[l] = float32(d1*float32(q0)) - m1
			out[32+l] = float32(d2*float32(q1)) - m2
		}
	}
}

// Quantize sets b to the Q5_K encoding of x[:256] (quantize_row_q5_K_ref).
func (b *BlockQ5_K) Quantize(x []float32) {
	_ = x[QKK-1]
	var l [QKK]uint8
	quantizeK(x, 31, -0.5, 0.1, 15, &b.D, &b.Dmin, &b.Scales, &l)
	b.Qh = [QKK / 8]uint8{}
	for c := 0; c < 4; c++ {
		m1, m2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
		for j := 0; j < 32; j++ {
			l1, l2 := l[64*c+j], l[64*c+32+j]
			if l1 > 15 {
				l1 -= 16
				b.Qh[j] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				b.Qh[j] |= m2
			}
			b.Qs[32*c+j] = l1 | l2<<4
		}
	}
}

// BlockQ6_K is a Q6_K super-block (210 bytes, D last): 16 sub-blocks of 16
// elements, y = D·Scales[s]·(q − 32) with 6-bit q: low 4 bits in Ql, high 2
// bits in Qh (see the package's reference decoder for the exact placement).
type BlockQ6_K struct {
	Ql     [QKK / 2]uint8
	Qh     [QKK / 4]uint8
	Scales [QKK / 16]int8
	D      numeric.Float16
}

// Load decodes b from its 210-byte encoding.
func (b *BlockQ6_K) Load(p []byte) {
	_ = p[209]
	copy(b.Ql[:], p[0:128])
	copy(b.Qh[:], p[128:192])
	for i := range b.Scales {
		b.Scales[i] = int8(p[192+i])
	}
	b.D = f16(p[208:])
}

// Store writes the 210-byte encoding of b.
func (b *BlockQ6_K) Store(p []byte) {
	_ = p[209]
	copy(p[0:128], b.Ql[:])
	copy(p[128:192], b.Qh[:])
	for i, s := range b.Scales {
		p[192+i] = uint8(s)
	}
	putF16(p[208:], b.D)
}

// Dequantize writes the 256 elements of b to y.
func (b *BlockQ6_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	d := b.D.Float32()
	for h := 0; h < 2; h++ {
		ql, qh, sc := b.Ql[64*h:64*h+64], b.Qh[32*h:32*h+32], b.Scales[8*h:8*h+8]
		out := y[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
			q3 := int(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			out[l] = float32(d*float32(sc[is])) * float32(q1)
			out[l+32] = float32(d*float32(sc[is+2])) * float32(q2)
			out[l+64] = float32(d*float32(sc[is+4])) * float32(q3)
			out[l+96] = float32(d*float32(sc[is+6])) * float32(q4)
		}
	}
}

// Quantize sets b to the Q6_K encoding of x[:256] (quantize_row_q6_K_ref).
func (b *BlockQ6_K) Quantize(x []float32) {
	_ = x[QKK-1]
	var (
		l                     [QKK]int8
		scales                [16]float32
		maxScale, maxAbsScale float32
	)
	for ib := 0; ib < 16; ib++ {
		s := makeQXQuants(32, x[16*ib:16*ib+16], l[16*ib:16*ib+16])
		scales[ib] = s
		if a := abs32(s); a > maxAbsScale {
			maxAbsScale, maxScale = a, s
		}
	}
	if maxAbsScale < groupMaxEps {
		*b = BlockQ6_K{}
		return
	}
	iscale := -128 / maxScale
	b.D = toF16(1 / iscale)
	for ib := range b.Scales {
		b.Scales[ib] = int8(min(127, nearestInt(iscale*scales[ib])))
	}
	df := b.D.Float32()
	for j := 0; j < 16; j++ {
		d := df * float32(b.Scales[j])
		if d == 0 {
			continue
		}
		for i := 0; i < 16; i++ {
			q := max(-32, min(31, nearestInt(x[16*j+i]/d)))
			l[16*j+i] = int8(q + 32)
		}
	}
	b.setCodes(&l)
}

// setCodes stores the 256 unsigned 6-bit codes l (q + 32) in Ql and Qh.
func (b *BlockQ6_K) setCodes(l *[QKK]int8) {
	for h := 0; h < 2; h++ {
		ql, qh, lh := b.Ql[64*h:64*h+64], b.Qh[32*h:32*h+32], l[128*h:128*h+128]
		for i := 0; i < 32; i++ {
			q1, q2, q3, q4 := uint8(lh[i]), uint8(lh[i+32]), uint8(lh[i+64]), uint8(lh[i+96])
			ql[i] = q1&0xf | (q3&0xf)<<4
			ql[i+32] = q2&0xf | (q4&0xf)<<4
			qh[i] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}

// BlockQ8_K is a Q8_K super-block (292 bytes), ggml's activation-side type
// for K-quant dot products: y = D·Qs[j] with a float32 D, and Bsums[g] the
// sum of the 16 codes of group g.
type BlockQ8_K struct {
	D     float32
	Qs    [QKK]int8
	Bsums [QKK / 16]int16
}

// Load decodes b from its 292-byte encoding.
func (b *BlockQ8_K) Load(p []byte) {
	_ = p[291]
	b.D = math.Float32frombits(binary.LittleEndian.Uint32(p))
	for i := range b.Qs {
		b.Qs[i] = int8(p[4+i])
	}
	for i := range b.Bsums {
		b.Bsums[i] = int16(binary.LittleEndian.Uint16(p[260+2*i:]))
	}
}

// Store writes the 292-byte encoding of b.
func (b *BlockQ8_K) Store(p []byte) {
	_ = p[291]
	binary.LittleEndian.PutUint32(p, math.Float32bits(b.D))
	for i, q := range b.Qs {
		p[4+i] = uint8(q)
	}
	for i, s := range b.Bsums {
		binary.LittleEndian.PutUint16(p[260+2*i:], uint16(s))
	}
}

// Dequantize writes the 256 elements of b to y.
func (b *BlockQ8_K) Dequantize(y []float32) {
	_ = y[QKK-1]
	for i, q := range b.Qs {
		y[i] = b.D * float32(q)
	}
}

// Quantize sets b to the Q8_K encoding of x[:256] (quantize_row_q8_K_ref):
// scale −127/v for the signed value v of largest magnitude, q = min(127,
// round-half-even(x·scale)), D = 1/scale.
func (b *BlockQ8_K) Quantize(x []float32) {
	_ = x[QKK-1]
	amax, vmax := absMaxSigned(x[:QKK])
	if amax == 0 {
		*b = BlockQ8_K{}
		return
	}
	iscale := -127 / vmax
	for i := range b.Qs {
		b.Qs[i] = int8(min(127, nearestInt(iscale*x[i])))
	}
	for g := range b.Bsums {
		var s int
		for _, q := range b.Qs[16*g : 16*g+16] {
			s += int(q)
		}
		b.Bsums[g] = int16(s)
	}
	b.D = 1 / iscale
}
