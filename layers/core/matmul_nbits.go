package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// ErrAttribute is the sentinel wrapped by errors for an unsupported or
// inconsistent operator attribute (bits, block size, accuracy level, K, N).
// Shape and length problems wrap tensor.ErrShape instead.
var ErrAttribute = errors.New("core: invalid attribute")

// MatMulNBitsAttrs are the ONNX attributes of com.microsoft.MatMulNBits.
type MatMulNBitsAttrs struct {
	K             int // input features (A's last dimension)
	N             int // output features
	Bits          int // 2, 4 or 8
	BlockSize     int // quantization block length along K: 16, 32, 64, 128 or 256
	AccuracyLevel int // 0..4; 4 quantizes A to int8 per block (see MatMulNBits)
}

// MatMulNBitsOption configures a MatMulNBits layer.
type MatMulNBitsOption func(*matMulNBitsConfig)

type matMulNBitsConfig struct {
	dequantCache bool
	reference    bool
	exactScales  bool
}

// WithExactScales keeps float32 scales exact at accuracy level 4. By
// default a level-4 layer (int8 activations) stores float32 scales that are
// not float16 values in 24 bits, rounded to nearest even (a relative change
// of at most 2⁻¹⁶ ≈ 1.5e-5, far below the ≈2⁻⁸ rounding of the int8
// activations themselves): 0.59375 instead of 0.625 bytes per 4-bit weight
// at block size 32. With this option the layer matches ONNX Runtime's int8
// path to float32 rounding (≈1e-7 of Σ|a·w|); without it, to ≈2⁻¹⁶.
// Levels 0–3 always keep exact scales.
func WithExactScales() MatMulNBitsOption {
	return func(c *matMulNBitsConfig) { c.exactScales = true }
}

// WithReferenceKernels makes Forward use the simple reference loops
// (dequantize a row, then dot products) instead of the fused SIMD kernels
// of internal/qgemm. The results agree within float32 rounding (the int8
// path exactly up to the order of the float32 block sums); it exists for
// testing and debugging.
func WithReferenceKernels() MatMulNBitsOption {
	return func(c *matMulNBitsConfig) { c.reference = true }
}

// WithDequantCache makes the layer dequantize all weights to float32 once, on
// the first Forward or Backward (safely under concurrent calls), and reuse
// them afterwards. It is the spec's "on-demand dequantization with caching".
//
// It costs 4·N·K bytes of memory in addition to the packed weights: 8
// times the size of 4-bit weights, so it erases the memory saving of
// quantization (Footprint counts it). It speeds up the
// float32 path only; at accuracy level 4 the int8 path reads the packed
// weights and the cache is not built.
func WithDequantCache() MatMulNBitsOption {
	return func(c *matMulNBitsConfig) { c.dequantCache = true }
}

// MatMulNBits is the com.microsoft.MatMulNBits operator of ONNX Runtime as a
// graph node: Y = A · Wᵀ + bias, where W is an N×K matrix (one row per output
// feature) stored block-quantized along K with 2, 4 or 8 bits. See the
// package documentation for the weight layout.
//
// Forward takes one input A of shape [..., K] (rank ≥ 1) and returns
// [..., N]. Computation is in float32 whatever T is (float16, bfloat16 and
// float64 inputs are converted, as ONNX Runtime does on x86). Weights stay
// packed unless WithDequantCache is given. Forward and Backward are safe for
// concurrent use.
//
// The packed weights are frozen: Parameters returns only the bias (when the
// layer has one), whose gradient Backward accumulates.
type MatMulNBits[T tensor.Numeric] struct {
	name   string
	engine compute.Engine[T]
	ops    numeric.Arithmetic[T]
	q      *qweights
	bias   *graph.Parameter[T]
	cfg    matMulNBitsConfig

	cacheOnce  sync.Once
	cache      []float32    // [N][K] dequantized weights, when cfg.dequantCache
	cacheBytes atomic.Int64 // 4·len(cache), set once the cache is built

	mu        sync.Mutex
	lastShape []int // output shape of the latest Forward
}

