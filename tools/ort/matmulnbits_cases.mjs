// matmulnbits_cases.mjs: the MatMulNBits golden cases.
//
// Spec fields: name, desc, K, N, bits, bs (block_size), level (accuracy_level,
// default 0), aBatch (leading dims of A; default [1]; null = rank-1 A), zp
// ('none' | 'packed' | 'float'), zp1d / scales1d (flat shapes), gIdx (true =
// length K, 'padded' = length k_blocks*block_size), bias, dtype ('float32' |
// 'float16'), weightsAsInputs (feed B, scales, ... as graph inputs instead of
// initializers), aDynamic (declare A with symbolic dims), expectPath
// (reference ORT must match: 'fp32', 'int8', 'fp32_zp_ignored'; default
// predictedPath in matmulnbits_ref.mjs), assertY ([[value, tol], ...] checked on Y), and
// overrides for hand-written data (aValues, bBytes, scalesValues, zpBytes) or
// deliberately wrong shapes (aK, bShape, scalesShape, zpShape).
//
// B, packed zero points and every padding bit/nibble/byte are random unless
// overridden, so goldens prove that padding beyond K and unused zero-point
// bits are ignored.

// shared/specs/matmul-nbits.md §9: K=18, N=1, bits 4, block 16.
const handB = [0x98, 0x7f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x3c, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88];
const handA = [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4];
const hand = { K: 18, N: 1, bits: 4, bs: 16, aValues: handA, bBytes: handB, scalesValues: [0.5, 0.25], zp: 'none' };

