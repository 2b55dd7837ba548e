package quant

import "math"

// The OCP microscaling FP4 types: E2M1 codes (kvaluesFP4, doubled so that
// they are integers) with a power-of-two E8M0 scale per 32 elements
// (MXFP4, ggml type 39) or a UE4M3 scale per 16 elements (NVFP4, type 40,
// 64-element blocks). llama.cpp multiplies both with Q8_0 activations.

var (
	_ Block = (*BlockMXFP4)(nil)
	_ Block = (*BlockNVFP4)(nil)
)

// QKNVFP4 is the number of elements in an NVFP4 block, of 4 sub-blocks.
const QKNVFP4 = 64

// kvaluesFP4 is ggml's kvalues_mxfp4: twice the E2M1 values of each 4-bit
// code (sign in bit 3).
var kvaluesFP4 = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// BlockMXFP4 is an MXFP4 block (17 bytes): 32 elements y = kvaluesFP4[q]·d
// with d = 2^(E−128) (E8M0, halved because the values are doubled); Qs[j]
// holds q[j] in its low nibble and q[j+16] in its high nibble.
type BlockMXFP4 struct {
	E  uint8
	Qs [QK / 2]uint8
}

// Load reads the block's 17-byte encoding (E first).
func (b *BlockMXFP4) Load(p []byte) { _ = p[16]; b.E = p[0]; copy(b.Qs[:], p[1:17]) }

// Store writes the block's 17-byte encoding.
func (b *BlockMXFP4) Store(p []byte) { _ = p[16]; p[0] = b.E; copy(p[1:17], b.Qs[:]) }

// e8m0Half is ggml_e8m0_to_fp32_half: 2^(e−128) as float32 (subnormal
// for e < 2).
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

// Dequantize writes the block's 32 elements to y (dequantize_row_mxfp4).
func (b *BlockMXFP4) Dequantize(y []float32) {
	_ = y[QK-1]
	d := e8m0Half(b.E)
	for j, q := range b.Qs {
		y[j] = float32(kvaluesFP4[q&0xf]) * d
		y[j+QK/2] = float32(kvaluesFP4[q>>4]) * d
	}
}

// bestFP4 is ggml's best_index_mxfp4: the code whose value times d is
// nearest x (the first on ties), errors computed in float32.
func bestFP4(x, d float32) uint8 {
	best, bestErr := uint8(0), abs32(float32(float32(kvaluesFP4[0])*d)-x)
	for i := 1; i < 16; i++ {
		if err := abs32(float32(float32(kvaluesFP4[i])*d) - x); err < bestErr {
			best, bestErr = uint8(i), err
		}
	}
	return best
}

// Quantize sets b to the MXFP4 encoding of x[:32] (quantize_row_mxfp4_ref):
// E = floor(log2 max|x|) − 2 + 127 (0 when every x is 0), converted to a
// byte as x86-64 C does, then each code is the nearest value.
func (b *BlockMXFP4) Quantize(x []float32) {
	x = x[:QK]
	amax, _ := absMaxSigned(x)
	b.E = 0
	if amax > 0 {
		l := float32(math.Log2(float64(amax))) // log2f, correctly rounded
		b.E = uint8(cInt(float32(math.Floor(float64(l))) - 2 + 127))
	}
	d := e8m0Half(b.E)
	for j := range b.Qs {
		b.Qs[j] = bestFP4(x[j], d) | bestFP4(x[j+QK/2], d)<<4
	}
}

// BlockNVFP4 is an NVFP4 block (36 bytes): 64 elements in 4 sub-blocks of
// 16, y = kvaluesFP4[q]·d_s with d_s the UE4M3 scale D[s] halved (the
// values are doubled); sub-block s holds q[j] and q[j+8] in the low and
// high nibbles of Qs[8s+j].
type BlockNVFP4 struct {
	D  [4]uint8
	Qs [QKNVFP4 / 2]uint8
}

// Load reads the block's 36-byte encoding (the 4 scales first).
func (b *BlockNVFP4) Load(p []byte) { _ = p[35]; copy(b.D[:], p[0:4]); copy(b.Qs[:], p[4:36]) }

// Store writes the block's 36-byte encoding.
func (b *BlockNVFP4) Store(p []byte) { _ = p[35]; copy(p[0:4], b.D[:]); copy(p[4:36], b.Qs[:]) }

// ue4m3Half is ggml_ue4m3_to_fp32: half the unsigned E4M3 value of x
// (bias 7, 3 mantissa bits, bit 7 ignored; 0 and 0x7F give 0). Every value
// is exact in float32.
func ue4m3Half(x uint8) float32 {
	if x == 0 || x == 0x7f {
		return 0
	}
	e, m := int(x>>3&0xf), float64(x&7)
	if e == 0 {
		return float32(math.Ldexp(m, -9) * 0.5)
	}
	return float32(math.Ldexp(1+m/8, e-7) * 0.5)
}

// toUE4M3 is ggml_fp32_to_ue4m3: x clamped to 448 and rounded to UE4M3
// by the mantissa's next bit (half up), subnormals to nearest, 0x7E at
// the top, 0 for x ≤ 0 or NaN.
func toUE4M3(x float32) uint8 {
	if !(x > 0) {
		return 0
	}
	x = min(x, 448)
	bits := math.Float32bits(x)
	e := int(bits>>23&0xff) - 127 + 7
	if e <= 0 {
		m := cInt(float32(x*512) + 0.5)
		if m < 1 {
			return 0
		}
		return uint8(min(m, 7))
	}
	if e >= 15 {
		return 0x7e
	}
	m := int(bits>>20&7) + int(bits>>19&1)
	if m > 7 {
		m = 0
		if e++; e >= 15 {
			return 0x7e
		}
	}
	return uint8(e<<3 | m)
}

// Dequantize writes the block's 64 elements to y (dequantize_row_nvfp4).
func (b *BlockNVFP4) Dequantize(y []float32) {
	_ = y[QKNVFP4-1]
	for s := range 4 {
		d := ue4m3Half(b.D[s])
		for j, q := range b.Qs[8*s : 8*s+8] {
			y[16*s+j] = float32(kvaluesFP4[q&0xf]) * d
			y[16*s+j+8] = float32(kvaluesFP4[q>>4]) * d
		}
	}
}

// Quantize sets b to the NVFP4 encoding of x[:64] (quantize_row_nvfp4_ref):
// per sub-block D[s] = toUE4M3(max|x| / 6), then each code is the value
// nearest x at the scale D[s] decodes to.
func (b *BlockNVFP4) Quantize(x []float32) {
	x = x[:QKNVFP4]
	for s := range 4 {
		xb := x[16*s : 16*s+16]
		amax, _ := absMaxSigned(xb)
		b.D[s] = toUE4M3(amax / 6)
		d := ue4m3Half(b.D[s])
		for j := range 8 {
			b.Qs[8*s+j] = bestFP4(xb[j], d) | bestFP4(xb[j+8], d)<<4
		}
	}
}
