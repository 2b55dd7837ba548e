package numeric

import (
	"fmt"
	"math"
)

// BlockQuantized is a float32 weight matrix W of shape [N][K] (one row per
// output feature, the PyTorch Linear orientation) quantized block-wise along
// K in exactly the layout of ONNX Runtime's com.microsoft.MatMulNBits:
//
//	B          [N][KBlocks][BlobSize] uint8, codes packed low bits first
//	Scales     [N*KBlocks] float32, index n*KBlocks + b (may be negative)
//	ZeroPoints nil (zero point 2^(Bits-1) everywhere) or
//	           [N][ZeroPointRowBytes] uint8, packed like B along the block
//	           axis; every row starts on a byte boundary, so the unused high
//	           fields of a row's last byte are padding.
//
// Element (n, k) lies in block b = k/BlockSize at offset j = k%BlockSize; its
// code is the Bits-wide field at bit offset j*Bits of the block's blob, and
// its value is W[n][k] = float32(code - zeroPoint(n, b)) * Scales[n*KBlocks+b].
// When K is not a multiple of BlockSize the last blob of each row still has
// BlobSize bytes; codes at k >= K are padding and are never read by the
// methods here.
//
// The fields are exported so that the slices can be handed to a MatMulNBits
// node or an ONNX writer without copying. Methods read them and never modify
// them; call Validate after building or changing a value by hand.
type BlockQuantized struct {
	N, K      int // output features (rows) and input features (columns)
	Bits      int // 2, 4 or 8
	BlockSize int // 16, 32, 64, 128 or 256
	B         []uint8
	Scales    []float32
	// ZeroPoints is nil for symmetric quantization.
	ZeroPoints []uint8
}

// ValidateBlockParams reports whether bits and blockSize are a combination
// that MatMulNBits and this package support: bits 2, 4 or 8 and a block size
// of 16, 32, 64, 128 or 256 (the sizes ONNX Runtime's CPU kernel and its
// quantizer accept). The error wraps ErrQuantization.
func ValidateBlockParams(bits, blockSize int) error {
	if bits != 2 && bits != 4 && bits != 8 {
		return fmt.Errorf("numeric: bits %d is not 2, 4 or 8: %w", bits, ErrQuantization)
	}
	if blockSize < 16 || blockSize > 256 || blockSize&(blockSize-1) != 0 {
		return fmt.Errorf("numeric: block size %d is not a power of two in 16..256: %w", blockSize, ErrQuantization)
	}
	return nil
}

// KBlocks returns the number of blocks per row, ceil(K / BlockSize).
func (q *BlockQuantized) KBlocks() int { return (q.K + q.BlockSize - 1) / q.BlockSize }

// BlobSize returns the number of bytes of one packed block, BlockSize*Bits/8.
func (q *BlockQuantized) BlobSize() int { return q.BlockSize * q.Bits / 8 }

// ZeroPointRowBytes returns the bytes of packed zero points per row,
// ceil(KBlocks*Bits/8).
func (q *BlockQuantized) ZeroPointRowBytes() int { return (q.KBlocks()*q.Bits + 7) / 8 }

// DefaultZeroPoint returns the zero point used when ZeroPoints is nil,
// 2^(Bits-1): 2, 8 or 128.
func (q *BlockQuantized) DefaultZeroPoint() uint8 { return uint8(1) << (q.Bits - 1) }

