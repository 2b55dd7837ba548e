// Compares `zerfoo serve` with llama-server on the same GGUF files, one
// server after the other: aggregate generated tokens/s and p50/p99 time to
// first token for 1, 4, 8 and 16 concurrent streaming chat clients
// (distinct ~64-token prompts, 128 tokens each, end of turn banned through
// logit_bias so both generate the same count), then a 10-turn chat
// (prompt tokens prefilled per turn, time to first token of turn 10 vs 1;
// --chats N runs N conversations and gives each turn its median TTFT).
//
//   go build -o /tmp/zerfoo ./cmd/zerfoo
//   node tools/serve_bench/bench.mjs --zerfoo /tmp/zerfoo --llama /work/llama/bin/llama-server \
//     --threads 2 --parallel 16 --slot-ctx 1024 /work/mixes/gemma3-270m-Q4_0.gguf ...
//
// Prints a Markdown table per model file.
import OpenAI from '../client/node_modules/openai/index.mjs';
import { startServer, stopServer } from './servers.mjs';

const args = process.argv.slice(2);
const opt = { zerfoo: '/tmp/zerfoo', llama: '/work/llama/bin/llama-server', threads: 2, parallel: 16, 'slot-ctx': 1024,
  tokens: 128, levels: '1,4,8,16', turns: 10, chats: 1, port: 18080, only: '' };
const models = [];
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opt[args[i].slice(2)] = args[++i];
  else models.push(args[i]);
}
const levels = String(opt.levels).split(',').map(Number);
const ctx = Number(opt.parallel) * Number(opt['slot-ctx']);
// Gemma 3: <eos> 1, <end_of_turn> 106.
const ban = { 1: -100, 106: -100 };

const words = 'river mountain copper violet engine harbor lantern meadow silver thunder garden pocket window candle forest marble orbit saddle velvet canyon ember glacier hollow island jasmine kettle lemon mirror needle oyster pepper quartz ribbon shadow timber umbrella valley walnut yarrow zephyr'.split(' ');
function prompt(i) { // distinct, about 64 tokens with the chat template
  const w = [];
  for (let k = 0; k < 48; k++) w.push(words[(i * 7 + k * 13) % words.length]);
  return `Story ${i}: continue this list of words forever: ${w.join(' ')}`;
}

function start(kind, model) {
  return startServer(kind, kind === 'zerfoo' ? opt.zerfoo : opt.llama, model, { port: opt.port, threads: opt.threads,
    parallel: opt.parallel, ctx, extra: kind === 'zerfoo' ? ['--max-queue', 64] : [] });
}

const stop = stopServer;

function pct(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function stream(client, messages, maxTokens) {
  const t0 = performance.now();
  let first = 0, n = 0, usage = null, timings = null, text = '';
  const s = await client.chat.completions.create({ model: '', messages, max_tokens: maxTokens, temperature: 0,
    logit_bias: ban, stream: true, stream_options: { include_usage: true } });
  for await (const c of s) {
    const d = c.choices?.[0]?.delta?.content;
    if (d) { if (!first) first = performance.now() - t0; n++; text += d; }
    if (c.usage) usage = c.usage;
    if (c.timings) timings = c.timings;
  }
  return { ttft: first, chunks: n, usage, timings, text, ms: performance.now() - t0 };
}

async function load(url, clients) {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 600_000 });
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: clients }, (_, i) =>
    stream(client, [{ role: 'user', content: prompt(i + 100 * clients) }], Number(opt.tokens))));
  const secs = (performance.now() - t0) / 1000;
  const toks = rs.reduce((a, r) => a + (r.usage?.completion_tokens ?? r.chunks), 0);
  return { tps: toks / secs, toks, p50: pct(rs.map((r) => r.ttft), 0.5), p99: pct(rs.map((r) => r.ttft), 0.99) };
}

