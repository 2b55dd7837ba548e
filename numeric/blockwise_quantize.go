package numeric

import (
	"fmt"
	"math"
)

// BlockPadding selects the codes that a block-wise quantizer writes into the
// padding of a partial last block (the codes at k >= K when K is not a
// multiple of the block size). MatMulNBits never reads them, so the choice
// only matters for byte-exact comparisons.
type BlockPadding int

const (
	// PadZeroPoint fills the padding with the block's zero point, so the
	// padded weights dequantize to exactly 0. This is the default.
	PadZeroPoint BlockPadding = iota
	// PadORT writes the padding as ONNX Runtime's MatMulNBitsQuantizer
	// (MLAS BlockwiseQuantizer::quantizeAndTranspose, which is called with
	// the unpadded K) leaves it: bytes past the last valid code are 0, and the
	// unused fields of a partially filled byte repeat the fields of the byte
	// before it in the same pair of blocks (4 bits) or quad of blocks (2
	// bits), or are 0 when there is no such byte.
	PadORT
)

// BlockOptions configures QuantizeBlockwise.
type BlockOptions struct {
	Bits      int  // 2, 4 or 8
	BlockSize int  // 16, 32, 64, 128 or 256
	Symmetric bool // no zero points; zero point 2^(Bits-1) and a signed scale
	Padding   BlockPadding
}

// QuantizeBlockwise quantizes the float32 matrix w, given as n*k values in
// [N][K] row-major order (one row per output feature, the PyTorch Linear
// weight orientation), block-wise along K into the MatMulNBits layout.
//
// Each block of BlockSize consecutive values of a row gets its own scale
// (and, when asymmetric, zero point), computed exactly as ONNX Runtime's MLAS
// quantizer (q4_dq.cpp, BlockwiseQuantizer, used by the Python
// MatMulNBitsQuantizer) does in float32, over the block's valid values only:
//
//	symmetric:  v = the value of largest magnitude, keeping its sign (on a
//	            tie, the minimum); scale = -v / 2^(Bits-1); zp = 2^(Bits-1)
//	asymmetric: lo = min(min, 0); hi = max(max, 0);
//	            scale = (hi - lo) / (2^Bits - 1);
//	            zp = clamp(roundf(0 - lo/scale), 0, 2^Bits-1), or 0 when scale = 0
//	codes:      r = (scale != 0 ? 1/scale : 0);
//	            q = clamp(roundf(x*r + zp), 0, 2^Bits-1)
//
// where roundf rounds half away from zero (C roundf, not ONNX's half to
// even) and x*r is rounded to float32 before the zero point is added (no
// fused multiply-add, as in ORT's x86-64 build). A symmetric scale is
// negative when the block's extreme value is positive; an all-zero block
// gets scale -0 (symmetric) or scale 0 and zero point 0 (asymmetric), and
// all its codes equal the zero point. Unused fields of a row's last
// zero-point byte are 2^(Bits-1), as in current MLAS.
//
// It returns an error wrapping ErrQuantization if the options are invalid,
// n or k is not positive, len(w) != n*k, or w holds a NaN or an infinity
// (named by its row and column).
func QuantizeBlockwise(w []float32, n, k int, opts BlockOptions) (*BlockQuantized, error) {
	if err := checkQuantizeArgs("QuantizeBlockwise", len(w), n, k, "[N][K]", opts); err != nil {
		return nil, err
	}
	return quantizeBlockwise(w, n, k, k, 1, opts)
}

// QuantizeBlockwiseKN is QuantizeBlockwise for w given as k*n values in
// [K][N] row-major order: the orientation of the B input of an ONNX MatMul,
// which is what ONNX Runtime's MatMulNBitsQuantizer reads. Column j of w
// becomes row j of the result; the output is identical to transposing w
// and calling QuantizeBlockwise.
func QuantizeBlockwiseKN(w []float32, k, n int, opts BlockOptions) (*BlockQuantized, error) {
	if err := checkQuantizeArgs("QuantizeBlockwiseKN", len(w), n, k, "[K][N]", opts); err != nil {
		return nil, err
	}
	return quantizeBlockwise(w, n, k, 1, n, opts)
}

func checkQuantizeArgs(fn string, lenW, n, k int, order string, opts BlockOptions) error {
	if err := ValidateBlockParams(opts.Bits, opts.BlockSize); err != nil {
		return fmt.Errorf("numeric: %s: %w", fn, err)
	}
	if opts.Padding != PadZeroPoint && opts.Padding != PadORT {
		return fmt.Errorf("numeric: %s: unknown padding mode %d: %w", fn, opts.Padding, ErrQuantization)
	}
	if n <= 0 || k <= 0 {
		return fmt.Errorf("numeric: %s: N=%d K=%d must be positive: %w", fn, n, k, ErrQuantization)
	}
	if n > math.MaxInt32 || k > math.MaxInt32/n {
		return fmt.Errorf("numeric: %s: N=%d K=%d is too large: %w", fn, n, k, ErrQuantization)
	}
	if lenW != n*k {
		return fmt.Errorf("numeric: %s: got %d weights, want %s = %d*%d = %d: %w",
			fn, lenW, order, n, k, n*k, ErrQuantization)
	}
	return nil
}

