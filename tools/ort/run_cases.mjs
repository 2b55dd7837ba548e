// run_cases.mjs: runs every model of testdata/onnx/ops/cases.json (written by
// `go test ./onnx/exec -run TestORTGoldens -update`) with ONNX Runtime (CPU,
// one thread, graph optimizations disabled) and writes the outputs to
// testdata/onnx/ops/ort.json, which the Go test compares against.
//
//   node run_cases.mjs [--cases FILE] [--out FILE]
//
// Values use check_model.mjs's JSON form: {type, dims, data}; float16 data
// as uint16 bit patterns, bool as 0/1.
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const args = process.argv.slice(2);
let casesPath = new URL('../../testdata/onnx/ops/cases.json', import.meta.url).pathname;
let outPath = new URL('../../testdata/onnx/ops/ort.json', import.meta.url).pathname;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--cases') casesPath = args[++i];
  else if (args[i] === '--out') outPath = args[++i];
  else { console.error(`run_cases: unexpected argument ${args[i]}`); process.exit(2); }
}

function tensorOf(v) {
  const arrays = {
    float32: () => Float32Array.from(v.data),
    float16: () => Uint16Array.from(v.data),
    int64: () => BigInt64Array.from(v.data, (x) => BigInt(x)),
    int32: () => Int32Array.from(v.data),
    uint8: () => Uint8Array.from(v.data),
    int8: () => Int8Array.from(v.data),
    bool: () => Uint8Array.from(v.data),
  };
  if (!arrays[v.type]) throw new Error(`unknown type ${v.type}`);
  return new ort.Tensor(v.type, arrays[v.type](), v.dims);
}

function plain(t) {
  let data;
  if (t.type === 'int64' || t.type === 'uint64') data = Array.from(t.data, (x) => Number(x));
  else if (t.type === 'bool') data = Array.from(t.data, (x) => (x ? 1 : 0));
  else data = Array.from(t.data);
  return { type: t.type, dims: Array.from(t.dims), data };
}

const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));
const results = [];
let failed = 0;
for (const c of cases) {
  const r = { name: c.name };
  try {
    const session = await ort.InferenceSession.create(Buffer.from(c.model, 'base64'), {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
      graphOptimizationLevel: 'disabled',
    });
    const feeds = {};
    for (const [name, v] of Object.entries(c.inputs)) feeds[name] = tensorOf(v);
    const out = await session.run(feeds);
    r.outputs = {};
    for (const name of session.outputNames) r.outputs[name] = plain(out[name]);
  } catch (e) {
    r.error = String(e.message ?? e);
    failed++;
    console.error(`${c.name}: ${r.error}`);
  }
  results.push(r);
}
const text = JSON.stringify({ ort_version: pkg.version, graph_optimization_level: 'disabled', results }, null, 1)
  .replace(/\[\s+([^[\]{}]*?)\s+\]/g, (_, body) => `[${body.split(/,\s+/).join(', ')}]`) + '\n';
fs.writeFileSync(outPath, text);
console.log(`wrote ${results.length} results (${failed} errors) to ${outPath}`);
if (failed > 0) process.exit(1);
