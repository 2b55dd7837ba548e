// Load test of `zerfoo serve` (the binary, a real model file) with the
// official openai npm client, issue 15's "Load" target: 4 × --parallel
// streaming chat clients for --secs seconds, then SIGTERM while requests
// are in flight.
//
//   go build -o /tmp/zerfoo ./cmd/zerfoo
//   node tools/serve_bench/load.mjs --secs 120 --parallel 4 /work/mixes/gemma3-270m-Q4_0.gguf
//
// Each client loops: a fresh one-turn chat (prompts of 5 to 124 words) or
// the next turn of its own conversation (up to 3 turns), max_tokens 8 to 96, seeded
// sampling; every 7th request is aborted by the client after its first
// chunk (a cancellation, counted apart). A request fails if it is neither a
// 200 stream ending with a finish_reason and usage, a 429 (the configured
// --max-queue) nor an intended abort. Before the run (after a warm-up
// round of every client) and after it (all connections closed), the
// server's RSS (/proc/PID/status VmRSS) and goroutines (/debug/pprof,
// --pprof) are read. Then --parallel long streams start; once each has
// sent its first token the server gets SIGTERM: every one must finish
// with [DONE], a request sent after the signal must be refused (503 or no
// connection), and the process must exit 0.
//
// Prints a Markdown summary; exits 1 if a check failed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from '../client/node_modules/openai/index.mjs';

const args = process.argv.slice(2);
const opt = { zerfoo: '/tmp/zerfoo', secs: 120, parallel: 4, queue: -1, threads: 2, 'slot-ctx': 2048, port: 18180, clients: 0 };
let model = '';
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opt[args[i].slice(2)] = args[++i];
  else model = args[i];
}
const par = Number(opt.parallel);
const clients = Number(opt.clients) || 4 * par;
const queue = Number(opt.queue) >= 0 ? Number(opt.queue) : 2 * par; // 4×P clients, P slots, 2×P queued: some 429s
const url = `http://127.0.0.1:${opt.port}`;

