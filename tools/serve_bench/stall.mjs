// How a long prompt arriving at a busy server delays the streams already
// running (issue 15: "chunked prefill interleaved so a long prompt does not
// stall the other streams"), `zerfoo serve` against llama-server on the same
// GGUF file, one server after the other.
//
// --streams N streaming chat clients (default 3) each generate --tokens
// tokens (default 400; end of turn banned through logit_bias); once every
// stream has sent --warm tokens (default 20), one more client sends a long
// text completion (--words words, default 600: 3377 tokens with the
// tokenizer of tools/llamacpp/mkmodel's files; max_tokens 1) and its time
// to first token is taken.
// For the streams: the gaps between their chunks before the long prompt,
// while it is prefilled (from its send to its first token) and after,
// each as p50 / p99 / max in ms, and the tokens they received in that
// window.
//
//   go build -o /tmp/zerfoo ./cmd/zerfoo
//   node tools/serve_bench/stall.mjs [--zerfoo /tmp/zerfoo] [--llama /work/llama/bin/llama-server] \
//     [--only zerfoo|llama] [--threads 2] [--parallel 4] [--slot-ctx 8192] MODEL.gguf
//
// Prints a Markdown table.
import { startServer, stopServer } from './servers.mjs';

const args = process.argv.slice(2);
const opt = { zerfoo: '/tmp/zerfoo', llama: '/work/llama/bin/llama-server', threads: 2, parallel: 4, 'slot-ctx': 8192,
  streams: 3, tokens: 400, warm: 20, words: 600, port: 18085, only: '' };
let model = '';
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opt[args[i].slice(2)] = args[++i];
  else model = args[i];
}
if (!model) throw new Error('usage: stall.mjs [--zerfoo BIN] [--llama BIN] [--only KIND] MODEL.gguf');
const ctx = Number(opt.parallel) * Number(opt['slot-ctx']);
const ban = { 1: -100, 106: -100 }; // Gemma 3: <eos>, <end_of_turn>

function start(kind) {
  return startServer(kind, kind === 'zerfoo' ? opt.zerfoo : opt.llama, model, { port: opt.port, threads: opt.threads,
    parallel: opt.parallel, ctx, extra: kind === 'zerfoo' ? ['--quiet'] : [] });
}

const stop = stopServer;

// stream runs one streaming chat and pushes the arrival time of each chunk
// that carries text into times; onWarm runs once it has warm chunks.
async function stream(url, i, times, onWarm) {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `Stream ${i}: write a long story about a river.` }],
      max_tokens: Number(opt.tokens), temperature: 0, stream: true, logit_bias: ban }) });
  const rd = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await rd.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (/"content":"[^"]/.test(ev)) {
        times.push(performance.now());
        if (times.length === Number(opt.warm)) onWarm();
      }
    }
  }
}

// longText returns n words that do not repeat in runs a tokenizer could
// merge into few tokens.
function longText(n) {
  const w = 'river mountain copper violet engine harbor lantern meadow silver thunder garden pocket window candle forest marble orbit saddle velvet canyon'.split(' ');
  const out = [];
  for (let i = 0; i < n; i++) out.push(w[(i * 7 + Math.floor(i / 20)) % w.length] + (i % 13 === 0 ? ',' : ''));
  return out.join(' ');
}

function pct(xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function run(kind) {
  const s = await start(kind);
  try {
    // Warm up (llama-server's first request pays its graph set-up).
    await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: longText(200), max_tokens: 4 }) });
    const times = Array.from({ length: Number(opt.streams) }, () => []);
    let warm = 0, fire;
    const ready = new Promise((r) => (fire = r));
    const streams = times.map((t, i) => stream(s.url, i, t, () => { if (++warm === times.length) fire(); }));
    await ready;
    const t0 = performance.now();
    const res = await (await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: longText(Number(opt.words)), max_tokens: 1, temperature: 0 }) })).json();
    const t1 = performance.now();
    if (!res.usage) throw new Error(`${kind}: the long prompt failed: ${JSON.stringify(res).slice(0, 300)}`);
    await Promise.all(streams);
    const gaps = { before: [], during: [], after: [] };
    let during = 0;
    for (const ts of times) {
      for (let j = 1; j < ts.length; j++) {
        const g = ts[j] - ts[j - 1];
        if (ts[j] <= t0) gaps.before.push(g);
        else if (ts[j - 1] >= t1) gaps.after.push(g);
        else gaps.during.push(g);
        if (ts[j] > t0 && ts[j] <= t1) during++;
      }
    }
    return { prompt: res.usage?.prompt_tokens, ttft: t1 - t0, gaps, during };
  } finally {
    await stop(s);
  }
}

const out = {};
for (const kind of ['zerfoo', 'llama']) {
  if (opt.only && opt.only !== kind) continue;
  out[kind] = await run(kind);
}
const g = (xs) => `${pct(xs, 0.5).toFixed(1)} / ${pct(xs, 0.99).toFixed(1)} / ${Math.max(...xs).toFixed(0)}`;
console.log(`\n### ${model.split('/').pop()} (-t ${opt.threads}, --parallel ${opt.parallel}, ${opt.streams} streams, a ${opt.words}-word prompt)\n`);
console.log('| server | long prompt tokens | its TTFT ms | stream tokens during it | gaps before: p50 / p99 / max ms | during | after |');
console.log('|---|---:|---:|---:|---|---|---|');
for (const [k, r] of Object.entries(out)) {
  console.log(`| ${k} | ${r.prompt} | ${r.ttft.toFixed(0)} | ${r.during} | ${g(r.gaps.before)} | ${g(r.gaps.during)} | ${g(r.gaps.after)} |`);
}
