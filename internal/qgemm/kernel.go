package qgemm

import (
	"math"
	"unsafe"

	"github.com/zerfoo/zerfoo/numeric"
)

// kargs are the arguments of one kernel call: rows [0, mr) of A against the
// 16 columns of one group, over all KBlocks blocks. The assembly reads the
// fields at fixed offsets: keep the order and the 8-byte size of each.
type kargs struct {
	codes  *uint8         // 0: first block of the group
	scales unsafe.Pointer // 8: [kb][16] float32, or float16 bits when f16 is set
	zps    *uint8         // 16: [kb][16], or nil for zpdef everywhere
	a      unsafe.Pointer // 24: row 0 of A (float32) or of its int8 quantization, at k = 0
	lda    int            // 32: bytes between rows of a
	sa     *float32       // 40: int8: scale of row 0, block 0; [kb][lds/4], rows consecutive
	suma   *int32         // 48: int8: Σ qa of row 0, block 0; same layout as sa
	lds    int            // 56: bytes between blocks of sa and suma
	out    *float32       // 64: row 0 of the 16 outputs
	ldo    int            // 72: bytes between rows of out
	kb     int            // 80: blocks
	steps  int            // 88: 64-byte code vectors per block
	zpdef  int            // 96: default zero point
	table  *float32       // 104: float path, bits 2/4: [16] code → code − zp (or code with zero points)
	accum  int            // 112: nonzero: add the result to out instead of storing it
	f16    int            // 120: scale format: 0 float32, 1 float16 bits, 2 the high 16 bits of float32 scales (low bytes in scalesLo)
	// scalesLo holds, with f16 = 2, bits 8–15 of each scale: [kb][16]
	// (bits 0–7 are zero).
	scalesLo *uint8 // 128
}

// kernelGeneric is the specification of every kernel. With i8 false it
// computes, for r < mr and c < 16,
//
//	out[r][c] = Σ_k a[r][k] · float32(code(c,k) − zp(c,b))·scale(c,b)
//
// over k < kb·blockSize (A must be zero or finite past K: padding codes are
// the zero point). With i8 true, a holds int8 codes and
//
//	out[r][c] = Σ_b float32(Σ_j qa[r][k]·code(c,k) − zp(c,b)·suma[b][r]) · (sa[b][r]·scale(c,b))
//
// accumulated in float32 in block order. With accum set, the result is
// added to out.
func kernelGeneric(p *kargs, i8 bool, bits, mr int) {
	bs := p.steps * 64 * 8 / bits / GroupCols
	bb := p.steps * 64
	codes := unsafe.Slice(p.codes, p.kb*bb)
	scale := func(i int) float32 {
		switch p.f16 {
		case 1:
			return numeric.Float16FromBits(*(*uint16)(unsafe.Add(p.scales, 2*i))).Float32()
		case 2:
			hi := uint32(*(*uint16)(unsafe.Add(p.scales, 2*i)))
			lo := uint32(*(*uint8)(unsafe.Add(unsafe.Pointer(p.scalesLo), i)))
			return math.Float32frombits(hi<<16 | lo<<8)
		}
		return *(*float32)(unsafe.Add(p.scales, 4*i))
	}
	var zps []uint8
	if p.zps != nil {
		zps = unsafe.Slice(p.zps, p.kb*GroupCols)
	}
	zpdef := uint8(p.zpdef)
	var acc [8][GroupCols]float32
	for b := 0; b < p.kb; b++ {
		blk := codes[b*bb : (b+1)*bb]
		for c := 0; c < GroupCols; c++ {
			zp := zpdef
			if zps != nil {
				zp = zps[b*GroupCols+c]
			}
			s := scale(b*GroupCols + c)
			for r := 0; r < mr; r++ {
				if i8 {
					qa := unsafe.Slice((*int8)(unsafe.Add(p.a, r*p.lda+b*bs)), bs)
					var d int32
					for j, x := range qa {
						d += int32(x) * int32(code(blk, bits, c, j))
					}
					sa := *(*float32)(unsafe.Add(unsafe.Pointer(p.sa), b*p.lds+4*r))
					sum := *(*int32)(unsafe.Add(unsafe.Pointer(p.suma), b*p.lds+4*r))
					d -= int32(zp) * sum
					acc[r][c] += float32(d) * (sa * s)
					continue
				}
				a := unsafe.Slice((*float32)(unsafe.Add(p.a, r*p.lda+4*b*bs)), bs)
				var t float32
				for j, x := range a {
					t += x * (float32(int32(code(blk, bits, c, j))-int32(zp)) * s)
				}
				acc[r][c] += t
			}
		}
	}
	for r := 0; r < mr; r++ {
		out := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p.out), r*p.ldo)), GroupCols)
		for c, v := range acc[r] {
			if p.accum != 0 {
				v += out[c]
			}
			out[c] = v
		}
	}
}

// variant is one implementation of the kernels, by name.
type variant struct {
	name string
	id   int
	// groups > 1: at one row with int8 activations, float16 scales and
	// the default zero point, the variant multiplies that many groups per
	// kernel call, taken from as many runs of a piece (callGroups).
	groups int
}

const (
	idGeneric = iota
	idAVX2
	idAVX512
	idNEON
	idNEONDot
	// idAVXVNNI: the GGML tiles' AVX2 tier with AVX-VNNI's ymm VPDPBUSD
	// (ggmlVariants only).
	idAVXVNNI
)

// generic is the pure-Go variant.
var generic = variant{name: "generic", id: idGeneric}

// call runs the kernel of variant v. It switches over static calls so that
// p does not escape (no allocation per call).
func (v variant) call(p *kargs, i8 bool, bits, mr int) {
	switch v.id {
	case idAVX512:
		callAVX512(p, i8, bits, mr)
	case idAVX2:
		callAVX2(p, i8, bits, mr)
	case idNEON:
		callNEON(p, i8, bits, mr)
	case idNEONDot:
		callNEONDot(p, i8, bits, mr)
	default:
		kernelGeneric(p, i8, bits, mr)
	}
}

// half returns q pointed at the half group h (0: columns 0–7, 1: columns
// 8–15) of p's group, with output rows starting at row r0: the kernels that
// work on 8 columns (AVX2, NEON for 3–4 rows) take their arguments this
// way. It works on values so that nothing escapes to the heap.
func half(q kargs, p *kargs, h, r0 int) kargs {
	q.codes = (*uint8)(unsafe.Add(unsafe.Pointer(p.codes), 32*h))
	switch p.f16 {
	case 0:
		q.scales = unsafe.Add(p.scales, 32*h) // 8 float32
	default:
		q.scales = unsafe.Add(p.scales, 16*h) // 8 float16, or high halves
		if p.f16 == 2 {
			q.scalesLo = (*uint8)(unsafe.Add(unsafe.Pointer(p.scalesLo), 8*h))
		}
	}
	if p.zps != nil {
		q.zps = (*uint8)(unsafe.Add(unsafe.Pointer(p.zps), 8*h))
	}
	q.out = (*float32)(unsafe.Add(unsafe.Pointer(p.out), r0*p.ldo+32*h))
	return q
}
