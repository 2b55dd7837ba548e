// Per-turn detail of bench.mjs's 10-turn chat on `zerfoo serve` alone: for
// every turn of N conversations, the time to the first streamed text, how
// many tokens that first text chunk carries (its logprobs entries: above 1,
// the first token's text was held back, e.g. an incomplete UTF-8 character)
// and the tokens prefilled (prompt minus cached). One JSON line per turn,
// then the median TTFT per turn.
//
//   go build -o /tmp/zerfoo ./cmd/zerfoo
//   node tools/serve_bench/ttft_probe.mjs [--zerfoo /tmp/zerfoo] [--chats 5] [--threads 2] MODEL.gguf
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from '../client/node_modules/openai/index.mjs';

const args = process.argv.slice(2);
const opt = { zerfoo: '/tmp/zerfoo', chats: 5, turns: 10, threads: 2, parallel: 4, 'slot-ctx': 2048, port: 18090 };
let model = '';
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith('--')) opt[args[i].slice(2)] = args[++i];
  else model = args[i];
}
if (!model) throw new Error('usage: ttft_probe.mjs [--zerfoo BIN] [--chats N] MODEL.gguf');
// The same conversations as bench.mjs's chat.
const words = 'river mountain copper violet engine harbor lantern meadow silver thunder garden pocket window candle forest marble orbit saddle velvet canyon ember glacier hollow island jasmine kettle lemon mirror needle oyster pepper quartz ribbon shadow timber umbrella valley walnut yarrow zephyr'.split(' ');
const ban = { 1: -100, 106: -100 };
const url = `http://127.0.0.1:${opt.port}`;
const srv = spawn(opt.zerfoo, ['serve', '--model', model, '--addr', `127.0.0.1:${opt.port}`, '--parallel', String(opt.parallel),
  '--ctx-size', String(Number(opt.parallel) * Number(opt['slot-ctx'])), '--threads', String(opt.threads), '--quiet'], { stdio: 'ignore' });
try {
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/health`)).ok) break; } catch {}
    if (i > 600) throw new Error('zerfoo serve did not start');
    await sleep(100);
  }
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
  await client.chat.completions.create({ model: '', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 4 });
  const ttfts = [];
  for (let k = 0; k < Number(opt.chats); k++) {
    const msgs = [];
    for (let t = 1; t <= Number(opt.turns); t++) {
      msgs.push({ role: 'user', content: `${words[(5 * k) % words.length]}, turn ${t}: tell me one more short fact about ${words[(t + 7 * k) % words.length]}.` });
      const t0 = performance.now();
      const s = await client.chat.completions.create({ model: '', messages: msgs, max_tokens: 32, temperature: 0, logit_bias: ban,
        stream: true, logprobs: true, stream_options: { include_usage: true } });
      let first = 0, firstTokens = 0, text = '', usage = null;
      for await (const c of s) {
        const d = c.choices?.[0]?.delta?.content;
        if (d && !first) { first = performance.now() - t0; firstTokens = c.choices[0].logprobs?.content?.length ?? 0; }
        if (d) text += d;
        if (c.usage) usage = c.usage;
      }
      msgs.push({ role: 'assistant', content: text });
      const prefilled = usage.prompt_tokens - (usage.prompt_tokens_details?.cached_tokens ?? 0);
      (ttfts[t - 1] ??= []).push(first);
      console.log(JSON.stringify({ chat: k, turn: t, ttft: +first.toFixed(1), firstTokens, prompt: usage.prompt_tokens, prefilled }));
    }
  }
  const med = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const m = ttfts.map(med);
  console.log(`median TTFT per turn (ms): ${m.map((x) => x.toFixed(1)).join(' ')}; turn ${m.length} / turn 1 = ${(m[m.length - 1] / m[0]).toFixed(2)}`);
} finally {
  srv.kill();
}
