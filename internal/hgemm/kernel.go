package hgemm

import (
	"encoding/binary"
	"math"
	"sync"
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
// stores it to out (or adds it, with accum). It sums in k order; the
// assembly kernels may sum in any order; the VDPBF16PS kernels (family famBF16DP) read x as
// bfloat16 bits and, as that instruction does, treat subnormal inputs as
// zero and flush subnormal results.
func kernelGeneric(p *kargs, f Format, mr, kb int) {
	n := p.steps * kb
	var tail []uint16
	if p.tail != nil {
		tail = unsafe.Slice(p.tail, nr*tailStride)
	}
	// The 4 weight rows are decoded a chunk at a time (once for all mr
	// rows), then multiplied in float32.
	const chunk = 256
	var (
		w   [nr][chunk]float32
		acc [8][nr]float32
	)
	for t := range max(1, p.tiles) {
		clear(acc[:mr])
		end := n
		if tail != nil {
			end += kb
		}
		for k0, kn := 0, 0; k0 < end; k0 += kn {
			if k0 < n {
				kn = min(chunk, n-k0)
				for j := range nr {
					src := unsafe.Slice((*byte)(unsafe.Add(p.w[j], t*p.tileBytes+2*k0)), 2*kn)
					widenGeneric(f, w[j][:kn], src)
				}
			} else { // the tail block
				kn = kb
				for j := range nr {
					for k, b := range tail[j*tailStride : j*tailStride+kb] {
						w[j][k] = decode(f, b)
					}
				}
			}
			w0, w1, w2, w3 := w[0][:kn], w[1][:kn], w[2][:kn], w[3][:kn]
			for r := 0; r < mr; r++ {
				x := unsafe.Slice((*float32)(unsafe.Add(p.x, r*p.ldx+4*k0)), kn)
				s0, s1, s2, s3 := acc[r][0], acc[r][1], acc[r][2], acc[r][3]
				for k, v := range x {
					s0 += v * w0[k]
					s1 += v * w1[k]
					s2 += v * w2[k]
					s3 += v * w3[k]
				}
				acc[r] = [nr]float32{s0, s1, s2, s3}
			}
		}
		for r := 0; r < mr; r++ {
			out := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p.y), r*p.ldy+4*nr*t)), nr)
			for j, s := range acc[r] {
				if p.accum != 0 {
					s += out[j]
				}
				out[j] = s
			}
		}
	}
}

// decode returns the exact float32 value of a 16-bit code of format f.
func decode(f Format, b uint16) float32 {
	if f == BF16 {
		return math.Float32frombits(uint32(b) << 16)
	}
	return math.Float32frombits(f16Table()[b])
}

// f16Table returns the float32 bits of every float16 code (256 KiB, made
// on first use by the pure-Go kernels).
var f16Table = sync.OnceValue(func() *[1 << 16]uint32 {
	t := new([1 << 16]uint32)
	for i := range t {
		t[i] = math.Float32bits(numeric.Float16FromBits(uint16(i)).Float32())
	}
	return t
})

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
	idNEON
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
	case idNEON:
		callNEON(p, f.fam(), mr)
	default:
		kernelGeneric(p, f, mr, v.kb[f])
	}
}

// callPF runs the kernel of variant v for format f and mr rows, with or
// without software prefetch of the weight rows (see tune.Prefetch); the
// variants without prefetch in their kernels ignore the choice.
func (v *variant) callPF(p *kargs, f Format, mr int, prefetch bool) {
	if prefetch {
		v.call(p, f, mr)
		return
	}
	switch v.id {
	case idAVX512BF16:
		fam := f.fam()
		if f == BF16 {
			fam = famBF16DP
		}
		callAVX512NoPrefetch(p, fam, mr)
	case idAVX512:
		callAVX512NoPrefetch(p, f.fam(), mr)
	case idAVX2:
		callAVX2NoPrefetch(p, f.fam(), mr)
	default:
		v.call(p, f, mr)
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
	src = src[:2*len(dst)]
	if f == BF16 {
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
		return
	}
	t := f16Table()
	for i := range dst {
		dst[i] = math.Float32frombits(t[binary.LittleEndian.Uint16(src[2*i:])])
	}
}