// NewMatMulNBits is the constructor of the Zerfoo quantization spec.
//
// weights is a 2-D uint8 tensor [K, N·bits/8]: row k holds Wᵀ[k][·], the
// weights that input feature k contributes to each output feature, packed
// along N with the first value in the lowest bits of a byte (for 4 bits, n
// even → low nibble, n odd → high nibble; the numeric.Pack4BitSlice order).
// So K is the row count and N = columns·8/bits.
//
// scale has one element (per-tensor) or N elements (per-row: one scale for
// each output feature n, i.e. for each row of the N×K matrix W, which is a
// column of weights). zeroPoint is nil or holds unpacked codes, one per
// byte: one element (per-tensor) or N (per-row). With symmetric true the zero
// point is 2^(bits−1) (8 for 4 bits) and a given zeroPoint must equal it;
// with symmetric false zeroPoint is required.
//
// The weights are repacked (copied, same byte count) into the ONNX
// block-wise form with block_size = min(256, max(16, next power of two ≥ K)),
// the scale and zero point replicated over the K blocks and the padding of
// a partial last block filled with the zero point. The layer is then exactly
// the ONNX MatMulNBits node that Attributes describes, at accuracy level 0.
// weights, scale and zeroPoint are not retained.
func NewMatMulNBits[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	weights *tensor.Tensor[uint8], scale *tensor.Tensor[T], zeroPoint *tensor.Tensor[uint8],
	bits int, symmetric bool, opts ...MatMulNBitsOption) (*MatMulNBits[T], error) {
	if err := checkCommon[T](name, engine, ops); err != nil {
		return nil, err
	}
	if !validBits(bits) {
		return nil, fmt.Errorf("core: MatMulNBits %q: bits %d not supported (want 2, 4 or 8): %w", name, bits, ErrAttribute)
	}
	if weights == nil || scale == nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: nil weights or scale tensor: %w", name, tensor.ErrShape)
	}
	if weights.Dims() != 2 || weights.Dim(0) < 1 || weights.Dim(1) < 1 {
		return nil, fmt.Errorf("core: MatMulNBits %q: weights shape %v, want [K, N·%d/8] with K, N ≥ 1: %w",
			name, weights.Shape(), bits, tensor.ErrShape)
	}
	k, cols := weights.Dim(0), weights.Dim(1)
	n := cols * 8 / bits
	ns := scale.Size()
	if ns != 1 && ns != n {
		return nil, fmt.Errorf("core: MatMulNBits %q: scale has %d elements, want 1 (per-tensor) or N=%d (per-row): %w",
			name, ns, n, tensor.ErrShape)
	}
	def := 1 << (bits - 1)
	zp := []uint8(nil)
	if zeroPoint != nil {
		nz := zeroPoint.Size()
		if nz != 1 && nz != n {
			return nil, fmt.Errorf("core: MatMulNBits %q: zero point has %d elements, want 1 (per-tensor) or N=%d (per-row): %w",
				name, nz, n, tensor.ErrShape)
		}
		zp = zeroPoint.Data()
		for i, z := range zp {
			if int(z) >= 1<<bits {
				return nil, fmt.Errorf("core: MatMulNBits %q: zero point %d at %d exceeds the %d-bit maximum %d: %w",
					name, z, i, bits, 1<<bits-1, ErrAttribute)
			}
			if symmetric && int(z) != def {
				return nil, fmt.Errorf("core: MatMulNBits %q: symmetric %d-bit zero point must be %d, got %d at %d: %w",
					name, bits, def, z, i, ErrAttribute)
			}
		}
	} else if !symmetric {
		return nil, fmt.Errorf("core: MatMulNBits %q: asymmetric quantization needs a zero point: %w", name, ErrAttribute)
	}

	bs := 16
	for bs < k && bs < 256 {
		bs *= 2
	}
	q := &qweights{k: k, n: n, bits: bits, blockSize: bs}
	q.derive()
	zpOf := func(i int) int {
		switch {
		case zp == nil:
			return def
		case len(zp) == 1:
			return int(zp[0])
		}
		return int(zp[i])
	}
	// Repack [K][N packed] into [N][kBlocks][blob].
	src := weights.Data()
	q.b = make([]uint8, n*q.kBlocks*q.blobSize)
	mask := 1<<bits - 1
	for i := 0; i < n; i++ {
		z := zpOf(i)
		for j := 0; j < q.kBlocks*bs; j++ {
			c := z
			if j < k {
				c = codeAt(src[j*cols:(j+1)*cols], i, bits)
			}
			blk := q.b[(i*q.kBlocks+j/bs)*q.blobSize:]
			pos := (j % bs) * bits
			blk[pos/8] |= uint8((c & mask) << (pos % 8))
		}
	}
	q.scales = make([]float32, n*q.kBlocks)
	sd := scale.Data()
	for i := 0; i < n; i++ {
		s := sd[0]
		if ns > 1 {
			s = sd[i]
		}
		for b := 0; b < q.kBlocks; b++ {
			q.scales[i*q.kBlocks+b] = ops.ToFloat32(s)
		}
	}
	if zp != nil && !(symmetric || allEqual(zp, uint8(def))) {
		q.zpPacked = make([]uint8, n*q.zpRowBytes)
		for i := 0; i < n; i++ {
			row := q.zpPacked[i*q.zpRowBytes : (i+1)*q.zpRowBytes]
			for b := 0; b < q.kBlocks; b++ {
				pos := b * bits
				row[pos/8] |= uint8(zpOf(i) << (pos % 8))
			}
		}
	}
	return newMatMulNBits(name, engine, ops, q, nil, opts), nil
}

