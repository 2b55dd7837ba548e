// Times an ONNX model with ONNX Runtime (npm onnxruntime-node, CPU execution
// provider) on the inputs `zerfoo onnx bench --save-inputs DIR` wrote, and
// prints the same statistics as `zerfoo onnx bench --json`, so the two can be
// compared as a ratio measured in one run (tools/ort/compare_bench.sh), plus
// cpu_ms: the process's CPU time per timed run (at one thread, the work
// done, which a busy machine disturbs less than the latency).
//
//   node bench_model.mjs MODEL.onnx INPUT_DIR [--threads N] [--runs N] [--warmup N]
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

function usage(msg) {
  console.error(`bench_model.mjs: ${msg}\nusage: node bench_model.mjs MODEL.onnx INPUT_DIR [--threads N] [--runs N] [--warmup N]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const pos = [];
const opt = { threads: 0, runs: 20, warmup: 3 };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith('--')) {
    const k = a.slice(2);
    if (!(k in opt) || i + 1 >= args.length) usage(`unknown or incomplete flag ${a}`);
    const v = Number(args[++i]);
    if (!Number.isInteger(v) || v < 0) usage(`${a} wants a non-negative integer`);
    opt[k] = v;
  } else {
    pos.push(a);
  }
}
if (pos.length !== 2) usage('want MODEL.onnx and INPUT_DIR');
const [modelPath, inputDir] = pos;

// The .npy element types and the ORT tensor types and arrays they map to.
const npyTypes = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<f2': ['float16', Uint16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
  '<i2': ['int16', Int16Array], '<u2': ['uint16', Uint16Array], '<i4': ['int32', Int32Array],
  '<u4': ['uint32', Uint32Array], '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array],
};

// readNpy reads a C-order .npy file (format 1.0–3.0) of one of npyTypes.
function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = b[6];
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = b.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${file}: bad header ${header}`);
  if (fortran === 'True') throw new Error(`${file}: Fortran order`);
  const t = npyTypes[descr];
  if (!t) throw new Error(`${file}: element type ${descr} not supported`);
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const data = b.subarray(hstart + hlen);
  const bytes = new Uint8Array(data.length);
  bytes.set(data);
  const arr = t[0] === 'bool'
    ? Array.from(bytes, (x) => x !== 0)
    : new t[1](bytes.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT);
  return new ort.Tensor(t[0], arr, dims);
}

// sanitize is cmd/zerfoo's output/input file naming: characters outside
// [A-Za-z0-9_.-] become '_'.
function sanitize(name) {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return s === '' || s === '.' || s === '..' ? '_'.repeat(Math.max(1, s.length)) : s;
}

const so = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
if (opt.threads > 0) {
  so.intraOpNumThreads = opt.threads;
  so.interOpNumThreads = 1;
}
const session = await ort.InferenceSession.create(modelPath, so);
const feeds = {};
for (const name of session.inputNames) {
  feeds[name] = readNpy(path.join(inputDir, sanitize(name) + '.npy'));
}
for (let i = 0; i < opt.warmup; i++) await session.run(feeds);
const times = [];
const cpu0 = process.cpuUsage();
for (let i = 0; i < Math.max(1, opt.runs); i++) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const cpu = process.cpuUsage(cpu0); // user and system µs of the timed runs, all threads
times.sort((a, b) => a - b);
const pct = (q) => times[Math.min(Math.max(Math.ceil(q * times.length) - 1, 0), times.length - 1)];
const total = times.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({
  model: modelPath, peer: `onnxruntime-node ${ort.env.versions?.node ?? ''}`.trim(), threads: opt.threads, runs: times.length,
  min_ms: times[0], mean_ms: total / times.length, p50_ms: pct(0.5), p90_ms: pct(0.9), p99_ms: pct(0.99),
  max_ms: times[times.length - 1], runs_per_s: times.length / (total / 1000),
  cpu_ms: (cpu.user + cpu.system) / 1000 / times.length,
}));
