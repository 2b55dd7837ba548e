package gemma3

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/zerfoo/zerfoo/numeric"
)

// CacheType is the element type of a State's KV cache. Attention reads the
// cache in its type, widening each key and value to float32 in the inner
// loop (exactly: an F16 value and a Q8_0 code times its fp16 scale are
// float32 numbers), so the type changes only what is stored.
type CacheType uint8

const (
	// CacheF16 stores IEEE binary16 values (rounded to nearest even), 2
	// bytes per value. It is the zero value and the default, as in
	// llama.cpp (type_k = type_v = f16).
	CacheF16 CacheType = iota
	// CacheF32 stores float32 values, 4 bytes per value.
	CacheF32
	// CacheQ8_0 stores ggml Q8_0 blocks: 32 int8 codes and an fp16 scale
	// d = fp16(amax/127), codes rint(x·127/amax), 34 bytes per 32 values
	// (as ggml's quantize_row_q8_0). HeadDim must be a multiple of 32.
	CacheQ8_0
)

// String returns the name ParseCacheType reads: "f16", "f32" or "q8_0".
func (t CacheType) String() string {
	switch t {
	case CacheF16:
		return "f16"
	case CacheF32:
		return "f32"
	case CacheQ8_0:
		return "q8_0"
	}
	return fmt.Sprintf("CacheType(%d)", uint8(t))
}

// ParseCacheType returns the CacheType named s (f32, f16 or q8_0, any
// case, as llama.cpp's --cache-type-k), or an error naming s.
func ParseCacheType(s string) (CacheType, error) {
	for _, t := range []CacheType{CacheF16, CacheF32, CacheQ8_0} {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gemma3: unknown KV cache type %q (want f32, f16 or q8_0)", s)
}

// rowBytes returns the bytes of n values of type t (n a multiple of 32
// for Q8_0).
func (t CacheType) rowBytes(n int64) int64 {
	switch t {
	case CacheF32:
		return 4 * n
	case CacheQ8_0:
		return n / 32 * 34
	}
	return 2 * n
}

// check reports whether t can hold heads of hd values.
func (t CacheType) check(hd int) error {
	switch t {
	case CacheF16, CacheF32:
		return nil
	case CacheQ8_0:
		if hd%32 != 0 {
			return fmt.Errorf("gemma3: a q8_0 KV cache needs a head dim that is a multiple of 32, not %d: %w", hd, ErrConfig)
		}
		return nil
	}
	return fmt.Errorf("gemma3: unknown KV cache type %d: %w", uint8(t), ErrConfig)
}

// kvCache is one layer's keys and values: slots of width values each
// (KVDim: the KV heads side by side), held in one of the typed slices.
// Position p of a sequence lives in slot p % slots.
type kvCache struct {
	typ      CacheType
	width    int // values per slot
	rowBytes int // bytes per slot, for Q8_0
	k32, v32 []float32
	k16, v16 []uint16
	k8, v8   []byte
}

func newKVCache(t CacheType, slots, width int) kvCache {
	c := kvCache{typ: t, width: width, rowBytes: int(t.rowBytes(int64(width)))}
	switch t {
	case CacheF32:
		c.k32, c.v32 = make([]float32, slots*width), make([]float32, slots*width)
	case CacheF16:
		c.k16, c.v16 = make([]uint16, slots*width), make([]uint16, slots*width)
	case CacheQ8_0:
		c.k8, c.v8 = make([]byte, slots*c.rowBytes), make([]byte, slots*c.rowBytes)
	}
	return c
}

// store writes key k and value v (width values each) into slot.
func (c *kvCache) store(slot int, k, v []float32) {
	w := c.width
	switch c.typ {
	case CacheF32:
		copy(c.k32[slot*w:(slot+1)*w], k[:w])
		copy(c.v32[slot*w:(slot+1)*w], v[:w])
	case CacheF16:
		toF16(c.k16[slot*w:(slot+1)*w], k[:w])
		toF16(c.v16[slot*w:(slot+1)*w], v[:w])
	case CacheQ8_0:
		b := c.rowBytes
		quantizeQ8_0(c.k8[slot*b:(slot+1)*b], k[:w])
		quantizeQ8_0(c.v8[slot*b:(slot+1)*b], v[:w])
	}
}

// load writes the key and value of slot, widened to float32, into k and v
// (for tests).
func (c *kvCache) load(slot int, k, v []float32) {
	w := c.width
	switch c.typ {
	case CacheF32:
		copy(k, c.k32[slot*w:(slot+1)*w])
		copy(v, c.v32[slot*w:(slot+1)*w])
	case CacheF16:
		for i := 0; i < w; i++ {
			k[i] = numeric.Float16FromBits(c.k16[slot*w+i]).Float32()
			v[i] = numeric.Float16FromBits(c.v16[slot*w+i]).Float32()
		}
	case CacheQ8_0:
		b := c.rowBytes
		dequantizeQ8_0(k[:w], c.k8[slot*b:(slot+1)*b])
		dequantizeQ8_0(v[:w], c.v8[slot*b:(slot+1)*b])
	}
}

// scores sets out[4j+h] = q[h]·key(slot+j)[off : off+hd] for j < n, where
// hd = len(q[0]) and off is the first value of the head within a slot.
func (c *kvCache) scores(q *[4][]float32, slot, off, n int, out []float32) {
	w := c.width
	switch c.typ {
	case CacheF32:
		scores4(q, c.k32[slot*w+off:], w, n, out)
	case CacheF16:
		scores4F16(q, c.k16[slot*w+off:], w, n, out)
	case CacheQ8_0:
		scores4Q8(q, c.k8[slot*c.rowBytes+off/32*34:], c.rowBytes, n, out)
	}
}

// values adds Σ_{j<n} p[4j+h]·value(slot+j)[off : off+hd] to
// out[h·hd : (h+1)·hd] for h < 4.
func (c *kvCache) values(p []float32, slot, off, hd, n int, out []float32) {
	w := c.width
	switch c.typ {
	case CacheF32:
		values4(p, c.v32[slot*w+off:], w, hd, n, out)
	case CacheF16:
		values4F16(p, c.v16[slot*w+off:], w, hd, n, out)
	case CacheQ8_0:
		values4Q8(p, c.v8[slot*c.rowBytes+off/32*34:], c.rowBytes, hd, n, out)
	}
}

// toF16Generic rounds src to binary16 (nearest even) into dst; the
// specification of toF16.
func toF16Generic(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = numeric.Float16FromFloat32(v).Bits()
	}
}