// NewMatMulNBitsONNX builds the layer from the attributes and inputs of an
// ONNX com.microsoft.MatMulNBits node, with ONNX Runtime's layout and
// semantics (see the package documentation):
//
//   - b: uint8 [N, ceil(K/BlockSize), BlockSize·Bits/8];
//   - scales: T, [N, k_blocks] or flat [N·k_blocks];
//   - zeroPoints: nil (2^(bits−1)), a *tensor.Tensor[uint8] packed along the
//     blocks of each row ([N, ceil(k_blocks·bits/8)] or flat), or a
//     *tensor.Tensor[T] of unpacked zero points ([N, k_blocks] or flat; not
//     for 8 bits, as ONNX Runtime rejects it);
//   - gIdx: nil or int32 [K] or [k_blocks·BlockSize], the block of every
//     input row (act-order GPTQ). As in ONNX Runtime, packed uint8 zero
//     points are ignored (treated as 2^(bits−1)) when gIdx is given;
//   - bias: nil or T [N]; it becomes the layer's trainable parameter.
//
// b is referenced, not copied, and must not be modified afterwards. An
// error (wrapping tensor.ErrShape or ErrAttribute) names the layer and the
// numbers for every inconsistent input.
func NewMatMulNBitsONNX[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	attrs MatMulNBitsAttrs, b *tensor.Tensor[uint8], scales *tensor.Tensor[T], zeroPoints tensor.Any,
	gIdx *tensor.Tensor[int32], bias *tensor.Tensor[T], opts ...MatMulNBitsOption) (*MatMulNBits[T], error) {
	if err := checkCommon[T](name, engine, ops); err != nil {
		return nil, err
	}
	q, err := onnxWeights(name, ops, attrs, b, scales, zeroPoints, gIdx)
	if err != nil {
		return nil, err
	}
	var bp *graph.Parameter[T]
	if bias != nil {
		if bias.Dims() != 1 || bias.Size() != q.n {
			return nil, fmt.Errorf("core: MatMulNBits %q: bias shape %v, want [%d] (N): %w", name, bias.Shape(), q.n, tensor.ErrShape)
		}
		bp = &graph.Parameter[T]{Name: name + ".bias", Value: bias}
	}
	return newMatMulNBits(name, engine, ops, q, bp, opts), nil
}

