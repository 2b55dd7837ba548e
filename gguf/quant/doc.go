// Package quant holds the tensor element types of GGUF files (ggml's
// ggml_type): their block geometry and, for the types Zerfoo supports, a
// block struct with a scalar reference decoder and, for most, ggml's
// reference quantizer.
//
// # Types
//
// Decoded and encoded (Type.Supported and Type.CanQuantize):
//
//   - F32, F16, BF16;
//   - 32-element blocks: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL;
//   - 256-element super-blocks: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_XS,
//     TQ1_0, TQ2_0;
//   - llama.cpp's newer types: MXFP4 (32 E2M1 codes, one E8M0 scale), NVFP4
//     (64 codes, a UE4M3 scale per 16), Q1_0 (128 sign bits, one fp16
//     scale) and Q2_0 (64 2-bit codes −1..2, one fp16 scale).
//
// Decoded only (Supported, not CanQuantize): the i-quants IQ1_S, IQ1_M,
// IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S, whose grids of magnitude
// patterns (iquant_tables.go, generated from ggml-common.h by
// tools/ggmlref) are part of the file format. Quantize returns ErrType for
// them. The other types (Q8_1, the integer types, F64) are known by
// geometry only.
//
// For code with fast kernels for some types and none for others: Codes
// gives the blocks of IQ3_S, IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S,
// IQ1_M, TQ1_0 and TQ2_0 as signed codes (at most 16 levels, CodeLevels)
// under int8 sub-block scales and one float16 scale, exactly; Reencode
// rewrites Q1_0, Q2_0 and MXFP4 blocks as Q4_0 or Q8_0 blocks that decode
// to the same floats.
//
// # Blocks
//
// A quantized type stores its elements in fixed-size blocks along a row
// (ne[0] in GGUF terms). Each has a block struct (BlockQ4_0, BlockQ2_K,
// BlockIQ2_XXS, …) whose pointer implements Decoder:
//
//   - Load(p) and Store(p): its little-endian file encoding (Type.BlockBytes
//     bytes, the same layout as ggml's C structs);
//   - Dequantize(y): the scalar reference decoder, the same float32
//     operations in the same order as ggml's dequantize_row_* functions, so
//     the results are bit-identical for any bytes (no byte content panics);
//
// and, for the types that can be encoded, Block, which adds
//
//   - Quantize(x): the algorithm llama-quantize runs without an importance
//     matrix (ggml's quantize_row_*_ref, or for IQ4_NL and IQ4_XS
//     quantize_iq4_nl and quantize_iq4_xs), so the bytes are identical.
//
// Bit-identity with C needs each float32 operation rounded as C rounds it:
// every product that feeds an addition is converted explicitly
// (float32(a*b) + c), which keeps Go from fusing it into an FMA on arm64
// or GOAMD64=v3. The tests compare against golden files written by ggml
// itself (testdata/ggml, tools/ggmlref).
//
// Layout facts worth knowing: the 32-element types pair element j with
// element j+16 in one byte (low nibble, high nibble), not 2i with 2i+1 as
// ONNX MatMulNBits does; Q2_K, Q3_K, Q6_K, TQ1_0 and TQ2_0 store their fp16
// scales last, the other K-quants first; IQ1_M has no scale field (its fp16
// scale is spread over the top nibbles of its sub-block scales).
//
// # Rows
//
// Dequantize, Quantize and DotRows work on whole rows of bytes for any
// supported Type, including the float types F32, F16 and BF16. DotRows is
// the scalar reference of a quantized matrix-vector product; fused kernels
// (internal/qgemm) replace it on the hot path and are tested against it.
package quant
