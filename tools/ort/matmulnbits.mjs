// matmulnbits.mjs builds small com.microsoft MatMulNBits models, runs them with
// ONNX Runtime (npm onnxruntime-node, pinned 1.30.0, CPU) and writes the inputs
// and ORT's outputs to ../../testdata/ort/matmulnbits.json for the Go tests.
//
//   cd tools/ort && npm ci && node matmulnbits.mjs [--out path] [--models dir]
//
// Every case is also checked here against an independent float64 reference
// (and, for accuracy_level 4, an emulation of ORT's int8 activation path), so
// a surprising ORT result stops the script instead of landing in the goldens.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

import { DataType, graph, intAttr, model, node, tensor, valueInfo } from './onnx_encode.mjs';
import { f16BitsToNumber, f16round, f32String, f32ToF16Bits, mulberry32 } from './numbers.mjs';
import { CASES, ERROR_CASES } from './matmulnbits_cases.mjs';
import { int8Emulable, predictedPath, refFp32, refInt8 } from './matmulnbits_ref.mjs';

const ORT_VERSION = '1.30.0';
const SEED = 20260401;
const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const args = { out: path.join(here, '..', '..', 'testdata', 'ort', 'matmulnbits.json'), models: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = argv[++i];
    else if (argv[i] === '--models') args.models = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

const prod = (dims) => dims.reduce((a, b) => a * b, 1);

/** F32 marks a float array to be written as exact shortest float32 decimals. */
class F32 {
  constructor(values) {
    this.values = values;
  }
}

/** Materializes a case spec into concrete tensors using the shared PRNG. */
function buildCase(spec, rnd) {
  const { K, N, bits, bs } = spec;
  const kBlocks = Math.ceil(K / bs);
  const blob = (bs * bits) / 8;
  const dtype = spec.dtype ?? 'float32';
  const round = dtype === 'float16' ? f16round : Math.fround;
  const uniform = (lo, hi) => round(lo + (hi - lo) * rnd());

  const aK = spec.aK ?? K;
  const aShape = spec.aBatch === null ? [aK] : [...(spec.aBatch ?? [1]), aK];
  const A = spec.aValues ? spec.aValues.map(round) : Array.from({ length: prod(aShape) }, () => uniform(-2, 2));

  const bShape = spec.bShape ?? [N, kBlocks, Number.isInteger(blob) ? blob : Math.ceil(blob)];
  const B = spec.bBytes ? Uint8Array.from(spec.bBytes) : Uint8Array.from({ length: prod(bShape) }, () => Math.floor(rnd() * 256));

  const scalesShape = spec.scalesShape ?? (spec.scales1d ? [N * kBlocks] : [N, kBlocks]);
  const scales = spec.scalesValues
    ? spec.scalesValues.map(round)
    : Array.from({ length: prod(scalesShape) }, () => {
        const mag = uniform(0.01, 0.25);
        return rnd() < 0.4 ? -mag : mag;
      });

  let zp = { kind: 'none' };
  if (spec.zp === 'packed') {
    const rowBytes = Math.ceil((kBlocks * bits) / 8);
    const shape = spec.zpShape ?? (spec.zp1d ? [N * rowBytes] : [N, rowBytes]);
    const bytes = spec.zpBytes ? Uint8Array.from(spec.zpBytes) : Uint8Array.from({ length: prod(shape) }, () => Math.floor(rnd() * 256));
    zp = { kind: 'packed', shape, bytes };
  } else if (spec.zp === 'float') {
    const shape = spec.zpShape ?? (spec.zp1d ? [N * kBlocks] : [N, kBlocks]);
    const max = 2 ** bits - 1;
    // Mix integers and non-integers: float zero points need not be whole codes.
    const values = Array.from({ length: prod(shape) }, () => (rnd() < 0.5 ? Math.floor(rnd() * (max + 1)) : uniform(0, max)));
    zp = { kind: 'float', shape, values };
  }

  let gIdx = null;
  if (spec.gIdx) {
    const len = spec.gIdx === 'padded' ? kBlocks * bs : K;
    gIdx = { shape: [len], values: Array.from({ length: len }, () => Math.floor(rnd() * kBlocks)) };
  }

  let bias = null;
  if (spec.bias) bias = { shape: [N], values: Array.from({ length: N }, () => uniform(-1, 1)) };

  return { spec, kBlocks, dtype, A: { shape: aShape, values: A }, B: { shape: bShape, bytes: B }, scales: { shape: scalesShape, values: scales }, zp, gIdx, bias };
}

/** Encodes one case as an ONNX model. Weights are initializers unless spec.weightsAsInputs. */
function encodeModel(c) {
  const { spec } = c;
  const T = c.dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
  const floatRaw = (values) => {
    if (T === DataType.FLOAT16) {
      const u16 = Uint16Array.from(values, f32ToF16Bits);
      return new Uint8Array(u16.buffer);
    }
    return new Uint8Array(Float32Array.from(values).buffer);
  };

  const weights = [{ name: 'B', type: DataType.UINT8, shape: c.B.shape, raw: c.B.bytes }, { name: 'scales', type: T, shape: c.scales.shape, raw: floatRaw(c.scales.values) }];
  const inputs = ['A', 'B', 'scales'];
  if (c.zp.kind === 'packed') weights.push({ name: 'zero_points', type: DataType.UINT8, shape: c.zp.shape, raw: c.zp.bytes });
  if (c.zp.kind === 'float') weights.push({ name: 'zero_points', type: T, shape: c.zp.shape, raw: floatRaw(c.zp.values) });
  inputs.push(c.zp.kind === 'none' ? '' : 'zero_points');
  if (c.gIdx) weights.push({ name: 'g_idx', type: DataType.INT32, shape: c.gIdx.shape, raw: new Uint8Array(Int32Array.from(c.gIdx.values).buffer) });
  inputs.push(c.gIdx ? 'g_idx' : '');
  if (c.bias) weights.push({ name: 'bias', type: T, shape: c.bias.shape, raw: floatRaw(c.bias.values) });
  inputs.push(c.bias ? 'bias' : '');
  while (inputs[inputs.length - 1] === '') inputs.pop();

  const attrs = [intAttr('K', spec.K), intAttr('N', spec.N), intAttr('bits', spec.bits), intAttr('block_size', spec.bs), intAttr('accuracy_level', spec.level ?? 0)];
  const yShape = [...c.A.shape.slice(0, -1), spec.N];
  const aDims = spec.aDynamic ? c.A.shape.map((_d, i) => `a${i}`) : c.A.shape;
  const graphInputs = [valueInfo('A', T, aDims)];
  const initializers = [];
  for (const w of weights) {
    if (spec.weightsAsInputs) graphInputs.push(valueInfo(w.name, w.type, w.shape));
    else initializers.push(tensor(w.name, w.type, w.shape, w.raw));
  }
  const g = graph({
    name: spec.name,
    nodes: [node({ name: 'mm', opType: 'MatMulNBits', domain: 'com.microsoft', inputs, outputs: ['Y'], attrs })],
    initializers,
    inputs: graphInputs,
    outputs: [valueInfo('Y', T, spec.aDynamic ? null : yShape)],
  });
  return { bytes: model(g, [['', 21], ['com.microsoft', 1]]), weights };
}

function ortTensor(type, dtype, values, shape) {
  if (type === DataType.UINT8) return new ort.Tensor('uint8', values, shape);
  if (type === DataType.INT32) return new ort.Tensor('int32', Int32Array.from(values), shape);
  if (dtype === 'float16') return new ort.Tensor('float16', Uint16Array.from(values, f32ToF16Bits), shape);
  return new ort.Tensor('float32', Float32Array.from(values), shape);
}

/** Runs a case through ORT; returns {Y} or {error, stage}. */
async function runOrt(c, modelsDir) {
  const { bytes, weights } = encodeModel(c);
  if (modelsDir) fs.writeFileSync(path.join(modelsDir, `${c.spec.name}.onnx`), bytes);
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 });
  } catch (e) {
    return { error: String(e.message ?? e), stage: 'session' };
  }
  try {
    const T = c.dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
    const feeds = { A: ortTensor(T, c.dtype, c.A.values, c.A.shape) };
    if (c.spec.weightsAsInputs) {
      for (const w of weights) {
        let vals;
        if (w.name === 'B') vals = c.B.bytes;
        else if (w.name === 'scales') vals = c.scales.values;
        else if (w.name === 'zero_points') vals = c.zp.kind === 'packed' ? c.zp.bytes : c.zp.values;
        else if (w.name === 'g_idx') vals = c.gIdx.values;
        else vals = c.bias.values;
        feeds[w.name] = ortTensor(w.type, c.dtype, vals, w.shape);
      }
    }
    const out = await session.run(feeds);
    const y = out.Y;
    const values = c.dtype === 'float16' ? Array.from(y.data, f16BitsToNumber) : Array.from(y.data);
    return { Y: { shape: Array.from(y.dims), values } };
  } catch (e) {
    return { error: String(e.message ?? e), stage: 'run' };
  } finally {
    await session.release();
  }
}