// onnxWeights validates the attributes and the weight inputs of an ONNX
// MatMulNBits node and returns them as qweights (B referenced, scales and
// zero points converted to float32).
func onnxWeights[T tensor.Numeric](name string, ops numeric.Arithmetic[T], attrs MatMulNBitsAttrs,
	b *tensor.Tensor[uint8], scales *tensor.Tensor[T], zeroPoints tensor.Any, gIdx *tensor.Tensor[int32]) (*qweights, error) {
	a := attrs
	switch {
	case a.K < 1 || a.N < 1:
		return nil, fmt.Errorf("core: MatMulNBits %q: K=%d and N=%d must be ≥ 1: %w", name, a.K, a.N, ErrAttribute)
	case !validBits(a.Bits):
		return nil, fmt.Errorf("core: MatMulNBits %q: bits %d not supported (want 2, 4 or 8): %w", name, a.Bits, ErrAttribute)
	case a.BlockSize < 16 || a.BlockSize > 256 || a.BlockSize&(a.BlockSize-1) != 0:
		return nil, fmt.Errorf("core: MatMulNBits %q: block_size %d not supported (want a power of two in 16..256): %w",
			name, a.BlockSize, ErrAttribute)
	case a.AccuracyLevel < 0 || a.AccuracyLevel > 4:
		return nil, fmt.Errorf("core: MatMulNBits %q: accuracy_level %d not in 0..4: %w", name, a.AccuracyLevel, ErrAttribute)
	}
	q := &qweights{k: a.K, n: a.N, bits: a.Bits, blockSize: a.BlockSize, level: a.AccuracyLevel}
	q.derive()
	if b == nil || scales == nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: nil B or scales tensor: %w", name, tensor.ErrShape)
	}
	want := []int{q.n, q.kBlocks, q.blobSize}
	if !tensor.SameShape(b.Shape(), want) {
		return nil, fmt.Errorf("core: MatMulNBits %q: B shape %v (%d bytes), want %v (%d bytes) for N=%d K=%d bits=%d block_size=%d: %w",
			name, b.Shape(), b.Size(), want, q.n*q.kBlocks*q.blobSize, q.n, q.k, q.bits, q.blockSize, tensor.ErrShape)
	}
	q.b = b.Data()
	if !matrixShape(scales.Shape(), q.n, q.kBlocks) {
		return nil, fmt.Errorf("core: MatMulNBits %q: scales shape %v, want [%d, %d] or [%d] (N, k_blocks): %w",
			name, scales.Shape(), q.n, q.kBlocks, q.n*q.kBlocks, tensor.ErrShape)
	}
	q.scales = toFloat32(ops, scales.Data(), true)
	if gIdx != nil {
		if gIdx.Dims() != 1 || (gIdx.Size() != q.k && gIdx.Size() != q.kBlocks*q.blockSize) {
			return nil, fmt.Errorf("core: MatMulNBits %q: g_idx shape %v, want [%d] (K) or [%d] (k_blocks·block_size): %w",
				name, gIdx.Shape(), q.k, q.kBlocks*q.blockSize, tensor.ErrShape)
		}
		for i, g := range gIdx.Data() {
			if g < 0 || int(g) >= q.kBlocks {
				return nil, fmt.Errorf("core: MatMulNBits %q: g_idx[%d] = %d outside [0, %d): %w", name, i, g, q.kBlocks, tensor.ErrIndex)
			}
		}
		q.gIdx = append([]int32(nil), gIdx.Data()[:q.k]...)
	}
	if err := setZeroPoints(name, q, ops, zeroPoints); err != nil {
		return nil, err
	}
	return q, nil
}

// setZeroPoints validates the optional zero_points input and stores it in q.
func setZeroPoints[T tensor.Numeric](name string, q *qweights, ops numeric.Arithmetic[T], zp tensor.Any) error {
	switch z := zp.(type) {
	case nil:
		return nil
	case *tensor.Tensor[uint8]:
		if z == nil {
			return nil
		}
		if !matrixShape(z.Shape(), q.n, q.zpRowBytes) {
			return fmt.Errorf("core: MatMulNBits %q: packed zero_points shape %v, want [%d, %d] or [%d] (N, ceil(k_blocks·bits/8) with k_blocks=%d, bits=%d): %w",
				name, z.Shape(), q.n, q.zpRowBytes, q.n*q.zpRowBytes, q.kBlocks, q.bits, tensor.ErrShape)
		}
		if q.gIdx == nil {
			q.zpPacked = z.Data()
		}
		return nil
	case *tensor.Tensor[T]:
		if z == nil {
			return nil
		}
		if q.bits == 8 {
			return fmt.Errorf("core: MatMulNBits %q: float zero_points are not supported with bits=8 (as in ONNX Runtime): %w", name, ErrAttribute)
		}
		if !matrixShape(z.Shape(), q.n, q.kBlocks) {
			return fmt.Errorf("core: MatMulNBits %q: float zero_points shape %v, want [%d, %d] or [%d] (N, k_blocks): %w",
				name, z.Shape(), q.n, q.kBlocks, q.n*q.kBlocks, tensor.ErrShape)
		}
		q.zpFloat = toFloat32(ops, z.Data(), true)
		return nil
	}
	return fmt.Errorf("core: MatMulNBits %q: zero_points of dtype %v, want uint8 (packed) or %v: %w",
		name, zp.DType(), numeric.DTypeOf[T](), tensor.ErrShape)
}

