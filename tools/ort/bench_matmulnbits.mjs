// bench_matmulnbits.mjs times ONNX Runtime's com.microsoft MatMulNBits (npm
// onnxruntime-node 1.30.0, CPU) on random weights with the same options as
// `zerfoo bench matmulnbits`, for side-by-side comparisons
// (../bench_compare.sh).
//
//   node bench_matmulnbits.mjs --m 1 --k 4096 --n 4096 --bits 4 --block-size 32 \
//     --threads 2 [--accuracy-level 4] [--zero-points] [--min-time-ms 1000] [--json]
//
// B, scales and zero points are initializers (ORT prepacks them, as for a
// real model); A is a graph input. The timed region is one session.run call
// (the N-API round trip included, a few microseconds). Prints the median
// time, GFLOP/s (2·M·N·K / median) and weight GB/s (bytes of B, float32
// scales and packed zero points / median); --json prints one object with the
// keys median_ns, gflops and gbps (and min_ns, best_gflops for the fastest
// repetition).
import ort from 'onnxruntime-node';

import { DataType, graph, intAttr, model, node, tensor, valueInfo } from './onnx_encode.mjs';
import { mulberry32 } from './numbers.mjs';

function parseArgs(argv) {
  const a = { m: 1, k: 4096, n: 4096, bits: 4, blockSize: 32, threads: 1, level: 0, zp: false, minTimeMs: 1000, json: false, cold: false };
  for (let i = 0; i < argv.length; i++) {
    const num = () => Number(argv[++i]);
    switch (argv[i]) {
      case '--m': a.m = num(); break;
      case '--k': a.k = num(); break;
      case '--n': a.n = num(); break;
      case '--bits': a.bits = num(); break;
      case '--block-size': a.blockSize = num(); break;
      case '--threads': a.threads = num(); break;
      case '--accuracy-level': a.level = num(); break;
      case '--min-time-ms': a.minTimeMs = num(); break;
      case '--zero-points': a.zp = true; break;
      case '--json': a.json = true; break;
      case '--cold': a.cold = true; break;
      default: throw new Error(`bench_matmulnbits: unknown argument ${argv[i]}`);
    }
  }
  return a;
}

const o = parseArgs(process.argv.slice(2));
const rnd = mulberry32(7);
const kBlocks = Math.ceil(o.k / o.blockSize);
const blob = (o.blockSize * o.bits) / 8;
const B = new Uint8Array(o.n * kBlocks * blob);
for (let i = 0; i < B.length; i++) B[i] = Math.floor(rnd() * 256);
const scales = new Float32Array(o.n * kBlocks);
for (let i = 0; i < scales.length; i++) scales[i] = (rnd() * 2 - 1) / 64;
const zpRow = Math.ceil((kBlocks * o.bits) / 8);
const zp = new Uint8Array(o.n * zpRow);
for (let i = 0; i < zp.length; i++) zp[i] = Math.floor(rnd() * 256);

const inits = [
  tensor('B', DataType.UINT8, [o.n, kBlocks, blob], B),
  tensor('scales', DataType.FLOAT, [o.n * kBlocks], new Uint8Array(scales.buffer)),
];
const inputs = ['A', 'B', 'scales'];
if (o.zp) {
  inits.push(tensor('zero_points', DataType.UINT8, [o.n * zpRow], zp));
  inputs.push('zero_points');
}
const attrs = [intAttr('K', o.k), intAttr('N', o.n), intAttr('bits', o.bits), intAttr('block_size', o.blockSize), intAttr('accuracy_level', o.level)];
const g = graph({
  name: 'bench',
  nodes: [node({ name: 'mm', opType: 'MatMulNBits', domain: 'com.microsoft', inputs, outputs: ['Y'], attrs })],
  initializers: inits,
  inputs: [valueInfo('A', DataType.FLOAT, [o.m, o.k])],
  outputs: [valueInfo('Y', DataType.FLOAT, [o.m, o.n])],
});
const bytes = model(g, [['', 21], ['com.microsoft', 1]]);
const session = await ort.InferenceSession.create(bytes, {
  executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1, logSeverityLevel: 3,
});
const A = new Float32Array(o.m * o.k);
for (let i = 0; i < A.length; i++) A[i] = rnd() * 2 - 1;
const feeds = { A: new ort.Tensor('float32', A, [o.m, o.k]) };

await session.run(feeds); // warm-up (prepacking, thread pool)
// --cold reads 64 MiB between repetitions (untimed), so that each one starts
// with the weights evicted from the caches, as in a decoder where the other
// layers' weights pass through the caches between two uses of this one.
const flushBuf = o.cold ? new Float64Array(8 << 20).fill(1) : null;
let flushSink = 0;
const flush = () => { if (flushBuf) { let s = 0; for (let i = 0; i < flushBuf.length; i += 8) s += flushBuf[i]; flushSink += s; } };
const times = [];
const start = process.hrtime.bigint();
while (times.length < 5 || Number(process.hrtime.bigint() - start) < o.minTimeMs * 1e6) {
  flush();
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0));
}
times.sort((x, y) => x - y);
const med = times[Math.floor(times.length / 2)];
const weightBytes = B.length + 4 * scales.length + (o.zp ? zp.length : 0);
const r = {
  name: `ort matmulnbits m${o.m} k${o.k} n${o.n} b${o.bits} bs${o.blockSize} L${o.level} t${o.threads}${o.zp ? ' zp' : ''}${o.cold ? ' cold' : ''}`,
  ort_version: ort.env.versions?.common ?? '1.30.0',
  reps: times.length, median_ns: med, min_ns: times[0], best_gflops: (2 * o.m * o.n * o.k) / times[0], gflops: (2 * o.m * o.n * o.k) / med, gbps: weightBytes / med, weight_bytes: weightBytes,
};
if (flushSink < 0) console.log(flushSink); // keep the flush
if (o.json) console.log(JSON.stringify(r));
else console.log(`${r.name.padEnd(44)} ${(med / 1e6).toFixed(3).padStart(9)} ms  ${r.gflops.toFixed(1).padStart(7)} GFLOP/s  ${r.gbps.toFixed(1).padStart(6)} weight GB/s`);