function median(xs) {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

async function chat(url, k = 0) {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 600_000 });
  const msgs = [];
  const out = [];
  for (let t = 1; t <= Number(opt.turns); t++) {
    // Conversation k opens with its own word, so that its first turn shares
    // only the chat template's start with the slots' earlier conversations
    // (as a fresh conversation would) and prefills as much as the first's.
    msgs.push({ role: 'user', content: `${words[(5 * k) % words.length]}, turn ${t}: tell me one more short fact about ${words[(t + 7 * k) % words.length]}.` });
    const r = await stream(client, msgs, 32);
    msgs.push({ role: 'assistant', content: r.text });
    const cached = r.usage?.prompt_tokens_details?.cached_tokens ?? r.timings?.cache_n ?? 0;
    const prefilled = r.timings?.prompt_n ?? (r.usage?.prompt_tokens ?? 0) - cached;
    out.push({ turn: t, prompt: r.usage?.prompt_tokens, prefilled, ttft: r.ttft });
  }
  return out;
}

for (const model of models) {
  const res = {};
  for (const kind of ['zerfoo', 'llama']) {
    if (opt.only && opt.only !== kind) continue;
    const s = await start(kind, model);
    try {
      await stream(new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none' }), [{ role: 'user', content: 'warm up' }], 8);
      res[kind] = { levels: [] };
      for (const c of levels) res[kind].levels.push({ c, ...(await load(s.url, c)) });
      try {
        // --chats N: N conversations one after the other; each turn's row is
        // the median TTFT over them (prompt and prefilled counts of the first).
        const runs = [];
        for (let k = 0; k < Number(opt.chats); k++) runs.push(await chat(s.url, k));
        res[kind].chat = runs[0].map((r, i) => ({ ...r, ttft: median(runs.map((c) => c[i].ttft)) }));
        if (runs.length > 1) {
          const ratios = runs.map((c) => c[c.length - 1].ttft / c[0].ttft).map((x) => x.toFixed(2));
          console.error(`${kind}: turn ${runs[0].length} / turn 1 TTFT per conversation: ${ratios.join(' ')}`);
          console.error(`${kind}: prefilled per turn per conversation: ${runs.map((c) => c.map((r) => r.prefilled).join(',')).join(' | ')}`);
        }
      } catch (e) {
        console.error(`${kind} chat: ${e}`);
      }
    } finally {
      await stop(s);
    }
  }
  console.log(`\n### ${model.split('/').pop()} (-t ${opt.threads}, --parallel ${opt.parallel}, ${opt['slot-ctx']} positions per slot, ${opt.tokens} tokens per client)\n`);
  console.log('| clients | zerfoo tok/s | llama-server tok/s | ratio | zerfoo TTFT p50 / p99 ms | llama-server TTFT p50 / p99 ms |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  levels.forEach((c, i) => {
    const z = res.zerfoo?.levels[i], l = res.llama?.levels[i];
    const f = (x) => (x ? x.tps.toFixed(1) : '-');
    const tt = (x) => (x ? `${x.p50.toFixed(0)} / ${x.p99.toFixed(0)}` : '-');
    console.log(`| ${c} | ${f(z)} | ${f(l)} | ${z && l ? (z.tps / l.tps).toFixed(2) + '×' : '-'} | ${tt(z)} | ${tt(l)} |`);
  });
  console.log('\n| turn | prompt tokens | zerfoo prefilled | zerfoo TTFT ms | llama-server prefilled | llama-server TTFT ms |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (let t = 0; t < Number(opt.turns); t++) {
    const z = res.zerfoo?.chat?.[t], l = res.llama?.chat?.[t];
    console.log(`| ${t + 1} | ${z?.prompt ?? l?.prompt} | ${z?.prefilled ?? '-'} | ${z?.ttft.toFixed(0) ?? '-'} | ${l?.prefilled ?? '-'} | ${l?.ttft.toFixed(0) ?? '-'} |`);
  }
  for (const k of ['zerfoo', 'llama']) {
    const ch = res[k]?.chat;
    if (ch) console.log(`\n${k}: turn ${ch.length} TTFT / turn 1 TTFT = ${(ch[ch.length - 1].ttft / ch[0].ttft).toFixed(2)}`);
  }
}