func newMatMulNBits[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	q *qweights, bias *graph.Parameter[T], opts []MatMulNBitsOption) *MatMulNBits[T] {
	l := &MatMulNBits[T]{name: name, engine: engine, ops: ops, q: q, bias: bias}
	for _, o := range opts {
		if o != nil {
			o(&l.cfg)
		}
	}
	if !l.cfg.reference {
		q.pack(q.useInt8() && !l.cfg.exactScales)
	}
	return l
}

// checkCommon validates what every constructor needs.
func checkCommon[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T]) error {
	switch numeric.DTypeOf[T]() {
	case numeric.Float32, numeric.Float16Type, numeric.BFloat16Type, numeric.Float64:
	default:
		return fmt.Errorf("core: MatMulNBits %q: element type %v not supported (want float32, float16, bfloat16 or float64): %w",
			name, numeric.DTypeOf[T](), ErrAttribute)
	}
	if engine == nil || ops == nil {
		return fmt.Errorf("core: MatMulNBits %q: nil engine or ops", name)
	}
	return nil
}

func validBits(bits int) bool { return bits == 2 || bits == 4 || bits == 8 }

// matrixShape reports whether shape is [rows, cols] or [rows·cols].
func matrixShape(shape []int, rows, cols int) bool {
	return tensor.SameShape(shape, []int{rows, cols}) || tensor.SameShape(shape, []int{rows * cols})
}

func allEqual(s []uint8, v uint8) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return true
}

// codeAt returns the bits-wide code at index i of a packed row (low bits first).
func codeAt(row []uint8, i, bits int) int {
	pos := i * bits
	return int(row[pos/8]>>(pos%8)) & (1<<bits - 1)
}

// toFloat32 converts s to float32; for T = float32 it returns s itself
// unless copyAlways.
func toFloat32[T tensor.Numeric](ops numeric.Arithmetic[T], s []T, copyAlways bool) []float32 {
	if f, ok := any(s).([]float32); ok {
		if copyAlways {
			return append([]float32(nil), f...)
		}
		return f
	}
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = ops.ToFloat32(v)
	}
	return out
}

// fromFloat32 converts s to []T; for T = float32 it returns s itself.
func fromFloat32[T tensor.Numeric](ops numeric.Arithmetic[T], s []float32) []T {
	if t, ok := any(s).([]T); ok {
		return t
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = ops.FromFloat32(v)
	}
	return out
}

// Name returns the layer's name.
func (l *MatMulNBits[T]) Name() string { return l.name }

// OpType returns "MatMulNBits".
func (l *MatMulNBits[T]) OpType() string { return "MatMulNBits" }

// Attributes returns the ONNX attributes K, N, bits, block_size and
// accuracy_level (as int values) in a new map.
func (l *MatMulNBits[T]) Attributes() map[string]any {
	return map[string]any{
		"K": l.q.k, "N": l.q.n, "bits": l.q.bits,
		"block_size": l.q.blockSize, "accuracy_level": l.q.level,
	}
}

// Attrs returns the layer's ONNX attributes.
func (l *MatMulNBits[T]) Attrs() MatMulNBitsAttrs {
	return MatMulNBitsAttrs{K: l.q.k, N: l.q.n, Bits: l.q.bits, BlockSize: l.q.blockSize, AccuracyLevel: l.q.level}
}

// OutputShape returns the shape of the output: [-1, N] before the first
// Forward, then the output shape of the latest Forward ([..., N]). It is
// never the weights' shape.
func (l *MatMulNBits[T]) OutputShape() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastShape == nil {
		return []int{-1, l.q.n}
	}
	return append([]int(nil), l.lastShape...)
}

// Parameters returns the bias parameter, or nil when the layer has no bias.
// The packed weights are frozen and are not parameters.
func (l *MatMulNBits[T]) Parameters() []*graph.Parameter[T] {
	if l.bias == nil {
		return nil
	}
	return []*graph.Parameter[T]{l.bias}
}