/** Largest |ort - ref| relative to the per-output magnitude bound. */
function compare(y, ref) {
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < y.length; i++) {
    const d = Math.abs(y[i] - ref.y[i]);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(ref.mag[i], 1e-30));
  }
  return { maxAbs, maxRel };
}

/** Decides which ORT compute path the output matches and checks it is close. */
function check(c, y) {
  const fp32 = refFp32(c, { honorPackedZpWithGIdx: true });
  const res = { fp32: compare(y, fp32) };
  const tol = c.dtype === 'float16' ? 2e-3 : 1e-5;
  if (c.gIdx && c.zp.kind === 'packed') {
    const ignored = refFp32(c, { honorPackedZpWithGIdx: false });
    res.fp32_zp_ignored = compare(y, ignored);
  }
  if (int8Emulable(c)) res.int8 = compare(y, refInt8(c));
  let best = 'fp32';
  for (const k of Object.keys(res)) if (res[k].maxRel < res[best].maxRel) best = k;
  return { path: best, ok: res[best].maxRel <= tol, diffs: res };
}

function encodeFloats(v) {
  return new F32(v);
}

function caseRecord(c, result, verdict) {
  const { spec } = c;
  const rec = {
    name: spec.name,
    description: spec.desc,
    attrs: { K: spec.K, N: spec.N, bits: spec.bits, block_size: spec.bs, accuracy_level: spec.level ?? 0 },
    dtype: c.dtype,
    weights_as_inputs: Boolean(spec.weightsAsInputs),
    A: { shape: c.A.shape, values: encodeFloats(c.A.values) },
    B: { shape: c.B.shape, bytes: Buffer.from(c.B.bytes).toString('base64') },
    scales: { shape: c.scales.shape, values: encodeFloats(c.scales.values) },
    zero_points: { kind: c.zp.kind },
    g_idx: c.gIdx ? { shape: c.gIdx.shape, values: c.gIdx.values } : null,
    bias: c.bias ? { shape: c.bias.shape, values: encodeFloats(c.bias.values) } : null,
  };
  if (c.zp.kind === 'packed') Object.assign(rec.zero_points, { shape: c.zp.shape, bytes: Buffer.from(c.zp.bytes).toString('base64') });
  if (c.zp.kind === 'float') Object.assign(rec.zero_points, { shape: c.zp.shape, values: encodeFloats(c.zp.values) });
  if (result.error !== undefined) {
    Object.assign(rec, { expect_error: true, error: result.error, error_stage: result.stage, Y: null });
  } else {
    const fmt = (d) => ({ max_abs: Number(d.maxAbs.toPrecision(3)), max_rel: Number(d.maxRel.toPrecision(3)) });
    const diffs = Object.fromEntries(Object.entries(verdict.diffs).map(([k, d]) => [k, fmt(d)]));
    Object.assign(rec, { expect_error: false, Y: { shape: result.Y.shape, values: encodeFloats(result.Y.values) }, ort_path: verdict.path, ref_diffs: diffs });
  }
  rec.ort_version = ORT_VERSION;
  return rec;
}

