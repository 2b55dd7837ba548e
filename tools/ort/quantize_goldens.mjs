// quantize_goldens.mjs: runs the models that Zerfoo's `quantize` package
// wrote (testdata/quantize/mlp_mnb*.onnx, float MatMuls replaced by
// com.microsoft.MatMulNBits) with ONNX Runtime (CPU, one thread, graph
// optimizations disabled) and records input and output y in
// testdata/quantize/ort.json, which quantize.TestONNXRuntimeGolden reads.
// It also runs the float model mlp.onnx and prints how far each quantized
// output is from it.
//
//   node quantize_goldens.mjs [--dir ../../testdata/quantize]
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
let dir = new URL('../../testdata/quantize/', import.meta.url).pathname;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--dir') dir = args[++i];
  else { console.error(`quantize_goldens: unexpected argument ${args[i]}`); process.exit(2); }
}
const models = ['mlp_mnb4.onnx', 'mlp_mnb4_asym_b16.onnx', 'mlp_mnb8.onnx'];

// x [3, 64]: multiples of 1/64 in [-2, 2], exact in float32.
const rows = 3, k = 64;
const x = new Float32Array(rows * k);
for (let i = 0; i < x.length; i++) x[i] = (((i * 37 + 11) % 257) - 128) / 64;
const m = new Float32Array(20).fill(0.5);

async function run(file) {
  const session = await ort.InferenceSession.create(path.join(dir, file), {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
    graphOptimizationLevel: 'disabled',
  });
  const out = await session.run({ x: new ort.Tensor('float32', x, [rows, k]), m: new ort.Tensor('float32', m, [10, 2]) });
  return out.y;
}

const float = await run('mlp.onnx');
const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));
const result = { ort_version: pkg.version, generator: 'tools/ort/quantize_goldens.mjs', graph_optimization_level: 'disabled', cases: [] };
for (const file of models) {
  const y = await run(file);
  let num = 0, den = 0;
  for (let i = 0; i < y.data.length; i++) { num += (y.data[i] - float.data[i]) ** 2; den += float.data[i] ** 2; }
  console.log(`${file}: y ${Array.from(y.dims)}, relative L2 distance from the float model ${Math.sqrt(num / den).toExponential(3)}`);
  result.cases.push({
    model: file,
    x: { dims: [rows, k], data: Array.from(x) },
    y: { dims: Array.from(y.dims), data: Array.from(y.data) },
    float_y: { dims: Array.from(float.dims), data: Array.from(float.data) },
  });
}
const text = JSON.stringify(result, null, 1).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_, body) => `[${body.split(/,\s+/).join(', ')}]`) + '\n';
fs.writeFileSync(path.join(dir, 'ort.json'), text);
console.log(`wrote ${path.join(dir, 'ort.json')}`);