// quantizeBlockwise does the work; element (row, col) of W is
// w[row*strideN + col*strideK].
func quantizeBlockwise(w []float32, n, k, strideN, strideK int, opts BlockOptions) (*BlockQuantized, error) {
	q := &BlockQuantized{N: n, K: k, Bits: opts.Bits, BlockSize: opts.BlockSize}
	kb, blob, bs := q.KBlocks(), q.BlobSize(), q.BlockSize
	q.B = make([]uint8, n*kb*blob)
	q.Scales = make([]float32, n*kb)
	mid := q.DefaultZeroPoint()
	var zps []uint8 // one row of unpacked zero points
	if !opts.Symmetric {
		q.ZeroPoints = make([]uint8, n*q.ZeroPointRowBytes())
		zps = make([]uint8, q.ZeroPointRowBytes()*8/q.Bits)
	}
	vals := make([]float32, bs)
	codes := make([]uint8, bs)
	prevTail := make([]uint8, 8/q.Bits) // last codes of the previous block (PadORT)
	for row := 0; row < n; row++ {
		for i := range zps {
			zps[i] = mid
		}
		for b := 0; b < kb; b++ {
			lo := b * bs
			valid := min(bs, k-lo)
			for j := 0; j < valid; j++ {
				x := w[row*strideN+(lo+j)*strideK]
				if math.Float32bits(x)&0x7f800000 == 0x7f800000 { // NaN or ±Inf
					return nil, fmt.Errorf("numeric: block quantization: weight [%d][%d] (row %d, column %d of the [N][K] matrix) is %v: %w",
						row, lo+j, row, lo+j, x, ErrQuantization)
				}
				vals[j] = x
			}
			scale, zp := blockParams(vals[:valid], q.Bits, opts.Symmetric)
			q.Scales[row*kb+b] = scale
			if zps != nil {
				zps[b] = zp
			}
			quantizeCodes(codes[:valid], vals[:valid], scale, zp, q.Bits)
			if valid < bs {
				padCodes(codes, valid, zp, q.Bits, b, prevTail, opts.Padding)
			}
			kp := len(prevTail)
			copy(prevTail, codes[bs-kp:])
			off := (row*kb + b) * blob
			if _, err := PackBits(q.B[off:off+blob], codes, q.Bits); err != nil {
				panic("numeric: internal error: " + err.Error()) // codes are clamped to range
			}
		}
		if zps != nil {
			rb := q.ZeroPointRowBytes()
			if _, err := PackBits(q.ZeroPoints[row*rb:(row+1)*rb], zps, q.Bits); err != nil {
				panic("numeric: internal error: " + err.Error())
			}
		}
	}
	return q, nil
}

// blockParams returns the scale and zero point of one block of finite values
// as MLAS range2scale / range2scalezp compute them.
func blockParams(vals []float32, bits int, symmetric bool) (float32, uint8) {
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range vals {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if symmetric {
		half := float32(int32(1) << (bits - 1))
		m := lo
		if abs32(hi) > abs32(lo) {
			m = hi
		}
		return float32(-m / half), uint8(1) << (bits - 1)
	}
	lo, hi = min(lo, 0), max(hi, 0)
	maxCode := float32(int32(1)<<bits - 1)
	scale := float32((hi - lo) / maxCode)
	zpf := lo
	if scale != 0 {
		zpf = float32(0 - float32(lo/scale))
	}
	switch {
	case zpf < 0:
		return scale, 0
	case zpf > maxCode:
		return scale, uint8(maxCode)
	default:
		return scale, uint8(roundf(zpf))
	}
}

// quantizeCodes writes clamp(roundf(x*(1/scale) + zp)) for each value.
func quantizeCodes(dst []uint8, vals []float32, scale float32, zp uint8, bits int) {
	var r float32
	if scale != 0 {
		r = 1 / scale
	}
	z := float32(zp)
	maxCode := float32(int32(1)<<bits - 1)
	for j, v := range vals {
		// The explicit conversion rounds the product to float32 and so
		// forbids fusing it with the addition (Go spec, floating-point
		// operators); MLAS on x86-64 rounds twice as well.
		c := roundf(float32(v*r) + z)
		dst[j] = uint8(min(max(c, 0), maxCode))
	}
}

// padCodes fills codes[valid:] according to mode. b is the block index in
// the row and prevTail the last 8/bits codes of block b-1.
func padCodes(codes []uint8, valid int, zp uint8, bits, b int, prevTail []uint8, mode BlockPadding) {
	if mode == PadZeroPoint {
		for j := valid; j < len(codes); j++ {
			codes[j] = zp
		}
		return
	}
	// PadORT: MLAS packs kp = 8/bits codes per byte from a small buffer that
	// is zeroed at the start of each thread block of kp quantization blocks
	// and only overwritten for valid rows, so the unused fields of a partial
	// byte keep the codes of the byte before it; later bytes are never
	// written (0).
	kp := len(prevTail)
	start := valid / kp * kp // first code of the partial byte
	for j := valid; j < len(codes); j++ {
		codes[j] = 0
	}
	if start == valid {
		return // no partial byte
	}
	for l := valid - start; l < kp; l++ {
		switch {
		case start >= kp:
			codes[start+l] = codes[start-kp+l]
		case b%kp != 0:
			codes[start+l] = prevTail[l]
		}
	}
}

// roundf is C's roundf: round half away from zero. It is exact for float32.
func roundf(x float32) float32 { return float32(math.Round(float64(x))) }

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