/** Serializes with F32 arrays written as shortest exact float32 decimals, one case per line. */
function toJSON(header, records) {
  const lists = [];
  const replacer = (_k, v) => {
    if (v instanceof F32) {
      lists.push(v.values);
      return `@@F32:${lists.length - 1}@@`;
    }
    return v;
  };
  const line = (obj) => JSON.stringify(obj, replacer).replace(/"@@F32:(\d+)@@"/g, (_m, i) => `[${lists[Number(i)].map(f32String).join(',')}]`);
  const head = JSON.stringify(header, null, 2).replace(/\n}$/, '');
  return `${head},\n  "cases": [\n${records.map((r) => `    ${line(r)}`).join(',\n')}\n  ]\n}\n`;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (ort.env.versions.node !== ORT_VERSION) throw new Error(`onnxruntime-node ${ort.env.versions.node}, want ${ORT_VERSION}`);
  if (args.models) fs.mkdirSync(args.models, { recursive: true });
  const rnd = mulberry32(SEED);
  const records = [];
  let failures = 0;

  for (const spec of CASES) {
    const c = buildCase(spec, rnd);
    const result = await runOrt(c, args.models);
    if (result.error !== undefined) {
      console.error(`FAIL ${spec.name}: ORT rejected a valid case (${result.stage}): ${result.error}`);
      failures++;
      continue;
    }
    const verdict = check(c, result.Y.values);
    const want = spec.expectPath ?? predictedPath(c);
    if (verdict.path !== want) {
      console.error(`FAIL ${spec.name}: ORT output matches the ${verdict.path} reference, want ${want}`);
      failures++;
    }
    if (!verdict.ok) {
      console.error(`FAIL ${spec.name}: no reference matches: ${JSON.stringify(verdict.diffs)}`);
      failures++;
    }
    if (spec.assertY) {
      for (let i = 0; i < spec.assertY.length; i++) {
        const [want, tol] = spec.assertY[i];
        if (Math.abs(result.Y.values[i] - want) > tol) {
          console.error(`FAIL ${spec.name}: Y[${i}] = ${result.Y.values[i]}, want ${want} ± ${tol}`);
          failures++;
        }
      }
    }
    console.log(`ok   ${spec.name.padEnd(44)} path=${verdict.path.padEnd(15)} rel=${verdict.diffs[verdict.path].maxRel.toExponential(2)}`);
    records.push(caseRecord(c, result, verdict));
  }

  for (const spec of ERROR_CASES) {
    const c = buildCase(spec, rnd);
    const result = await runOrt(c, args.models);
    if (result.error === undefined) {
      console.error(`FAIL ${spec.name}: ORT accepted a case expected to fail; Y=${result.Y.values.slice(0, 4)}`);
      failures++;
      continue;
    }
    console.log(`err  ${spec.name.padEnd(44)} ${result.stage}: ${result.error.split('\n')[0].slice(0, 120)}`);
    records.push(caseRecord(c, result, null));
  }

  const header = {
    note:
      'Golden outputs of ONNX Runtime for com.microsoft MatMulNBits, generated by tools/ort/matmulnbits.mjs ' +
      '(see tools/ort/README.md). Each case is one single-node model (ir_version 10, opsets ""=21 and com.microsoft=1); ' +
      'A is a graph input, the other inputs are initializers unless weights_as_inputs. ' +
      'Float tensors are listed as decimal values that read back exactly (strconv.ParseFloat(s, 32)); ' +
      'for dtype float16 every value (A, scales, float zero points, bias, Y) is exactly representable in float16 and the model used float16 tensors. ' +
      'Byte tensors (B, packed zero points) are base64. Y is what ORT returned. ' +
      'ort_path says which independent reference ORT matched: fp32 (dequantize then float math), int8 (accuracy_level 4: A quantized per row and block ' +
      'to int8 with round half to even, integer dots), or fp32_zp_ignored (packed zero points ignored because g_idx is present). ' +
      'ref_diffs gives max_abs and max_rel (relative to sum |a*w| per output) against each reference. ' +
      'Cases with expect_error true were rejected by ORT; error holds its message and error_stage whether session creation or run failed. ' +
      'Level-4 results depend on the CPU ISA (see cpu).',
    ort_version: ORT_VERSION,
    generator: 'tools/ort/matmulnbits.mjs',
    seed: SEED,
    session_options: 'cpu execution provider, intra_op_num_threads=1, default graph optimization',
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} (${os.arch()})`,
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, toJSON(header, records));
  console.log(`wrote ${records.length} cases (${fs.statSync(args.out).size} bytes) to ${args.out}`);
  if (failures > 0) {
    console.error(`${failures} check(s) failed`);
    process.exit(1);
  }
}

await main();
