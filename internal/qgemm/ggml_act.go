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
}

// quantizeActs quantizes rows [0, rows) of a (K values each) for format
// f into s, reusing its buffers.
func quantizeActs(f *format, a []float32, rows, k int, s *ggmlActs) {
	s.qa = grow(s.qa, rows*k)
	s.aux = grow(s.aux, k/f.sb*rows*f.auxBytes())
	quantizeActRows(f, a, 0, rows, rows, k, s)
}

// quantizeActRows quantizes rows [r0, r1) of the rows of a into s, whose
// buffers hold all rows already (rows from different calls may be
// quantized concurrently).
func quantizeActRows(f *format, a []float32, r0, r1, rows, k int, s *ggmlActs) {
	nsb := k / f.sb
	ab := f.auxBytes()
	for r := r0; r < r1; r++ {
		x := a[r*k : (r+1)*k]
		qa := s.qa[r*k : (r+1)*k]
		for sb := 0; sb < nsb; sb++ {
			rec := s.aux[(sb*rows+r)*ab : (sb*rows+r+1)*ab]
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
			putF32(rec[0:], da)
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
	}
}

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
