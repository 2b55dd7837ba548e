// ort_suite.mjs: runs the ONNX backend node tests with ONNX Runtime (npm
// onnxruntime-node, CPU, one thread, graph optimizations disabled) using the
// tolerances of Zerfoo's TestNodeSuite (onnx/exec/nodesuite_test.go):
// |got − want| ≤ 1e-5 + 1e-3·|want| for floats (NaN equals NaN, infinities
// must be equal), exact integers and bools, exact shapes and element types.
// It is the peer baseline for Zerfoo's pass count.
//
//   cd tools/ort && npm ci && cd ../onnx_node
//   NODE_PATH=../ort/node_modules node ort_suite.mjs DIR [--report FILE] [--filter SUBSTR]
//
// DIR holds one directory per test (model.onnx, test_data_set_*/input_N.pb,
// output_N.pb), as tools/onnx_node/generate.sh writes them. A test whose
// graph inputs or outputs are not all tensors (sequences, optionals, maps)
// is counted as skipped: the summary's "tensor-only" total leaves them out.
// The last line reads "ort suite: P passed, F failed, W wrong, S skipped of T
// (P of T−S tensor-only)".
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let ort;
try {
  ort = require('onnxruntime-node');
} catch {
  ort = require(new URL('../ort/node_modules/onnxruntime-node', import.meta.url).pathname);
}

const rtol = 1e-3;
const atol = 1e-5;

const args = process.argv.slice(2);
let dir = '';
let reportPath = '';
let filter = '';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--report') reportPath = args[++i];
  else if (args[i] === '--filter') filter = args[++i];
  else if (!dir) dir = args[i];
  else { console.error(`ort_suite: unexpected argument ${args[i]}`); process.exit(2); }
}
if (!dir) { console.error('usage: node ort_suite.mjs DIR [--report FILE] [--filter SUBSTR]'); process.exit(2); }

// --- minimal protobuf reader -------------------------------------------

// fields decodes one protobuf message into [{num, wire, v}], v being a
// BigInt (varint), a Uint8Array (length-delimited, fixed32, fixed64).
function fields(buf) {
  const out = [];
  let p = 0;
  const varint = () => {
    let x = 0n, shift = 0n;
    for (;;) {
      if (p >= buf.length) throw new Error('truncated varint');
      const b = buf[p++];
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const num = Number(key >> 3n), wire = Number(key & 7n);
    let v;
    switch (wire) {
      case 0: v = varint(); break;
      case 1: v = buf.subarray(p, p + 8); p += 8; break;
      case 2: { const n = Number(varint()); v = buf.subarray(p, p + n); p += n; break; }
      case 5: v = buf.subarray(p, p + 4); p += 4; break;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
    if (p > buf.length) throw new Error('truncated field');
    out.push({ num, wire, v });
  }
  return out;
}

const get = (fs, num) => fs.filter((f) => f.num === num);
const str = (b) => new TextDecoder().decode(b);

// varints decodes a repeated varint field, packed or not.
function varints(fs, num) {
  const res = [];
  for (const f of get(fs, num)) {
    if (f.wire === 0) { res.push(f.v); continue; }
    let p = 0;
    const b = f.v;
    while (p < b.length) {
      let x = 0n, shift = 0n;
      for (;;) { const c = b[p++]; x |= BigInt(c & 0x7f) << shift; if (!(c & 0x80)) break; shift += 7n; }
      res.push(x);
    }
  }
  return res;
}

// fixed decodes a repeated fixed-size field (float, double), packed or not.
function fixed(fs, num, size, read) {
  const res = [];
  for (const f of get(fs, num)) {
    const dv = new DataView(f.v.buffer, f.v.byteOffset, f.v.byteLength);
    for (let o = 0; o + size <= f.v.length; o += size) res.push(read(dv, o));
  }
  return res;
}

// ONNX TensorProto.DataType → ORT tensor type.
const ortTypes = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};
const arrayOf = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array, float64: Float64Array,
  uint32: Uint32Array, uint64: BigUint64Array,
};

// tensorProto decodes a TensorProto into {type, dims, data}.
function tensorProto(buf) {
  const fs = fields(buf);
  const dims = varints(fs, 1).map((d) => Number(BigInt.asIntN(64, d)));
  const dt = Number(varints(fs, 2)[0] ?? 0n);
  const type = ortTypes[dt];
  if (!type) throw new Error(`unsupported element type ${dt}`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === 'string') return { type, dims, data: get(fs, 6).map((f) => str(f.v)) };
  const A = arrayOf[type];
  const raw = get(fs, 9)[0];
  let data;
  if (raw) {
    const copy = new Uint8Array(raw.v); // aligned copy
    data = new A(copy.buffer, 0, copy.length / A.BYTES_PER_ELEMENT);
  } else if (type === 'float32') data = A.from(fixed(fs, 4, 4, (dv, o) => dv.getFloat32(o, true)));
  else if (type === 'float64') data = A.from(fixed(fs, 10, 8, (dv, o) => dv.getFloat64(o, true)));
  else if (type === 'int64') data = A.from(varints(fs, 7).map((x) => BigInt.asIntN(64, x)));
  else if (type === 'uint64') data = A.from(varints(fs, 11).map((x) => BigInt.asUintN(64, x)));
  else if (type === 'uint32') data = A.from(varints(fs, 11).map((x) => Number(x)));
  else data = A.from(varints(fs, 5).map((x) => Number(BigInt.asIntN(32, x))));
  if (data.length !== n) throw new Error(`${data.length} elements for dims [${dims}]`);
  return { type, dims, data };
}

