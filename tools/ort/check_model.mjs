// check_model.mjs: loads an ONNX model with ONNX Runtime (CPU, one thread),
// runs it on the given inputs and prints the inputs and outputs as JSON. It
// proves that a file Zerfoo's writer produced is accepted by ORT and gives
// the outputs Go tests compare against.
//
//   node check_model.mjs MODEL.onnx [--input NAME=TYPE:DIMS:VALUES]... [--opt LEVEL] [--out FILE]
//
// --opt sets ORT's graph optimization level: disabled (the default: each op
// computed as the ONNX spec says), basic, extended or all. Extended fusions
// change float32 results by up to ~5e-4 relative (tiny.onnx: Gelu(tanh)
// inside a fused subgraph), so goldens use disabled.
//
// TYPE is float32, float16 (values given as numbers, converted), int64,
// int32, uint8, int8 or bool; DIMS is like 2x4 (empty for a scalar); VALUES
// is a comma-separated list. Without --input it only prints the model's
// input and output names. Output JSON: {ort_version, model, inputs, outputs},
// each value {type, dims, data}; float16 data is given as uint16 bit
// patterns, int64 as numbers (or strings beyond 2^53), strings as strings.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { f32ToF16Bits } from './numbers.mjs';

function usage(msg) {
  console.error(`check_model: ${msg}\nusage: node check_model.mjs MODEL.onnx [--input NAME=TYPE:DIMS:VALUES]... [--opt LEVEL] [--out FILE]`);
  process.exit(2);
}

function parseInput(spec) {
  const eq = spec.indexOf('=');
  if (eq < 0) usage(`bad --input ${spec}`);
  const name = spec.slice(0, eq);
  const [type, dimsStr, valuesStr = ''] = spec.slice(eq + 1).split(':');
  const dims = dimsStr === '' ? [] : dimsStr.split('x').map(Number);
  const vals = valuesStr === '' ? [] : valuesStr.split(',').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  if (vals.length !== n) usage(`--input ${name}: ${vals.length} values for dims [${dims}]`);
  const arrays = {
    float32: () => Float32Array.from(vals),
    float16: () => Uint16Array.from(vals, f32ToF16Bits),
    int64: () => BigInt64Array.from(vals, BigInt),
    int32: () => Int32Array.from(vals),
    uint8: () => Uint8Array.from(vals),
    int8: () => Int8Array.from(vals),
    bool: () => Uint8Array.from(vals),
  };
  if (!arrays[type]) usage(`--input ${name}: unknown type ${type}`);
  return [name, new ort.Tensor(type, arrays[type](), dims), vals];
}

function plain(t) {
  let data;
  if (t.type === 'int64' || t.type === 'uint64') {
    data = Array.from(t.data, (v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()));
  } else if (t.type === 'bool') {
    data = Array.from(t.data, (v) => (v ? 1 : 0));
  } else {
    data = Array.from(t.data);
  }
  return { type: t.type, dims: Array.from(t.dims), data };
}

const args = process.argv.slice(2);
let modelPath;
let outPath;
let optLevel = 'disabled';
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--input') inputs.push(parseInput(args[++i] ?? ''));
  else if (args[i] === '--out') outPath = args[++i];
  else if (args[i] === '--opt') optLevel = args[++i];
  else if (!modelPath) modelPath = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!modelPath) usage('no model');

const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
  graphOptimizationLevel: optLevel,
});
const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));
const result = { ort_version: pkg.version, graph_optimization_level: optLevel, model: path.basename(modelPath), input_names: session.inputNames, output_names: session.outputNames };
if (inputs.length > 0) {
  const feeds = {};
  result.inputs = {};
  for (const [name, tensor] of inputs) {
    feeds[name] = tensor;
    result.inputs[name] = plain(tensor);
  }
  const out = await session.run(feeds);
  result.outputs = {};
  for (const name of session.outputNames) result.outputs[name] = plain(out[name]);
}
// One line per value: arrays of scalars are kept on one line.
const text = JSON.stringify(result, null, 1).replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_, body) => `[${body.split(/,\s+/).join(', ')}]`) + '\n';
if (outPath) fs.writeFileSync(outPath, text);
else process.stdout.write(text);
