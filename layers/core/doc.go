// Package core holds the basic layers of Zerfoo as graph nodes: dense and
// quantized linear maps (Linear, MatMulNBits) and constants (Constant).
//
// # MatMulNBits weight layout
//
// MatMulNBits is ONNX Runtime's com.microsoft.MatMulNBits. It computes
// Y = A · Wᵀ + bias, where W is an N×K matrix (one row per output feature,
// the orientation of PyTorch's Linear.weight), quantized in blocks of
// block_size consecutive elements along K:
//
//	W[n][k] = (q[n][k] − zp[n][b]) · scale[n][b],   b = k / block_size
//
// (for float zero points ONNX Runtime computes q·scale − scale·zp, which is
// the same value up to rounding). Codes q are unsigned, 0 … 2^bits−1.
//
//   - B is uint8 [N][k_blocks][blob] with k_blocks = ceil(K/block_size) and
//     blob = block_size·bits/8. Within a block element j occupies the
//     bits-wide field at bit offset j·bits, low bits first: for 4 bits even j
//     is the low nibble of byte j/2 and odd j the high nibble.
//   - When K is not a multiple of block_size the last block is stored in
//     full; its codes past K are never read (they may hold anything).
//   - scales are [N][k_blocks] (or flat); they may be negative.
//   - zero points are absent (2^(bits−1): 2, 8 or 128), packed uint8 with
//     the same bit order along the blocks of each row, every row starting on
//     a byte boundary (ceil(k_blocks·bits/8) bytes; for 4 bits and odd
//     k_blocks the high nibble of each row's last byte is padding), or
//     float [N][k_blocks] (not for 8 bits).
//   - g_idx, when present, gives the block of each input row k instead of
//     k/block_size; as in ONNX Runtime packed zero points are then ignored.
//
// The spec constructor NewMatMulNBits takes weights as [K][N·bits/8] —
// K rows, each packing the N output features — with a per-tensor or
// per-output-feature scale, and repacks them into the form above (see its
// documentation). Either way the layer keeps the weights packed: a 4-bit
// layer holds N·K/2 bytes plus the scales. Forward computes with the fused
// SIMD kernels of internal/qgemm (never materializing W), which need a
// second, repacked copy of the weights made on the first call (about the
// same size; float zero points and g_idx keep the reference loops).
// WithReferenceKernels selects the reference loops; WithDequantCache
// trades 4·N·K bytes of float32 weights for Sgemm speed at levels 0–3.
//
// # Numerics
//
// All math runs in float32 (float16, bfloat16 and float64 layers convert
// their inputs and outputs). At accuracy_level 0–3 a MatMulNBits layer
// dequantizes W and accumulates dot products in float32, matching ONNX
// Runtime within float32 rounding. At accuracy_level 4 it reproduces ONNX
// Runtime's x86 CompInt8 path: A is quantized per row and per block of
// block_size elements to int8 with scale max|a|/127 and round-half-to-even,
// each block's dot product with (q − zp) is an exact int32, and the blocks
// are summed in float32 after scaling by scaleA·scaleB. This is lossy
// (about 1e-3…1e-2 relative against exact math) but matches ONNX Runtime to
// about 1e-6 relative. As in ONNX Runtime 1.30.0 on x86-64, float zero
// points, g_idx, bits 2 with block size 16 or 256, and weights given as graph
// inputs (MatMulNBits.ForwardAny) fall back to the float32 path at level 4.
//
// # Aliasing
//
// Constant.Forward returns its stored tensor, not a copy, and the ONNX
// MatMulNBits constructor references B: neither may be modified by the
// caller afterwards. Layers never modify their inputs.
package core
