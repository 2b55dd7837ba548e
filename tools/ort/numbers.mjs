// numbers.mjs: seeded PRNG, float16 conversion and exact float32 formatting
// for the golden generator.

/** mulberry32 returns a deterministic PRNG yielding floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** f32ToF16Bits converts a number to IEEE half bits, rounding to nearest even. */
export function f32ToF16Bits(v) {
  f32buf[0] = v;
  const x = u32buf[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

/** f16BitsToNumber decodes IEEE half bits. */
export function f16BitsToNumber(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f16round rounds a number to the nearest float16 value. */
export function f16round(v) {
  return f16BitsToNumber(f32ToF16Bits(Math.fround(v)));
}

/**
 * f32String returns the shortest decimal that reads back (as float32) to the
 * float32 value v. v must already be a float32 value.
 */
export function f32String(v) {
  if (!Number.isFinite(v)) throw new Error(`non-finite value ${v}`);
  if (v === 0) return '0';
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(parseFloat(s)) === v) return String(parseFloat(s));
  }
  throw new Error(`no 9-digit representation for ${v}`);
}

/** roundHalfEven rounds to the nearest integer, ties to even. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}
