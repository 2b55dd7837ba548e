package hgemm

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/zerfoo/zerfoo/numeric"
)

// nr is the number of weight rows (outputs) of one kernel call.
const nr = 4

// tailStride is the length of a row of the tail block (elements): the
// largest block size of any kernel.
const tailStride = 32

// kargs are the arguments of one kernel call: rows [0, mr) of the rounded
// activations against the 4 weight rows w[0..3], over steps blocks of kb
// elements and then, when tail is set, one more block read from tail; then
// the same for tiles−1 more tiles of 4 weight rows, each tileBytes further
// on (outputs 4 further on), when tiles > 1 (tail must be nil then). The
// assembly reads the fields at fixed offsets: keep the order and the
// 8-byte size of each. It may change w, y and tiles.
type kargs struct {
	w     [nr]unsafe.Pointer // 0: the 16-bit weight rows at the first k
	x     unsafe.Pointer     // 32: activation row 0 at the first k (float32, or bfloat16 bits for famBF16DP)
	ldx   int                // 40: bytes between activation rows
	y     *float32           // 48: out[0][0]
	ldy   int                // 56: bytes between rows of out
	steps int                // 64: full blocks of kb elements
	tail  *uint16            // 72: nil, or [nr][tailStride] weights of the last (partial) block, zero padded
	accum int                // 80: nonzero: add the sums to out instead of storing them
	tiles int                // 88: tiles to compute (≥ 1)
	// tileBytes is the distance between the first weight rows of
	// consecutive tiles.
	tileBytes int // 96
}

// kernelGeneric is the specification of every kernel. For each tile
// t < tiles, r < mr and j < 4 it computes
//
//	out[r][4t+j] = Σ_{k < steps·kb} x[r][k]·w[j][t·tileBytes/2 + k]  (+ Σ_{k < kb} x[r][steps·kb+k]·tail[j][k])
//
// in float32, where w[j][k] is the weight decoded exactly to float32, and
// stores it to out (or adds it, with accum). The assembly kernels may sum
// in any order; the VDPBF16PS kernels (family famBF16DP) read x as
// bfloat16 bits and, as that instruction does, treat subnormal inputs as
// zero and flush subnormal results.
func kernelGeneric(p *kargs, f Format, mr, kb int) {
	n := p.steps * kb
	bf := f == BF16
	var tail []uint16
	if p.tail != nil {
		tail = unsafe.Slice(p.tail, nr*tailStride)
	}
	m := n
	if tail != nil {
		m += kb
	}
	for t := range max(1, p.tiles) {
		var w [nr][]byte
		for j := range w {
			w[j] = unsafe.Slice((*byte)(unsafe.Add(p.w[j], t*p.tileBytes)), 2*n)
		}
		for r := 0; r < mr; r++ {
			x := unsafe.Slice((*float32)(unsafe.Add(p.x, r*p.ldx)), m)
			out := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p.y), r*p.ldy+4*nr*t)), nr)
			for j := range nr {
				var s float32
				for k, v := range x[:n] {
					s += v * decode(bf, binary.LittleEndian.Uint16(w[j][2*k:]))
				}
				if tail != nil {
					for k, v := range x[n:] {
						s += v * decode(bf, tail[j*tailStride+k])
					}
				}
				if p.accum != 0 {
					s += out[j]
				}
				out[j] = s
			}
		}
	}
}

// decode returns the exact float32 value of a bfloat16 (bf) or float16
// code.
func decode(bf bool, b uint16) float32 {
	if bf {
		return math.Float32frombits(uint32(b) << 16)
	}
	return numeric.Float16FromBits(b).Float32()
}

// variant is one implementation of the kernels, by name.
type variant struct {
	name string
	id   int
	mr   int    // most activation rows of one kernel call
	kb   [3]int // block size (elements) by Format; 1: no tail block
	// bf16x: BF16 activations are stored as bfloat16 bits (VDPBF16PS).
	bf16x bool
}

const (
	idGeneric = iota
	idAVX2
	idAVX512
	idAVX512BF16
)

// generic is the pure-Go variant.
var generic = variant{name: "generic", id: idGeneric, mr: 6, kb: [3]int{F16: 1, BF16: 1}}

// call runs the kernel of variant v for format f and mr rows. It switches
// over static calls so that p does not escape (no allocation per call).
func (v *variant) call(p *kargs, f Format, mr int) {
	switch v.id {
	case idAVX512BF16:
		fam := f.fam()
		if f == BF16 {
			fam = famBF16DP
		}
		callAVX512(p, fam, mr)
	case idAVX512:
		callAVX512(p, f.fam(), mr)
	case idAVX2:
		callAVX2(p, f.fam(), mr)
	default:
		kernelGeneric(p, f, mr, v.kb[f])
	}
}

// roundGeneric sets dst[i] to src[i] rounded to format f (nearest even, as
// numeric.Float16FromFloat32 and numeric.BFloat16FromFloat32) and widened
// back to float32.
func roundGeneric(f Format, dst, src []float32) {
	dst = dst[:len(src)]
	if f == BF16 {
		for i, v := range src {
			dst[i] = numeric.BFloat16FromFloat32(v).Float32()
		}
		return
	}
	for i, v := range src {
		dst[i] = numeric.Float16FromFloat32(v).Float32()
	}
}

// packBF16Generic sets dst[i] to the bits of src[i] rounded to bfloat16.
func packBF16Generic(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = numeric.BFloat16FromFloat32(v).Bits()
	}
}

// widenGeneric sets dst[i] to the 16-bit little-endian value of format f
// at src[2i:] as float32.
func widenGeneric(f Format, dst []float32, src []byte) {
	bf := f == BF16
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = decode(bf, binary.LittleEndian.Uint16(src[2*i:]))
	}
}