// PackedWeights returns the weight codes in the ONNX layout
// [N][k_blocks][blob]. Once the layer has repacked its weights for the
// fused kernels (the default) it keeps only that form, and this rebuilds
// the ONNX bytes (a new N·K·bits/8-byte tensor); with WithReferenceKernels
// it shares the layer's storage (do not modify).
func (l *MatMulNBits[T]) PackedWeights() *tensor.Tensor[uint8] {
	b := l.q.b
	if b == nil {
		b = l.q.onnxCodes()
	}
	return tensor.Must(tensor.New([]int{l.q.n, l.q.kBlocks, l.q.blobSize}, b))
}

// Footprint returns the bytes the layer keeps for its weights: the codes,
// scales and zero points in the form its kernels read (repacked for the
// fused kernels by default: ≤ 0.6 bytes per 4-bit weight at block size ≥ 64,
// and at block size 32 at accuracy level 4 or with float16 scales), plus
// the dequantization cache once WithDequantCache has built it. It does not
// count the bias.
func (l *MatMulNBits[T]) Footprint() int {
	q := l.q
	n := len(q.b) + 4*len(q.scales) + len(q.zpPacked) + 4*len(q.zpFloat) + 4*len(q.gIdx)
	if q.fused != nil {
		n += q.fused.Footprint()
	}
	return n + int(l.cacheBytes.Load())
}

// DequantizedWeights returns W as a new float32 [N, K] tensor (4·N·K bytes).
func (l *MatMulNBits[T]) DequantizedWeights(ctx context.Context) (*tensor.Tensor[float32], error) {
	w := make([]float32, l.q.n*l.q.k)
	if err := l.q.dequantAll(ctx, w); err != nil {
		return nil, err
	}
	return tensor.New([]int{l.q.n, l.q.k}, w)
}

// weightCache returns the dequantized weights when caching is enabled and
// the float32 path is used, building them once; otherwise nil.
func (l *MatMulNBits[T]) weightCache(ctx context.Context) ([]float32, error) {
	if !l.cfg.dequantCache {
		return nil, nil
	}
	var err error
	l.cacheOnce.Do(func() {
		w := make([]float32, l.q.n*l.q.k)
		// Built without the caller's cancellation, so a cancelled first call
		// cannot leave a half-filled cache behind.
		err = l.q.dequantAll(context.WithoutCancel(ctx), w)
		if err == nil {
			l.cache = w
			l.cacheBytes.Store(int64(4 * len(w)))
		}
	})
	return l.cache, err
}

// NewMatMulNBitsQuantized builds the layer from weights quantized by the
// numeric package (numeric.BlockQuantized holds exactly the ONNX layout) at
// the given accuracy level, with an optional bias [N] (a trainable
// parameter). q's slices are referenced, not copied, and must not be
// modified afterwards.
func NewMatMulNBitsQuantized[T tensor.Numeric](name string, engine compute.Engine[T], ops numeric.Arithmetic[T],
	q *numeric.BlockQuantized, accuracyLevel int, bias *tensor.Tensor[T], opts ...MatMulNBitsOption) (*MatMulNBits[T], error) {
	if q == nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: nil quantized weights: %w", name, tensor.ErrShape)
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: %w", name, err)
	}
	attrs := MatMulNBitsAttrs{K: q.K, N: q.N, Bits: q.Bits, BlockSize: q.BlockSize, AccuracyLevel: accuracyLevel}
	kb := q.KBlocks()
	b, err := tensor.New([]int{q.N, kb, q.BlobSize()}, q.B)
	if err != nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: %w", name, err)
	}
	scales, err := tensor.New([]int{q.N, kb}, fromFloat32(ops, q.Scales))
	if err != nil {
		return nil, fmt.Errorf("core: MatMulNBits %q: %w", name, err)
	}
	var zp tensor.Any
	if q.ZeroPoints != nil {
		zt, err := tensor.New([]int{q.N, q.ZeroPointRowBytes()}, q.ZeroPoints)
		if err != nil {
			return nil, fmt.Errorf("core: MatMulNBits %q: %w", name, err)
		}
		zp = zt
	}
	return NewMatMulNBitsONNX(name, engine, ops, attrs, b, scales, zp, nil, bias, opts...)
}