// Validate checks the parameters and that every slice has the length the
// MatMulNBits layout requires. It is O(1): it does not inspect the values
// (every byte pattern is a valid code and scales may be any float). The
// error wraps ErrQuantization and names the numbers involved.
func (q *BlockQuantized) Validate() error {
	if q == nil {
		return fmt.Errorf("numeric: nil BlockQuantized: %w", ErrQuantization)
	}
	if err := ValidateBlockParams(q.Bits, q.BlockSize); err != nil {
		return err
	}
	if q.N <= 0 || q.K <= 0 {
		return fmt.Errorf("numeric: block-quantized shape N=%d K=%d must be positive: %w", q.N, q.K, ErrQuantization)
	}
	kb := q.KBlocks()
	if q.N > math.MaxInt32 || kb*q.BlobSize() > math.MaxInt32/q.N {
		return fmt.Errorf("numeric: block-quantized shape N=%d K=%d is too large: %w", q.N, q.K, ErrQuantization)
	}
	if want := q.N * kb * q.BlobSize(); len(q.B) != want {
		return fmt.Errorf("numeric: B has %d bytes, want N*k_blocks*blob_size = %d*%d*%d = %d (bits=%d, block_size=%d): %w",
			len(q.B), q.N, kb, q.BlobSize(), want, q.Bits, q.BlockSize, ErrQuantization)
	}
	if want := q.N * kb; len(q.Scales) != want {
		return fmt.Errorf("numeric: %d scales, want N*k_blocks = %d*%d = %d: %w",
			len(q.Scales), q.N, kb, want, ErrQuantization)
	}
	if q.ZeroPoints != nil {
		if want := q.N * q.ZeroPointRowBytes(); len(q.ZeroPoints) != want {
			return fmt.Errorf("numeric: %d zero-point bytes, want N*ceil(k_blocks*bits/8) = %d*%d = %d: %w",
				len(q.ZeroPoints), q.N, q.ZeroPointRowBytes(), want, ErrQuantization)
		}
	}
	return nil
}

// PackedCode returns the i-th bits-wide field of packed, counting from the
// low bits of packed[0] (the MatMulNBits and ONNX order: for 4 bits, element
// 2j is the low nibble of byte j). bits must be 1, 2, 4 or 8 and i must be in
// range; it panics otherwise, like a slice index.
func PackedCode(packed []uint8, bits, i int) uint8 {
	bit := i * bits
	return packed[bit>>3] >> uint(bit&7) & uint8(1<<bits-1)
}

// Code returns the quantized code of element (n, k), 0 <= n < N, 0 <= k < K.
// It panics if the indices are out of range or the value is not valid.
func (q *BlockQuantized) Code(n, k int) uint8 {
	if n < 0 || n >= q.N || k < 0 || k >= q.K {
		panic(fmt.Sprintf("numeric: Code(%d, %d) out of range [%d][%d]", n, k, q.N, q.K))
	}
	b := k / q.BlockSize
	off := (n*q.KBlocks() + b) * q.BlobSize()
	return PackedCode(q.B[off:off+q.BlobSize()], q.Bits, k%q.BlockSize)
}

// ZeroPoint returns the zero point of block b of row n: the packed value when
// ZeroPoints is present, 2^(Bits-1) otherwise. It panics if n or b is out of
// range.
func (q *BlockQuantized) ZeroPoint(n, b int) uint8 {
	kb := q.KBlocks()
	if n < 0 || n >= q.N || b < 0 || b >= kb {
		panic(fmt.Sprintf("numeric: ZeroPoint(%d, %d) out of range [%d][%d]", n, b, q.N, kb))
	}
	if q.ZeroPoints == nil {
		return q.DefaultZeroPoint()
	}
	rb := q.ZeroPointRowBytes()
	return PackedCode(q.ZeroPoints[n*rb:(n+1)*rb], q.Bits, b)
}

// Scale returns the scale of block b of row n. It panics if n or b is out of
// range.
func (q *BlockQuantized) Scale(n, b int) float32 {
	kb := q.KBlocks()
	if n < 0 || n >= q.N || b < 0 || b >= kb {
		panic(fmt.Sprintf("numeric: Scale(%d, %d) out of range [%d][%d]", n, b, q.N, kb))
	}
	return q.Scales[n*kb+b]
}

// DequantizeBlock decodes the first len(dst) codes of one packed block:
// dst[j] = float32(code_j - zeroPoint) * scale, with code_j the bits-wide field
// at bit offset j*bits of blob. This is the reference decoder that MatMulNBits
// implementations are checked against; it rounds once per element, exactly
// as ONNX Runtime's dequantizer does. It panics if bits is not 2, 4 or 8 or
// blob holds fewer than len(dst) codes.
func DequantizeBlock(dst []float32, blob []uint8, bits int, scale float32, zeroPoint uint8) {
	zp := int32(zeroPoint)
	switch bits {
	case 8:
		blob = blob[:len(dst)]
		for j, c := range blob {
			dst[j] = float32(int32(c)-zp) * scale
		}
	case 4:
		_ = blob[(len(dst)-1)/2] // bounds check once; panics for short blobs
		for j := range dst {
			c := blob[j>>1] >> (uint(j&1) << 2) & 0xF
			dst[j] = float32(int32(c)-zp) * scale
		}
	case 2:
		_ = blob[(len(dst)-1)/4]
		for j := range dst {
			c := blob[j>>2] >> (uint(j&3) << 1) & 0x3
			dst[j] = float32(int32(c)-zp) * scale
		}
	default:
		panic(fmt.Sprintf("numeric: DequantizeBlock with bits %d", bits))
	}
}