const srv = spawn(opt.zerfoo, ['serve', '--model', model, '--addr', `127.0.0.1:${opt.port}`, '--parallel', par, '--max-queue', queue,
  '--ctx-size', par * Number(opt['slot-ctx']), '--threads', opt.threads, '--pprof', '--shutdown-timeout', '60s'].map(String),
{ stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
srv.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
const exited = new Promise((r) => srv.on('exit', (code, sig) => r({ code, sig })));
for (let t = 0; ; t++) {
  try { if ((await fetch(`${url}/health`)).ok) break; } catch {}
  if (t > 600) throw new Error('zerfoo serve did not become healthy');
  await sleep(200);
}

// No client timeout: on a loaded machine a queued request may wait minutes,
// and the run's length bounds the test.
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
const words = 'river mountain copper violet engine harbor lantern meadow silver thunder garden pocket window candle forest marble orbit saddle velvet canyon ember glacier hollow island jasmine kettle lemon mirror needle oyster pepper quartz ribbon shadow timber umbrella valley walnut yarrow zephyr'.split(' ');
function text(seed, n) {
  const w = [];
  for (let k = 0; k < n; k++) w.push(words[(seed * 7 + k * 13) % words.length]);
  return w.join(' ');
}

async function probe() {
  const st = readFileSync(`/proc/${srv.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(st)[1]) / 1024;
  const g = await (await fetch(`${url}/debug/pprof/goroutine?debug=1`)).text();
  return { rss, goroutines: Number(/total (\d+)/.exec(g)[1]) };
}
async function settle() { // let connections close and the server go idle
  for (let i = 0; i < 50; i++) {
    const h = await (await fetch(`${url}/health`)).json();
    if (h.slots_busy === 0 && h.queued === 0) break;
    await sleep(100);
  }
  await sleep(3000); // past the server's idle release (1 s after its last request)
  return probe();
}

const stats = { ok: 0, limited: 0, aborted: 0, failed: 0, tokens: 0, ttft: [], errors: [] };
async function one(c, i, convo, record) {
  const fresh = convo.length === 0 || convo.length > 4 || i % 3 === 0;
  if (fresh) convo.length = 0;
  convo.push({ role: 'user', content: `Client ${c} request ${i}: ${text(c * 1000 + i, 5 + ((c * 31 + i * 17) % 120))}` });
  const maxTokens = 8 + ((c * 13 + i * 29) % 89);
  const abort = (c + i) % 7 === 0;
  const ac = new AbortController();
  const t0 = performance.now();
  let first = 0, finish = null, usage = null, answer = '';
  try {
    const s = await client.chat.completions.create({ model: '', messages: convo, max_tokens: maxTokens, temperature: 0.8, seed: c * 100000 + i,
      stream: true, stream_options: { include_usage: true } }, { signal: ac.signal });
    for await (const ch of s) {
      const d = ch.choices?.[0]?.delta?.content;
      if (d) { if (!first) first = performance.now() - t0; answer += d; }
      if (ch.choices?.[0]?.finish_reason) finish = ch.choices[0].finish_reason;
      if (ch.usage) usage = ch.usage;
      if (abort && first) { ac.abort(); break; }
    }
    if (abort) { if (record) stats.aborted++; convo.length = 0; return; }
    if (!finish || !usage) throw new Error(`stream ended without finish_reason/usage (${finish}, ${JSON.stringify(usage)})`);
    convo.push({ role: 'assistant', content: answer });
    if (record) { stats.ok++; stats.tokens += usage.completion_tokens; if (first) stats.ttft.push(first); }
  } catch (e) {
    convo.length = 0;
    if (abort && (e.name === 'AbortError' || e instanceof OpenAI.APIUserAbortError)) { if (record) stats.aborted++; return; }
    if (e.status === 429) { if (record) stats.limited++; await sleep(100); return; }
    if (record) { stats.failed++; if (stats.errors.length < 10) stats.errors.push(`${e.status ?? ''} ${e.message}`); }
  }
}

// Warm-up: one round of every client, so every slot, cache and buffer is in use once.
await Promise.all(Array.from({ length: clients }, (_, c) => one(c, 1, [], false)));
const before = await settle();
const t0 = performance.now();
const end = t0 + Number(opt.secs) * 1000;
await Promise.all(Array.from({ length: clients }, async (_, c) => {
  const convo = [];
  for (let i = 2; performance.now() < end; i++) await one(c, i, convo, true);
}));
const secs = (performance.now() - t0) / 1000;
const after = await settle();
const metrics = await (await fetch(`${url}/metrics`)).text();

// SIGTERM with streams in flight.
const long = Array.from({ length: par }, (_, c) => {
  let started, fail;
  const firstToken = new Promise((r, j) => { started = r; fail = j; });
  const done = (async () => {
    let finish = null, n = 0;
    const s = await client.chat.completions.create({ model: '', messages: [{ role: 'user', content: `Shutdown ${c}: ${text(c, 40)}` }],
      max_tokens: 96, temperature: 0, logit_bias: { 1: -100, 106: -100 }, stream: true });
    for await (const ch of s) {
      if (ch.choices?.[0]?.delta?.content && n++ === 0) started();
      if (ch.choices?.[0]?.finish_reason) finish = ch.choices[0].finish_reason;
    }
    return { finish, n };
  })().catch((e) => { fail(e); return { error: e.message }; });
  return { firstToken, done };
});
await Promise.all(long.map((l) => l.firstToken));
srv.kill('SIGTERM');
await sleep(300);
let refused;
try {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'late' }], max_tokens: 4 }) });
  refused = r.status === 503 ? '503' : `HTTP ${r.status}`;
} catch { refused = 'connection refused'; }
const finished = await Promise.all(long.map((l) => l.done));
const exit = await exited;

const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN; };
const metric = (name) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1]);
const checks = [
  ['no failed request', stats.failed === 0, `${stats.failed} failed${stats.errors.length ? ': ' + stats.errors.join('; ') : ''}`],
  ['requests succeeded', stats.ok > 0, `${stats.ok} ok`],
  ['no goroutine growth', after.goroutines <= before.goroutines + 2, `goroutines ${before.goroutines} → ${after.goroutines}`],
  ['no RSS growth', after.rss <= before.rss * 1.05 + 16, `RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB`],
  ['SIGTERM: streams in flight finish', finished.every((f) => f.finish && !f.error), JSON.stringify(finished)],
  ['SIGTERM: new requests refused', refused !== 'HTTP 200', refused],
  ['SIGTERM: exit status 0', exit.code === 0, `exit ${exit.code ?? exit.sig}`],
];
console.log(`\n### zerfoo serve load: ${model.split('/').pop()}, --parallel ${par}, --max-queue ${queue}, ${clients} streaming clients, ${secs.toFixed(0)} s, -t ${opt.threads}\n`);
console.log('| ok | 429 | aborted (by the client) | failed | generated tok/s | TTFT p50 / p99 ms | RSS before → after MiB | goroutines before → after | KV cache MiB |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(`| ${stats.ok} | ${stats.limited} | ${stats.aborted} | ${stats.failed} | ${(stats.tokens / secs).toFixed(1)} | ${pct(stats.ttft, 0.5).toFixed(0)} / ${pct(stats.ttft, 0.99).toFixed(0)} | ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} | ${before.goroutines} → ${after.goroutines} | ${(metric('zerfoo_kv_cache_bytes') / 2 ** 20).toFixed(0)} |`);
console.log('');
let bad = false;
for (const [name, ok, note] of checks) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${note}`);
  bad ||= !ok;
}
if (bad) console.log(`\nserver log tail:\n${stderr.split('\n').slice(-15).join('\n')}`);
process.exit(bad ? 1 : 0);