// f16 widens binary16 bits h to float32 (exactly).
func f16(h uint16) float32 { return numeric.Float16FromBits(h).Float32() }

// quantizeQ8_0 writes x (a multiple of 32 values) as Q8_0 blocks into dst
// the way ggml's x86 quantize_row_q8_0 rounds: d = fp16(amax/127), codes
// rint(x·(127/amax)) (0 for an all-zero block).
func quantizeQ8_0(dst []byte, x []float32) {
	for i := 0; i+32 <= len(x); i += 32 {
		blk := x[i : i+32]
		out := dst[i/32*34 : i/32*34+34]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		binary.LittleEndian.PutUint16(out, numeric.Float16FromFloat32(amax/127).Bits())
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		for j, v := range blk {
			out[2+j] = byte(int8(math.RoundToEven(float64(v * id))))
		}
	}
}

// dequantizeQ8_0 writes the values of the Q8_0 blocks src into dst.
func dequantizeQ8_0(dst []float32, src []byte) {
	for i := 0; i+32 <= len(dst); i += 32 {
		blk := src[i/32*34:]
		d := f16(binary.LittleEndian.Uint16(blk))
		for j := 0; j < 32; j++ {
			dst[i+j] = float32(int8(blk[2+j])) * d
		}
	}
}

// scores4F16Generic is the specification of scores4F16: scores4Generic
// over keys widened from binary16 (ldk in values).
func scores4F16Generic(q *[4][]float32, k []uint16, ldk, n int, out []float32) {
	hd := len(q[0])
	for j := 0; j < n; j++ {
		kj := k[j*ldk : j*ldk+hd]
		var s [4][4]float32 // per head, dotGeneric's four partial sums
		i := 0
		for ; i+4 <= hd; i += 4 {
			for u := 0; u < 4; u++ {
				x := f16(kj[i+u])
				for h := range q {
					s[h][u] += q[h][i+u] * x
				}
			}
		}
		for ; i < hd; i++ {
			x := f16(kj[i])
			for h := range q {
				s[h][0] += q[h][i] * x
			}
		}
		for h := range q {
			out[4*j+h] = (s[h][0] + s[h][1]) + (s[h][2] + s[h][3])
		}
	}
}

// values4F16Generic is the specification of values4F16: values4Generic
// over values widened from binary16 (ldv in values).
func values4F16Generic(p []float32, v []uint16, ldv, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		vj := v[j*ldv : j*ldv+hd]
		p0, p1, p2, p3 := p[4*j], p[4*j+1], p[4*j+2], p[4*j+3]
		o0, o1, o2, o3 := out[:hd], out[hd:2*hd], out[2*hd:3*hd], out[3*hd:4*hd]
		for i, b := range vj {
			x := f16(b)
			o0[i] += p0 * x
			o1[i] += p1 * x
			o2[i] += p2 * x
			o3[i] += p3 * x
		}
	}
}

// scores4Q8Generic is the specification of scores4Q8: scores4Generic over
// keys dequantized from Q8_0 blocks (ldk in bytes; hd = len(q[0]) a
// multiple of 32).
func scores4Q8Generic(q *[4][]float32, k []byte, ldk, n int, out []float32) {
	hd := len(q[0])
	for j := 0; j < n; j++ {
		kj := k[j*ldk:]
		var s [4][4]float32
		for b := 0; b < hd/32; b++ {
			blk := kj[b*34 : b*34+34]
			d := f16(binary.LittleEndian.Uint16(blk))
			for i := 0; i < 32; i++ {
				x := float32(int8(blk[2+i])) * d
				for h := range q {
					s[h][i%4] += q[h][b*32+i] * x
				}
			}
		}
		for h := range q {
			out[4*j+h] = (s[h][0] + s[h][1]) + (s[h][2] + s[h][3])
		}
	}
}

// values4Q8Generic is the specification of values4Q8: values4Generic over
// values dequantized from Q8_0 blocks (ldv in bytes, hd a multiple of 32).
func values4Q8Generic(p []float32, v []byte, ldv, hd, n int, out []float32) {
	for j := 0; j < n; j++ {
		vj := v[j*ldv:]
		p0, p1, p2, p3 := p[4*j], p[4*j+1], p[4*j+2], p[4*j+3]
		for b := 0; b < hd/32; b++ {
			blk := vj[b*34 : b*34+34]
			d := f16(binary.LittleEndian.Uint16(blk))
			for i := 0; i < 32; i++ {
				x := float32(int8(blk[2+i])) * d
				c := b*32 + i
				out[c] += p0 * x
				out[hd+c] += p1 * x
				out[2*hd+c] += p2 * x
				out[3*hd+c] += p3 * x
			}
		}
	}
}

// roundF16Generic sets dst[i] = src[i] rounded to binary16 (nearest
// even) and widened back; the specification of roundF16. dst may be src.
func roundF16Generic(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = numeric.Float16FromFloat32(v).Float32()
	}
}