// DequantizeRow writes row n of the dequantized matrix (K values) to dst.
// It returns an error wrapping ErrQuantization if q is not valid, n is out
// of range or dst is shorter than K.
func (q *BlockQuantized) DequantizeRow(dst []float32, n int) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if n < 0 || n >= q.N {
		return fmt.Errorf("numeric: DequantizeRow row %d out of range [0, %d): %w", n, q.N, ErrQuantization)
	}
	if len(dst) < q.K {
		return fmt.Errorf("numeric: DequantizeRow dst has %d elements, want K=%d: %w", len(dst), q.K, ErrQuantization)
	}
	q.dequantizeRow(dst[:q.K], n)
	return nil
}

// dequantizeRow is DequantizeRow without checks; q must be valid.
func (q *BlockQuantized) dequantizeRow(dst []float32, n int) {
	kb, blob := q.KBlocks(), q.BlobSize()
	for b := 0; b < kb; b++ {
		lo := b * q.BlockSize
		hi := min(lo+q.BlockSize, q.K)
		off := (n*kb + b) * blob
		DequantizeBlock(dst[lo:hi], q.B[off:off+blob], q.Bits, q.Scales[n*kb+b], q.ZeroPoint(n, b))
	}
}

// Dequantize returns the dequantized matrix W as N*K float32 values, row
// major [N][K]. It allocates the result; use DequantizeRow to decode into a
// buffer of your own. The error wraps ErrQuantization if q is not valid.
func (q *BlockQuantized) Dequantize() ([]float32, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	w := make([]float32, q.N*q.K)
	for n := 0; n < q.N; n++ {
		q.dequantizeRow(w[n*q.K:(n+1)*q.K], n)
	}
	return w, nil
}

// QuantError summarizes the difference between a matrix and its dequantized
// quantization, computed in float64.
type QuantError struct {
	RMSE        float64 // sqrt(mean((w - dequant(q))^2))
	MaxAbs      float64 // max |w - dequant(q)|
	MaxAbsIndex int     // flat [N][K] index where MaxAbs occurs (first one)
	// RelativeRMSE is RMSE divided by the root mean square of w (0 when w is
	// all zeros).
	RelativeRMSE float64
}

// Error compares q with the float32 matrix w it approximates, given as N*K
// values in [N][K] order. The error wraps ErrQuantization if q is not valid
// or len(w) != N*K.
func (q *BlockQuantized) Error(w []float32) (QuantError, error) {
	if err := q.Validate(); err != nil {
		return QuantError{}, err
	}
	if len(w) != q.N*q.K {
		return QuantError{}, fmt.Errorf("numeric: Error got %d weights, want N*K = %d*%d = %d: %w",
			len(w), q.N, q.K, q.N*q.K, ErrQuantization)
	}
	row := make([]float32, q.K)
	var e QuantError
	var sumSq, sumW float64
	for n := 0; n < q.N; n++ {
		q.dequantizeRow(row, n)
		for k, d := range row {
			x := float64(w[n*q.K+k])
			diff := math.Abs(x - float64(d))
			sumSq += diff * diff
			sumW += x * x
			if diff > e.MaxAbs || math.IsNaN(diff) && !math.IsNaN(e.MaxAbs) {
				e.MaxAbs, e.MaxAbsIndex = diff, n*q.K+k
			}
		}
	}
	cnt := float64(q.N * q.K)
	e.RMSE = math.Sqrt(sumSq / cnt)
	if sumW > 0 {
		e.RelativeRMSE = e.RMSE / math.Sqrt(sumW/cnt)
	}
	return e, nil
}
