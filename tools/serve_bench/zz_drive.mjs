import OpenAI from '../client/node_modules/openai/index.mjs';
import { setTimeout as sleep } from 'node:timers/promises';
const url = process.argv[2], secs = Number(process.argv[3]), clients = 16;
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 3_600_000 });
const words = 'river mountain copper violet engine harbor lantern meadow silver thunder garden pocket window candle forest marble orbit saddle velvet canyon ember glacier hollow island jasmine kettle lemon mirror needle oyster pepper quartz ribbon shadow timber umbrella valley walnut yarrow zephyr'.split(' ');
function text(seed, n) { const w = []; for (let k = 0; k < n; k++) w.push(words[(seed * 7 + k * 13) % words.length]); return w.join(' '); }
let ok = 0, lim = 0, fail = 0;
async function one(c, i, convo) {
  const fresh = convo.length === 0 || convo.length > 4 || i % 3 === 0;
  if (fresh) convo.length = 0;
  convo.push({ role: 'user', content: `Client ${c} request ${i}: ${text(c * 1000 + i, 5 + ((c * 31 + i * 17) % 120))}` });
  const maxTokens = 8 + ((c * 13 + i * 29) % 89);
  const abort = (c + i) % 7 === 0; const ac = new AbortController();
  let first = 0, answer = '';
  try {
    const s = await client.chat.completions.create({ model: '', messages: convo, max_tokens: maxTokens, temperature: 0.8, seed: c * 100000 + i, stream: true, stream_options: { include_usage: true } }, { signal: ac.signal });
    for await (const ch of s) { const d = ch.choices?.[0]?.delta?.content; if (d) { first = 1; answer += d; } if (abort && first) { ac.abort(); break; } }
    if (abort) { convo.length = 0; return; }
    convo.push({ role: 'assistant', content: answer }); ok++;
  } catch (e) { convo.length = 0; if (e.status === 429) { lim++; await sleep(100); return; } if (!(abort)) fail++; }
}
const end = performance.now() + secs * 1000;
await Promise.all(Array.from({ length: clients }, async (_, c) => { const convo = []; for (let i = 2; performance.now() < end; i++) await one(c, i, convo); }));
console.log(`ok ${ok} 429 ${lim} failed ${fail}`);
