// bert_quant.mjs: ONNX Runtime's side of the quantized BERT comparison
// (onnx/exec/bert_model_test.go builds the models: float, dynamic,
// QOperator and QDQ forms of a BERT-shaped encoder).
//
//   node bert_quant.mjs goldens CASES.json OUT.json
//     runs every model of CASES.json (written by `go test ./onnx/exec -run
//     TestBERTSmallORT -update -bert-cases CASES.json`) with graph
//     optimizations on ('all', ORT's default: QDQ MatMuls fused as Zerfoo
//     fuses them), one thread, and writes the outputs.
//
//   node bert_quant.mjs bench DIR [--threads 1,2] [--batches 1,8] [--runs N] [--forms a,b]
//     loads DIR/<form>.onnx and DIR/inputs_b<B>.json (written by `go test
//     ./onnx/exec -run TestBERTWrite -bert-dir DIR`), writes ORT's output
//     for each form and batch to DIR/ort_<form>_b<B>.json (first thread
//     count only) and prints the median and minimum latency of N runs after
//     2 warm-up runs and the process CPU time per run (user + system), per
//     form, thread count and batch, as JSON lines.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

function tensorOf(v) {
  const arrays = {
    float32: () => Float32Array.from(v.data),
    int64: () => BigInt64Array.from(v.data, (x) => BigInt(x)),
    int32: () => Int32Array.from(v.data),
    uint8: () => Uint8Array.from(v.data),
    int8: () => Int8Array.from(v.data),
  };
  if (!arrays[v.type]) throw new Error(`unknown type ${v.type}`);
  return new ort.Tensor(v.type, arrays[v.type](), v.dims);
}

function plain(t) {
  return { type: t.type, dims: Array.from(t.dims), data: Array.from(t.data) };
}

const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));

function options(threads) {
  return {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  };
}

async function goldens(casesPath, outPath) {
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  const results = [];
  let failed = 0;
  for (const c of cases) {
    const r = { name: c.name };
    try {
      const session = await ort.InferenceSession.create(Buffer.from(c.model, 'base64'), options(1));
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
  const text = JSON.stringify({ ort_version: pkg.version, graph_optimization_level: 'all', results }) + '\n';
  fs.writeFileSync(outPath, text);
  console.log(`wrote ${results.length} results (${failed} errors) to ${outPath}`);
  if (failed > 0) process.exit(1);
}

async function bench(dir, args) {
  let threads = [1, 2], batches = [1, 8], runs = 10, forms = ['dynamic', 'qoperator', 'qdq'];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = args[++i].split(',').map(Number);
    else if (args[i] === '--batches') batches = args[++i].split(',').map(Number);
    else if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--forms') forms = args[++i].split(',');
    else throw new Error(`unexpected argument ${args[i]}`);
  }
  for (const form of forms) {
    for (const th of threads) {
      const session = await ort.InferenceSession.create(path.join(dir, `${form}.onnx`), options(th));
      for (const b of batches) {
        const inputs = JSON.parse(fs.readFileSync(path.join(dir, `inputs_b${b}.json`), 'utf8'));
        const feeds = {};
        for (const [name, v] of Object.entries(inputs)) feeds[name] = tensorOf(v);
        let out;
        for (let i = 0; i < 2; i++) out = await session.run(feeds);
        if (th === threads[0]) {
          const o = {};
          for (const name of session.outputNames) o[name] = plain(out[name]);
          fs.writeFileSync(path.join(dir, `ort_${form}_b${b}.json`), JSON.stringify({ ort_version: pkg.version, results: [{ name: form, outputs: o }] }));
        }
        const ms = [];
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < runs; i++) {
          const t0 = process.hrtime.bigint();
          await session.run(feeds);
          ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const cpu = process.cpuUsage(cpu0);
        ms.sort((a, b) => a - b);
        console.log(JSON.stringify({ engine: 'ort', ort_version: pkg.version, form, threads: th, batch: b, runs, median_ms: ms[Math.floor(runs / 2)], min_ms: ms[0], cpu_ms: (cpu.user + cpu.system) / 1000 / runs }));
      }
    }
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'goldens' && rest.length === 2) await goldens(rest[0], rest[1]);
else if (mode === 'bench' && rest.length >= 1) await bench(rest[0], rest.slice(1));
else {
  console.error('usage: node bert_quant.mjs goldens CASES.json OUT.json | bench DIR [--threads 1,2] [--batches 1,8] [--runs N] [--forms ...]');
  process.exit(2);
}
