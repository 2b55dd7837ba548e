// Package quant holds the tensor element types of GGUF files (ggml's
// ggml_type): their block geometry and, for the types Zerfoo supports, a
// block struct with a scalar reference decoder and ggml's reference
// quantizer.
//
// # Blocks
//
// A quantized type stores its elements in fixed-size blocks along a row
// (ne[0] in GGUF terms). BlockQ4_0, BlockQ4_1, BlockQ5_0, BlockQ5_1 and
// BlockQ8_0 hold 32 elements; BlockQ4_K, BlockQ5_K, BlockQ6_K and BlockQ8_K
// hold a super-block of 256. Every block struct has
//
//   - Load(p) and Store(p): its little-endian file encoding (Type.BlockBytes
//     bytes, the same layout as ggml's C structs);
//   - Dequantize(y): the scalar reference decoder, the same float32
//     operations in the same order as ggml's dequantize_row_* functions, so
//     the results are bit-identical;
//   - Quantize(x): ggml's quantize_row_*_ref algorithm (the one
//     llama-quantize uses without an importance matrix).
//
// Layout facts worth knowing: the 32-element types pair element j with
// element j+16 in one byte (low nibble, high nibble), not 2i with 2i+1 as
// ONNX MatMulNBits does; Q6_K stores its fp16 scale last, the other
// K-quants first.
//
// # Rows
//
// Dequantize, Quantize and DotRows work on whole rows of bytes for any
// supported Type, including the float types F32, F16 and BF16. DotRows is
// the scalar reference of a quantized matrix-vector product; fused kernels
// (internal/qgemm) replace it on the hot path and are tested against it.
package quant