/** Cases ORT must accept. */
export const CASES = [
  { ...hand, name: 'hand_example_level0', desc: 'matmul-nbits.md §9 worked example, exact value 6.5', assertY: [[6.5, 1e-6]], expectPath: 'fp32' },
  { ...hand, name: 'hand_example_level4', level: 4, desc: 'matmul-nbits.md §9 at accuracy_level 4, ≈6.49606', assertY: [[6.49606, 1e-4]], expectPath: 'int8' },
  { ...hand, name: 'hand_example_packed_zp', zp: 'packed', zpBytes: [0x79], desc: 'matmul-nbits.md §9 with zero_points [[0x79]]: block 0 zp 9, block 1 zp 7 → 4.5 − 1.5 = 3', assertY: [[3, 1e-6]], expectPath: 'fp32' },

  // 4-bit over every block size, ragged and whole K, all zero-point forms.
  { name: 'b4_bs16_k32_n4_m2', K: 32, N: 4, bits: 4, bs: 16, aBatch: [2] },
  { name: 'b4_bs16_k40_n5_m3_l4_packed_odd', K: 40, N: 5, bits: 4, bs: 16, level: 4, aBatch: [3], zp: 'packed', desc: 'k_blocks 3: random high nibble in the last zero-point byte of each row' },
  { name: 'b4_bs16_k16_n1_rank1_l4', K: 16, N: 1, bits: 4, bs: 16, level: 4, aBatch: null },
  { name: 'b4_bs32_k64_n8_m1_packed', K: 64, N: 8, bits: 4, bs: 32, zp: 'packed' },
  { name: 'b4_bs32_k100_n7_m4_l4_bias', K: 100, N: 7, bits: 4, bs: 32, level: 4, aBatch: [4], bias: true },
  { name: 'b4_bs32_k96_n6_m2_packed_odd_flat', K: 96, N: 6, bits: 4, bs: 32, aBatch: [2], zp: 'packed', scales1d: true, zp1d: true, desc: '1-D scales and 1-D packed zero points, k_blocks 3' },
  { name: 'b4_bs32_k18_n11_m2_l4_packed', K: 18, N: 11, bits: 4, bs: 32, level: 4, aBatch: [2], zp: 'packed', desc: 'one partial block (K < block_size)' },
  { name: 'b4_bs64_k128_n9_rank3_l4_packed', K: 128, N: 9, bits: 4, bs: 64, level: 4, aBatch: [2, 3], zp: 'packed' },
  { name: 'b4_bs64_k100_n3_rank1_float_zp', K: 100, N: 3, bits: 4, bs: 64, aBatch: null, zp: 'float' },
  { name: 'b4_bs64_k100_n3_m2_l4_float_zp', K: 100, N: 3, bits: 4, bs: 64, level: 4, aBatch: [2], zp: 'float', expectPath: 'fp32', desc: 'float zero points bypass the int8 path' },
  { name: 'b4_bs128_k300_n5_rank4', K: 300, N: 5, bits: 4, bs: 128, aBatch: [2, 1, 2] },
  { name: 'b4_bs128_k256_n33_m1_l4', K: 256, N: 33, bits: 4, bs: 128, level: 4 },
  { name: 'b4_bs128_k384_n4_m2_l4_packed_odd', K: 384, N: 4, bits: 4, bs: 128, level: 4, aBatch: [2], zp: 'packed' },
  { name: 'b4_bs256_k300_n4_m2_packed', K: 300, N: 4, bits: 4, bs: 256, aBatch: [2], zp: 'packed' },
  { name: 'b4_bs256_k512_n2_rank3_l4_bias', K: 512, N: 2, bits: 4, bs: 256, level: 4, aBatch: [1, 2], bias: true },
  { name: 'b4_bs32_k64_n8_m16_l4_bias', K: 64, N: 8, bits: 4, bs: 32, level: 4, aBatch: [16], bias: true, desc: 'M > 1 tile sizes in ORT' },
  { name: 'b4_bs32_k64_n4_m2_level1', K: 64, N: 4, bits: 4, bs: 32, level: 1, aBatch: [2], zp: 'packed' },
  { name: 'b4_bs32_k64_n4_m2_level2', K: 64, N: 4, bits: 4, bs: 32, level: 2, aBatch: [2], zp: 'packed' },
  { name: 'b4_bs32_k64_n4_m2_level3', K: 64, N: 4, bits: 4, bs: 32, level: 3, aBatch: [2], zp: 'packed' },
  { name: 'b4_bs32_k72_n5_m3_l4_weights_as_inputs', K: 72, N: 5, bits: 4, bs: 32, level: 4, aBatch: [3], zp: 'packed', bias: true, weightsAsInputs: true, desc: 'B, scales, zero points and bias fed as graph inputs: no prepacking, so level 4 computes in fp32' },
  { name: 'b4_bs16_k48_n3_m2_weights_as_inputs', K: 48, N: 3, bits: 4, bs: 16, aBatch: [2], weightsAsInputs: true },

  // g_idx (4-bit only).
  { name: 'b4_gidx_bs16_k48_n4_m2', K: 48, N: 4, bits: 4, bs: 16, aBatch: [2], gIdx: true },
  { name: 'b4_gidx_bs32_k64_n5_m2_float_zp_bias', K: 64, N: 5, bits: 4, bs: 32, aBatch: [2], gIdx: true, zp: 'float', bias: true },
  { name: 'b4_gidx_bs16_k48_n4_m2_packed_zp', K: 48, N: 4, bits: 4, bs: 16, aBatch: [2], gIdx: true, zp: 'packed', expectPath: 'fp32_zp_ignored', desc: 'ORT 1.30.0 ignores packed uint8 zero points when g_idx is present (uses 8)' },
  { name: 'b4_gidx_bs32_k40_n3_m2_padded_len', K: 40, N: 3, bits: 4, bs: 32, aBatch: [2], gIdx: 'padded', desc: 'g_idx of length k_blocks*block_size (64) for K=40' },
  { name: 'b4_gidx_bs32_k64_n4_m2_l4', K: 64, N: 4, bits: 4, bs: 32, level: 4, aBatch: [2], gIdx: true, expectPath: 'fp32', desc: 'g_idx at level 4' },

  // float16 A (scales, float zero points, bias and Y float16 too).
  { name: 'f16_b4_bs32_k64_n4_m2_bias', K: 64, N: 4, bits: 4, bs: 32, aBatch: [2], bias: true, dtype: 'float16' },
  { name: 'f16_b4_bs32_k100_n5_m2_l4_packed', K: 100, N: 5, bits: 4, bs: 32, level: 4, aBatch: [2], zp: 'packed', dtype: 'float16' },
  { name: 'f16_b4_bs16_k40_n3_m2_float_zp_bias', K: 40, N: 3, bits: 4, bs: 16, aBatch: [2], zp: 'float', bias: true, dtype: 'float16' },
  { name: 'f16_b8_bs32_k64_n3_m1_l4', K: 64, N: 3, bits: 8, bs: 32, level: 4, dtype: 'float16' },

  // 2-bit.
  { name: 'b2_bs16_k32_n4_m2', K: 32, N: 4, bits: 2, bs: 16, aBatch: [2] },
  { name: 'b2_bs16_k40_n3_m2_l4', K: 40, N: 3, bits: 2, bs: 16, level: 4, aBatch: [2], expectPath: 'fp32', desc: 'bits 2, block 16 at level 4: no int8 kernel, falls back to fp32' },
  { name: 'b2_bs32_k64_n5_m2_l4_packed', K: 64, N: 5, bits: 2, bs: 32, level: 4, aBatch: [2], zp: 'packed', desc: 'k_blocks 2 → 4 of 8 zero-point bits are padding' },
  { name: 'b2_bs32_k100_n6_m2_float_zp', K: 100, N: 6, bits: 2, bs: 32, aBatch: [2], zp: 'float' },
  { name: 'b2_bs32_k100_n6_m2_l4_float_zp', K: 100, N: 6, bits: 2, bs: 32, level: 4, aBatch: [2], zp: 'float', expectPath: 'fp32' },
  { name: 'b2_bs64_k300_n4_m3_l4_packed', K: 300, N: 4, bits: 2, bs: 64, level: 4, aBatch: [3], zp: 'packed', desc: 'k_blocks 5 → 2 zero-point bytes per row, 6 padding bits' },
  { name: 'b2_bs128_k256_n7_rank3_packed_bias', K: 256, N: 7, bits: 2, bs: 128, aBatch: [2, 2], zp: 'packed', bias: true },
  { name: 'b2_bs256_k300_n3_rank4_l4', K: 300, N: 3, bits: 2, bs: 256, level: 4, aBatch: [1, 2, 2], desc: 'bits 2, block 256 at level 4: no int8 kernel, falls back to fp32' },
  { name: 'b2_bs128_k135_n4_m2_l4', K: 135, N: 4, bits: 2, bs: 128, level: 4, aBatch: [2] },
  { name: 'b2_bs64_k18_n9_m1_packed_flat', K: 18, N: 9, bits: 2, bs: 64, zp: 'packed', zp1d: true, scales1d: true },

  // 8-bit.
  { name: 'b8_bs16_k32_n4_m2', K: 32, N: 4, bits: 8, bs: 16, aBatch: [2] },
  { name: 'b8_bs16_k18_n5_m2_l4_packed', K: 18, N: 5, bits: 8, bs: 16, level: 4, aBatch: [2], zp: 'packed' },
  { name: 'b8_bs32_k40_n6_rank3_l4', K: 40, N: 6, bits: 8, bs: 32, level: 4, aBatch: [2, 2] },
  { name: 'b8_bs64_k128_n3_m2_packed_bias_flat', K: 128, N: 3, bits: 8, bs: 64, aBatch: [2], zp: 'packed', bias: true, scales1d: true },
  { name: 'b8_bs128_k300_n33_m1_l4_packed', K: 300, N: 33, bits: 8, bs: 128, level: 4, zp: 'packed' },
  { name: 'b8_bs256_k256_n4_rank4', K: 256, N: 4, bits: 8, bs: 256, aBatch: [1, 2, 1] },
  { name: 'b8_bs256_k300_n2_rank1_l4_bias', K: 300, N: 2, bits: 8, bs: 256, level: 4, aBatch: null, bias: true },
  { name: 'b8_bs16_k100_n8_m5', K: 100, N: 8, bits: 8, bs: 16, aBatch: [5], scales1d: true },
];

