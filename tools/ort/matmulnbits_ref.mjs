// matmulnbits_ref.mjs: independent float64 references for MatMulNBits used to
// sanity-check ORT's outputs before they become goldens (see
// shared/specs/matmul-nbits.md §4-§7).

import { roundHalfEven } from './numbers.mjs';

/** code returns the bits-wide code of element j of block b in row n of B. */
function code(c, n, b, j) {
  const { bits, bs } = c.spec;
  const blob = (bs * bits) / 8;
  const bit = j * bits;
  const byte = c.B.bytes[n * c.kBlocks * blob + b * blob + (bit >> 3)];
  return (byte >> (bit & 7)) & ((1 << bits) - 1);
}

/** zeroPoint returns the zero point of (row n, block b). */
function zeroPoint(c, n, b, honorPacked) {
  const { bits } = c.spec;
  if (c.zp.kind === 'float') return c.zp.values[n * c.kBlocks + b];
  if (c.zp.kind === 'packed' && honorPacked) {
    const rowBytes = Math.ceil((c.kBlocks * bits) / 8);
    const bit = b * bits;
    return (c.zp.bytes[n * rowBytes + (bit >> 3)] >> (bit & 7)) & ((1 << bits) - 1);
  }
  return 2 ** (bits - 1);
}

/** weight returns W[n][k] = (q - zp) * scale, with g_idx choosing the scale block. */
function weight(c, n, k, honorPacked) {
  const { bs } = c.spec;
  const g = c.gIdx ? c.gIdx.values[k] : Math.floor(k / bs);
  const q = code(c, n, Math.floor(k / bs), k % bs);
  const honor = honorPacked || !c.gIdx;
  return (q - zeroPoint(c, n, g, honor)) * c.scales.values[n * c.kBlocks + g];
}

function rows(c) {
  const K = c.spec.K;
  const M = c.A.values.length / K;
  return { M, K, N: c.spec.N };
}

/**
 * refFp32 computes Y = A·Wᵀ + bias in float64 from the exact dequantized
 * weights. With honorPackedZpWithGIdx false, packed zero points are replaced by
 * the default when g_idx is present (what ORT 1.30.0 does). Returns y and the
 * per-output magnitude Σ|a·w| + |bias| used to scale tolerances.
 */
export function refFp32(c, { honorPackedZpWithGIdx }) {
  const { M, K, N } = rows(c);
  const W = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) W[n * K + k] = weight(c, n, k, honorPackedZpWithGIdx);
  const y = new Array(M * N);
  const mag = new Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = c.bias ? c.bias.values[n] : 0;
      let a = c.bias ? Math.abs(c.bias.values[n]) : 0;
      for (let k = 0; k < K; k++) {
        const p = c.A.values[m * K + k] * W[n * K + k];
        s += p;
        a += Math.abs(p);
      }
      y[m * N + n] = s;
      mag[m * N + n] = a;
    }
  }
  return { y, mag };
}

/**
 * int8Emulable reports whether the accuracy_level 4 int8 emulation is defined
 * for this case (integer zero points, no g_idx).
 */
export function int8Emulable(c) {
  return (c.spec.level ?? 0) === 4 && c.zp.kind !== 'float' && !c.gIdx;
}

/**
 * predictedPath is the compute path ORT 1.30.0 (x86-64 CPU) was observed to
 * take: int8 for accuracy_level 4 with prepacked (initializer) weights and
 * integer zero points, except bits 2 with block_size 16 or 256; packed zero
 * points ignored when g_idx is present; fp32 otherwise. float16 A follows the
 * float32 rules (it is converted to float32 first).
 */
export function predictedPath(c) {
  const { bits, bs } = c.spec;
  if (c.gIdx && c.zp.kind === 'packed') return 'fp32_zp_ignored';
  if (int8Emulable(c) && !c.spec.weightsAsInputs && !(bits === 2 && (bs === 16 || bs === 256))) return 'int8';
  return 'fp32';
}

/**
 * refInt8 emulates accuracy_level 4: each row of A is cut into blocks of
 * block_size (valid k only), quantized to int8 with scaleA = max|a|/127 and
 * round half to even, and Y = Σ_blocks scaleA·scaleB·Σ qa·(q − zp) + bias.
 */
export function refInt8(c) {
  const { M, K, N } = rows(c);
  const { bs } = c.spec;
  const y = new Array(M * N);
  const mag = refFp32(c, { honorPackedZpWithGIdx: true }).mag;
  const qa = new Int32Array(bs);
  for (let m = 0; m < M; m++) {
    const acc = new Float64Array(N);
    for (let b = 0; b < c.kBlocks; b++) {
      const k0 = b * bs;
      const k1 = Math.min(K, k0 + bs);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(c.A.values[m * K + k]));
      const scaleA = Math.fround(amax / 127);
      const inv = scaleA !== 0 ? Math.fround(1 / scaleA) : 0;
      for (let k = k0; k < k1; k++) {
        const v = roundHalfEven(Math.fround(c.A.values[m * K + k] * inv));
        qa[k - k0] = Math.max(-127, Math.min(127, v));
      }
      for (let n = 0; n < N; n++) {
        const zp = zeroPoint(c, n, b, true);
        let dot = 0;
        for (let k = k0; k < k1; k++) dot += qa[k - k0] * (code(c, n, b, k - k0) - zp);
        acc[n] += dot * scaleA * c.scales.values[n * c.kBlocks + b];
      }
    }
    for (let n = 0; n < N; n++) y[m * N + n] = acc[n] + (c.bias ? c.bias.values[n] : 0);
  }
  return { y, mag };
}
