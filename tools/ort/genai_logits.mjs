// genai_logits.mjs: runs onnxruntime-genai-layout decoder folders with ONNX
// Runtime (CPU, one thread, graph optimizations disabled) the way
// onnxruntime-genai drives them: the prompt in one run with empty past
// key/values, then greedy decode steps of one token each, feeding present
// back as past and growing attention_mask (and position_ids when the graph
// has them). A graph that takes inputs_embeds gets rows of the float32
// table embed_tokens.f32 ([vocab, hidden], little-endian, already scaled)
// that the folder must hold.
//
//   node genai_logits.mjs DIR... --prompt 2,17,5 --steps 6 [--out FILE]
//
// Each DIR holds genai_config.json and model.onnx. Output JSON:
// {ort_version, models: {NAME: {prompt, greedy, logits}}}, NAME the
// folder's base name, logits [steps+1][vocab]: the last prompt position's
// and each decode step's, to 6 significant digits.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

function usage(msg) {
  console.error(`genai_logits: ${msg}\nusage: node genai_logits.mjs DIR... --prompt IDS --steps N [--out FILE]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const dirs = [];
let prompt;
let steps = 0;
let outPath;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--prompt') prompt = args[++i].split(',').map(Number);
  else if (args[i] === '--steps') steps = Number(args[++i]);
  else if (args[i] === '--out') outPath = args[++i];
  else dirs.push(args[i]);
}
if (!prompt || dirs.length === 0) usage('need folders and --prompt');

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function run(dir) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'genai_config.json'), 'utf8')).model;
  const dec = cfg.decoder;
  const session = await ort.InferenceSession.create(path.join(dir, dec.filename), {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3,
    graphOptimizationLevel: 'disabled',
  });
  const names = session.inputNames;
  const embeds = names.includes('inputs_embeds');
  let table;
  if (embeds) {
    const buf = fs.readFileSync(path.join(dir, 'embed_tokens.f32'));
    table = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  }
  const H = dec.hidden_size;
  const L = dec.num_hidden_layers;
  const kvShape = (n) => [1, dec.num_key_value_heads, n, dec.head_size];
  let past = [];
  for (let l = 0; l < L; l++) past.push([new ort.Tensor('float32', new Float32Array(0), kvShape(0)), new ort.Tensor('float32', new Float32Array(0), kvShape(0))]);
  const result = { prompt, greedy: [], logits: [] };
  let ids = prompt;
  let pos = 0;
  for (let step = 0; step <= steps; step++) {
    const S = ids.length;
    const feeds = {};
    if (embeds) {
      const e = new Float32Array(S * H);
      ids.forEach((id, i) => e.set(table.subarray(id * H, (id + 1) * H), i * H));
      feeds.inputs_embeds = new ort.Tensor('float32', e, [1, S, H]);
    } else {
      feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, S]);
    }
    feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(pos + S).fill(1n), [1, pos + S]);
    if (names.includes('position_ids')) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(pos + i)), [1, S]);
    for (let l = 0; l < L; l++) {
      feeds[`past_key_values.${l}.key`] = past[l][0];
      feeds[`past_key_values.${l}.value`] = past[l][1];
    }
    const out = await session.run(feeds);
    const V = out.logits.dims[2];
    const last = Array.from(out.logits.data.subarray((S - 1) * V, S * V));
    result.logits.push(last);
    past = [];
    for (let l = 0; l < L; l++) past.push([out[`present.${l}.key`], out[`present.${l}.value`]]);
    pos += S;
    const next = argmax(last);
    if (step < steps) result.greedy.push(next);
    ids = [next];
  }
  return result;
}

const pkg = JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url)));
const res = { ort_version: pkg.version, models: {} };
for (const d of dirs) res.models[path.basename(d)] = await run(d);
const text = JSON.stringify(res, (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v)) + '\n';
if (outPath) fs.writeFileSync(outPath, text);
else process.stdout.write(text);