// graphValues lists the model's graph inputs (initializers left out) and
// outputs as {name, tensor}.
function graphValues(buf) {
  const graph = fields(get(fields(buf), 7)[0].v);
  const inits = new Set(get(graph, 5).map((f) => str(get(fields(f.v), 8)[0]?.v ?? new Uint8Array())));
  const info = (f) => {
    const vi = fields(f.v);
    const name = str(get(vi, 1)[0]?.v ?? new Uint8Array());
    const tp = get(vi, 2)[0];
    const tensor = tp ? get(fields(tp.v), 1).length > 0 : false;
    return { name, tensor };
  };
  return {
    inputs: get(graph, 11).map(info).filter((v) => !inits.has(v.name)),
    outputs: get(graph, 12).map(info),
  };
}

// --- comparison ----------------------------------------------------------

function f16(bits) {
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function compare(got, want) {
  if (!got) return 'not produced';
  if (got.type !== want.type) return `element type ${got.type}, want ${want.type}`;
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) {
    return `shape [${got.dims}], want [${want.dims}]`;
  }
  const g = got.data, w = want.data;
  if (g.length !== w.length) return `${g.length} elements, want ${w.length}`;
  const bad = [];
  let nbad = 0;
  for (let i = 0; i < w.length; i++) {
    let ok;
    if (want.type === 'float32' || want.type === 'float64' || want.type === 'float16') {
      const x = want.type === 'float16' ? f16(g[i]) : g[i];
      const y = want.type === 'float16' ? f16(w[i]) : w[i];
      if (Number.isNaN(x) || Number.isNaN(y)) ok = Number.isNaN(x) && Number.isNaN(y);
      else if (!Number.isFinite(x) || !Number.isFinite(y)) ok = x === y;
      else ok = Math.abs(x - y) <= atol + rtol * Math.abs(y);
    } else if (want.type === 'bool') ok = Boolean(g[i]) === Boolean(w[i]);
    else ok = g[i] === w[i];
    if (!ok) {
      if (nbad < 3) bad.push(`[${i}] got ${g[i]}, want ${w[i]}`);
      nbad++;
    }
  }
  return nbad ? `${nbad} of ${w.length} elements differ: ${bad.join(', ')}` : '';
}

// --- the suite -----------------------------------------------------------

async function runTest(tdir) {
  const modelBuf = fs.readFileSync(path.join(tdir, 'model.onnx'));
  const { inputs, outputs } = graphValues(modelBuf);
  if (![...inputs, ...outputs].every((v) => v.tensor)) return { status: 'skipped', detail: 'non-tensor input or output' };
  let session;
  try {
    session = await ort.InferenceSession.create(modelBuf, {
      graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
    });
  } catch (e) {
    return { status: 'failed', detail: `session: ${String(e.message).split('\n')[0]}` };
  }
  try {
    const sets = fs.readdirSync(tdir).filter((d) => d.startsWith('test_data_set_')).sort();
    for (const set of sets) {
      const feeds = {};
      for (let i = 0; ; i++) {
        const p = path.join(tdir, set, `input_${i}.pb`);
        if (!fs.existsSync(p)) break;
        const t = tensorProto(fs.readFileSync(p));
        feeds[inputs[i].name] = new ort.Tensor(t.type, t.data, t.dims);
      }
      let res;
      try {
        res = await session.run(feeds);
      } catch (e) {
        return { status: 'failed', detail: `run: ${String(e.message).split('\n')[0]}` };
      }
      for (let i = 0; i < outputs.length; i++) {
        const want = tensorProto(fs.readFileSync(path.join(tdir, set, `output_${i}.pb`)));
        const o = res[outputs[i].name];
        const msg = compare(o && { type: o.type, dims: Array.from(o.dims, Number), data: o.data }, want);
        if (msg) return { status: 'wrong', detail: `${set}: output ${outputs[i].name}: ${msg}` };
      }
    }
  } finally {
    await session.release?.();
  }
  return { status: 'passed', detail: '' };
}

const counts = { passed: 0, failed: 0, wrong: 0, skipped: 0 };
const lines = [];
const tests = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx')) && d.includes(filter)).sort();
for (const t of tests) {
  let r;
  try {
    r = await runTest(path.join(dir, t));
  } catch (e) {
    r = { status: 'failed', detail: `harness: ${e.message}` };
  }
  counts[r.status]++;
  lines.push(`${t}\t${r.status}\t${r.detail}`);
}
const total = tests.length;
const summary = `ort suite: ${counts.passed} passed, ${counts.failed} failed, ${counts.wrong} wrong, ${counts.skipped} skipped of ${total} ` +
  `(${counts.passed} of ${total - counts.skipped} tensor-only)`;
if (reportPath) fs.writeFileSync(reportPath, `${summary}\n\n${lines.join('\n')}\n`);
console.log(summary);
