package qgemm

import (
	"math"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/numeric"
)

// ggmlActs holds rows of activations quantized the way llama.cpp pairs
// them with a weight type: qa [rows][K] int8 codes and aux
// [K/sb][rows][auxBytes] records (see format.auxBytes).
type ggmlActs struct {
	qa  []int8
	aux []byte
	// per row, the vector quantizers' block results (quantizeRowQ8,
	// quantizeRowQ8K): rowChunk scales and sums, rowChunk·16 int16 sums
	d     []float32
	sums  []int32
	bsums []int16
}

// rowChunk is how many blocks one call of a vector row quantizer takes.
const rowChunk = 64

// grow sizes s's buffers for rows rows of k values in format f.
func (s *ggmlActs) grow(f *format, rows, k int) {
	s.qa = grow(s.qa, rows*k)
	s.aux = grow(s.aux, k/f.sb*rows*f.auxBytes())
	s.d = grow(s.d, rows*rowChunk)
	s.sums = grow(s.sums, rows*rowChunk)
	s.bsums = grow(s.bsums, rows*rowChunk*16)
}

// quantizeActs quantizes rows [0, rows) of a (K values each) for format
// f into s, reusing its buffers.
func quantizeActs(f *format, a []float32, rows, k int, s *ggmlActs) {
	s.grow(f, rows, k)
	quantizeActRows(f, a, 0, rows, rows, k, s)
}

// quantizeActRows quantizes rows [r0, r1) of the rows of a into s, whose
// buffers hold all rows already (rows from different calls may be
// quantized concurrently). It gives quantizeActRowsRef's bytes, with the
// vector row quantizers where the CPU has them (quantizeRowFn for the
// 32-blocks of Q8_0 and Q8_1, quantizeQ8KFn for Q8_K) and the reference
// for the formats and blocks they do not take.
func quantizeActRows(f *format, a []float32, r0, r1, rows, k int, s *ggmlActs) {
	for r := r0; r < r1; r++ {
		x := a[r*k : (r+1)*k]
		qa := s.qa[r*k : (r+1)*k]
		d := s.d[r*rowChunk : (r+1)*rowChunk]
		switch {
		case f.act == actQ8_K && f.sb == quant.QKK:
			quantizeRowQ8K(f, x, qa, s.aux, r, rows, d, s.bsums[r*rowChunk*16:(r+1)*rowChunk*16])
		case f.act != actQ8_K && f.sb == quant.QK && f.nsub() == 1:
			quantizeRowQ8(f, x, qa, s.aux, r, rows, d, s.sums[r*rowChunk:(r+1)*rowChunk])
		default:
			quantizeActRowsRef(f, x, qa, s.aux, r, rows)
		}
	}
}

// quantizeActRowsRef is the specification of quantizeActRows for row r
// (x, quantized into qa, its records in aux): super-block by super-block
// as llama.cpp's quantize_row_q8_0/q8_1/q8_K do.
func quantizeActRowsRef(f *format, x []float32, qa []int8, aux []byte, r, rows int) {
	for sb := 0; sb < len(x)/f.sb; sb++ {
		quantizeSuperBlockRef(f, x, qa, aux, r, rows, sb)
	}
}

// quantizeSuperBlockRef quantizes super-block sb of row r (see
// quantizeActRowsRef).
func quantizeSuperBlockRef(f *format, x []float32, qa []int8, aux []byte, r, rows, sb int) {
	ab := f.auxBytes()
	rec := aux[(sb*rows+r)*ab : (sb*rows+r+1)*ab]
	xs, qs := x[sb*f.sb:(sb+1)*f.sb], qa[sb*f.sb:(sb+1)*f.sb]
	var da, sa float32
	switch f.act {
	case actQ8_K:
		da = quantizeQ8K(xs, qs)
	default:
		var d float32
		d, da = quantizeQ8_0(xs, qs)
		if f.act == actQ8_1 {
			var sum int32
			for _, q := range qs {
				sum += int32(q)
			}
			sa = numeric.Float16FromFloat32(d * float32(sum)).Float32()
		}
	}
	putF32(rec[0:], da*f.dscale)
	putF32(rec[4:], sa)
	if f.zp != 0 {
		for j := 0; j < f.nsub(); j++ {
			putI32(rec[f.zpOff()+4*j:], f.zp*sumI8(qs[j*f.sub:(j+1)*f.sub]))
		}
	}
	if f.mins == minsSub {
		bo := f.bsumOff()
		for j := 0; j < f.nsub(); j++ {
			putI16(rec[bo+2*j:], int16(sumI8(qs[j*f.sub:(j+1)*f.sub])))
		}
	}
}