/** Cases ORT must reject; inputs are recorded with ORT's error message. */
export const ERROR_CASES = [
  { name: 'err_bits3', K: 32, N: 2, bits: 3, bs: 16, bShape: [2, 2, 6], aBatch: [2], desc: 'bits must be 2, 4 or 8' },
  { name: 'err_bits5', K: 32, N: 2, bits: 5, bs: 16, bShape: [2, 2, 10], aBatch: [2], desc: 'bits must be 2, 4 or 8' },
  { name: 'err_block_size8', K: 16, N: 2, bits: 4, bs: 8, aBatch: [2], desc: 'block_size must be ≥ 16' },
  { name: 'err_block_size48', K: 48, N: 2, bits: 4, bs: 48, aBatch: [2], desc: 'block_size must be a power of two' },
  { name: 'err_block_size512', K: 512, N: 1, bits: 4, bs: 512, aBatch: [1], desc: 'block_size above 256' },
  { name: 'err_B_too_few_blocks', K: 40, N: 2, bits: 4, bs: 16, bShape: [2, 2, 8], aBatch: [2], desc: 'B has 2 blocks per row, K=40 needs 3' },
  { name: 'err_B_wrong_blob', K: 32, N: 2, bits: 4, bs: 16, bShape: [2, 2, 16], aBatch: [2], desc: 'blob_size 16, want 8' },
  { name: 'err_A_last_dim', K: 32, N: 2, bits: 4, bs: 16, aK: 31, aBatch: [2], desc: 'A last dim 31 ≠ K 32' },
  { name: 'err_A_last_dim_dynamic', K: 32, N: 2, bits: 4, bs: 16, aK: 31, aBatch: [2], aDynamic: true, desc: 'A last dim 31 ≠ K 32, A declared with symbolic dims so ORT fails at run time' },
  { name: 'err_float_zp_bits8', K: 32, N: 2, bits: 8, bs: 16, zp: 'float', aBatch: [2], desc: 'float zero points with bits 8' },
  { name: 'err_scales_wrong_count', K: 32, N: 2, bits: 4, bs: 16, scalesShape: [2, 3], aBatch: [2], desc: 'scales [2,3], want [2,2]' },
  { name: 'err_packed_zp_wrong_shape', K: 40, N: 2, bits: 4, bs: 16, zp: 'packed', zpShape: [2, 1], aBatch: [2], desc: 'packed zero points [2,1], want [2,2] (k_blocks 3)' },
];