// quantizeRowQ8 is quantizeActRowsRef for the 32-blocks of Q8_0 and Q8_1
// (one sub-block each): quantizeRowFn rounds x·127/amax to even as
// quantizeQ8_0 does and returns each block's unrounded d and code sum;
// blocks whose d is not finite (an infinity or a NaN in x) or so small
// that 127/amax overflows go through the reference, whose codes for a NaN
// product differ. d and sum are scratch of rowChunk values.
func quantizeRowQ8(f *format, x []float32, qa []int8, aux []byte, r, rows int, d []float32, sum []int32) {
	const chunk = rowChunk // blocks per quantizeRowFn call
	ab := f.auxBytes()
	nb := len(x) / quant.QK
	for b0 := 0; b0 < nb; b0 += chunk {
		n := min(chunk, nb-b0)
		quantizeRowFn(x[b0*quant.QK:(b0+n)*quant.QK], quant.QK, qa[b0*quant.QK:(b0+n)*quant.QK], d, sum, 1)
		for i := 0; i < n; i++ {
			b := b0 + i
			if !(d[i] <= math.MaxFloat32) || (d[i] != 0 && d[i] < 1e-37) {
				quantizeSuperBlockRef(f, x, qa, aux, r, rows, b)
				continue
			}
			rec := aux[(b*rows+r)*ab : (b*rows+r+1)*ab]
			putF32(rec[0:], numeric.Float16FromFloat32(d[i]).Float32()*f.dscale)
			var sa float32
			if f.act == actQ8_1 {
				sa = numeric.Float16FromFloat32(d[i] * float32(sum[i])).Float32()
			}
			putF32(rec[4:], sa)
			if f.zp != 0 {
				putI32(rec[f.zpOff():], f.zp*sum[i])
			}
		}
	}
}

// quantizeRowQ8K is quantizeActRowsRef for Q8_K: quantizeQ8KFn gives each
// 256-block's codes, d and 16-code sums, from which the records take the
// sub-block sums; a block it leaves (an infinity or a NaN in x, or for
// NEON a scale that overflows) goes through the reference. d and bsums are scratch of rowChunk and
// rowChunk·16 values.
func quantizeRowQ8K(f *format, x []float32, qa []int8, aux []byte, r, rows int, d []float32, bsums []int16) {
	const chunk = rowChunk // super-blocks per quantizeQ8KFn call
	ab := f.auxBytes()
	per := f.sub / 16 // 16-code sums per sub-block
	nsb := len(x) / quant.QKK
	for s0 := 0; s0 < nsb; {
		n := min(chunk, nsb-s0)
		done := quantizeQ8KFn(x[s0*quant.QKK:(s0+n)*quant.QKK], qa[s0*quant.QKK:(s0+n)*quant.QKK], d[:n], bsums[:n*quant.QKK/16])
		for i := 0; i < done; i++ {
			sb := s0 + i
			rec := aux[(sb*rows+r)*ab : (sb*rows+r+1)*ab]
			putF32(rec[0:], d[i]*f.dscale)
			putF32(rec[4:], 0)
			bs := bsums[i*quant.QKK/16 : (i+1)*quant.QKK/16]
			for j := 0; j < f.nsub(); j++ {
				var s int32
				for _, v := range bs[j*per : (j+1)*per] {
					s += int32(v)
				}
				if f.zp != 0 {
					putI32(rec[f.zpOff()+4*j:], f.zp*s)
				}
				if f.mins == minsSub {
					putI16(rec[f.bsumOff()+2*j:], int16(s))
				}
			}
		}
		if done < n {
			quantizeSuperBlockRef(f, x, qa, aux, r, rows, s0+done)
			done++
		}
		s0 += done
	}
}

// quantizeQ8KGo quantizes the 256-blocks of x to Q8_K (quantizeQ8K) into
// qa, their scales into d and the sums of each 16 codes into bsums
// (quantizeQ8KFn's contract: it may stop early at a block whose max|x| is
// not finite, or so small that −127/vmax overflows, and returns the
// blocks done; this one does them all).
func quantizeQ8KGo(x []float32, qa []int8, d []float32, bsums []int16) int {
	n := len(x) / quant.QKK
	for b := 0; b < n; b++ {
		qs := qa[b*quant.QKK : (b+1)*quant.QKK]
		d[b] = quantizeQ8K(x[b*quant.QKK:(b+1)*quant.QKK], qs)
		for j := 0; j < quant.QKK/16; j++ {
			bsums[b*quant.QKK/16+j] = int16(sumI8(qs[16*j : 16*j+16]))
		}
	}
	return n
}

// quantizeQ8KFn is quantizeQ8KGo, or its AVX-512 or NEON version where
// the CPU has it (bit-identical on the blocks it does).
var quantizeQ8KFn = quantizeQ8KGo

// quantizeQ8_0 rounds one 32-block as ggml's x86 quantize_row_q8_0/q8_1
// do: d = amax/127 (stored as fp16, returned as da), q = rint(x·127/amax)
// ties to even. It returns the unrounded d too (Q8_1's s uses it).
func quantizeQ8_0(x []float32, q []int8) (d, da float32) {
	am := absMax(x)
	d = am / 127
	var id float32
	if am != 0 {
		id = 127 / am
	}
	const magic = 1.5 * (1 << 23)
	for j, v := range x {
		t := float32(v * id)
		q[j] = int8(int32(float32(t+magic) - magic))
	}
	return d, numeric.Float16FromFloat32(d).Float32()
}

// quantizeQ8K rounds one 256-block to Q8_K (quantize_row_q8_K_ref) and
// returns its scale.
func quantizeQ8K(x []float32, q []int8) float32 {
	var b quant.BlockQ8_K
	b.Quantize(x)
	copy(q, b.Qs[:])
	return b.D
}

func sumI8(q []int8) int32 {
	var s int32
	for _, v := range q {
		s += int32(v)
	}
	return s
}

func putF32(p []byte, v float32) { putU32(p, math.Float32bits(v)) }
func putI32(p []byte, v int32)   { putU32(p, uint32(v)) }
func putI16(p []byte, v int16)   { p[0], p[1] = uint8(v), uint8(uint16(v)>>8) }
func putU32(p []byte, v uint32) {
	_ = p[3]
	p[0], p[1], p[2], p[3] = uint8(v), uint8(v>>8), uint8(v>>16), uint8(v>>24)
}
