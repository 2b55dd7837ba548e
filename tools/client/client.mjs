// Drives `zerfoo serve` with the official openai npm client: listing,
// chat and text completions (plain and streamed), the error statuses, an
// aborted stream, and 429s under concurrent load. Exits non-zero on the
// first failed check.
//
//   ZERFOO_URL=http://127.0.0.1:8080/v1 ZERFOO_API_KEY=KEY ZERFOO_MODEL=id node client.mjs
//
// The server must run with --api-key KEY, --max-queue 0 and a --ctx-size
// small enough that a 4000-word prompt overflows it.
import OpenAI from 'openai';

const baseURL = process.env.ZERFOO_URL ?? 'http://127.0.0.1:8080/v1';
const apiKey = process.env.ZERFOO_API_KEY ?? 'none';
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

let failed = false;
async function check(name, fn) {
  try {
    const note = await fn();
    console.log(`ok   ${name}${note ? ` (${note})` : ''}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
async function expectStatus(status, cls, fn) {
  try {
    await fn();
  } catch (e) {
    assert(e instanceof cls, `got ${e?.constructor?.name} ${e?.message}, want ${cls.name}`);
    assert(e.status === status, `got status ${e.status}, want ${status}`);
    assert(typeof e.error?.message === 'string' && e.error.message.length > 0, `error body lacks a message: ${JSON.stringify(e.error)}`);
    return `${e.status} ${e.code ?? e.type}`;
  }
  throw new Error(`got success, want ${status}`);
}
function checkUsage(u, what) {
  assert(u && Number.isInteger(u.prompt_tokens) && u.prompt_tokens > 0, `${what}: bad usage ${JSON.stringify(u)}`);
  assert(u.total_tokens === u.prompt_tokens + u.completion_tokens, `${what}: total_tokens ≠ prompt + completion: ${JSON.stringify(u)}`);
}

const models = await client.models.list();
const model = process.env.ZERFOO_MODEL ?? models.data[0]?.id;
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Why is the sky blue?' },
];

await check('models.list / retrieve', async () => {
  assert(models.data.some((m) => m.id === model), `model ${model} not in ${JSON.stringify(models.data)}`);
  const m = await client.models.retrieve(model);
  assert(m.id === model && m.object === 'model', `retrieve: ${JSON.stringify(m)}`);
  return model;
});

let plain;
await check('chat.completions.create', async () => {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  assert(r.object === 'chat.completion' && r.choices.length === 1, JSON.stringify(r));
  const c = r.choices[0];
  assert(c.message.role === 'assistant' && typeof c.message.content === 'string', JSON.stringify(c));
  assert(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
  checkUsage(r.usage, 'chat');
  assert(r.usage.completion_tokens <= 12, `completion_tokens ${r.usage.completion_tokens} > max_tokens`);
  plain = c.message.content;
  return `${r.usage.prompt_tokens}+${r.usage.completion_tokens} tokens`;
});

await check('chat.completions.create stream', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert(chunk.object === 'chat.completion.chunk', JSON.stringify(chunk));
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  assert(text === plain, `streamed ${JSON.stringify(text)}, plain ${JSON.stringify(plain)} (greedy: want equal)`);
  assert(['stop', 'length'].includes(finish), `finish_reason ${finish}`);
  checkUsage(usage, 'stream');
  return `${chunks} chunks`;
});

await check('chat seed reproducible, stop respected', async () => {
  const args = { model, messages, max_tokens: 16, temperature: 1, seed: 1234 };
  const a = await client.chat.completions.create(args);
  const b = await client.chat.completions.create(args);
  assert(a.choices[0].message.content === b.choices[0].message.content, 'same seed, different text');
  const text = a.choices[0].message.content;
  const mid = [...text].slice(4, 6).join('');
  if (mid.length === 0) return 'answer too short for a stop check';
  const s = await client.chat.completions.create({ ...args, stop: [mid] });
  const want = text.slice(0, text.indexOf(mid));
  assert(s.choices[0].message.content === want && s.choices[0].finish_reason === 'stop',
    `stop ${JSON.stringify(mid)}: got ${JSON.stringify(s.choices[0].message.content)} ${s.choices[0].finish_reason}, want ${JSON.stringify(want)} stop`);
});

await check('completions.create, plain and stream', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  assert(r.object === 'text_completion', JSON.stringify(r));
  checkUsage(r.usage, 'completion');
  const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert(text === r.choices[0].text, `streamed ${JSON.stringify(text)}, plain ${JSON.stringify(r.choices[0].text)}`);
});

await check('401 wrong key', () =>
  expectStatus(401, OpenAI.AuthenticationError, () =>
    new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).chat.completions.create({ model, messages })));
await check('404 unknown model', () =>
  expectStatus(404, OpenAI.NotFoundError, () => client.chat.completions.create({ model: 'gpt-4o', messages })));
await check('404 models.retrieve', () => expectStatus(404, OpenAI.NotFoundError, () => client.models.retrieve('nope')));
await check('400 negative max_tokens', () =>
  expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages, max_tokens: -1 })));
await check('400 bad temperature', () =>
  expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages, temperature: 7 })));
await check('400 bad messages', () =>
  expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages: [] })));
await check('413 prompt past the context', () =>
  expectStatus(413, OpenAI.APIError, () =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'word '.repeat(4000) }] })));

await check('abort mid-stream frees the slot', async () => {
  const ac = new AbortController();
  const stream = await client.chat.completions.create(
    { model, messages, max_tokens: 100, temperature: 0, stream: true }, { signal: ac.signal });
  try {
    for await (const _ of stream) {
      ac.abort();
    }
  } catch (e) {
    assert(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', `abort: got ${e}`);
  }
  // Every slot must be free again: as many concurrent requests as slots all succeed.
  const health = await (await fetch(baseURL.replace(/\/v1$/, '') + '/health')).json();
  const slots = health.slots;
  for (let i = 0; i < 50; i++) {
    const h = await (await fetch(baseURL.replace(/\/v1$/, '') + '/health')).json();
    if (h.slots_busy === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const rs = await Promise.all(Array.from({ length: slots }, () =>
    client.chat.completions.create({ model, messages, max_tokens: 4, temperature: 0 })));
  assert(rs.length === slots, 'a request failed');
  return `${slots} slots free`;
});

await check('429 when every slot is busy (--max-queue 0)', async () => {
  const n = 8;
  const results = await Promise.allSettled(Array.from({ length: n }, () =>
    client.chat.completions.create({ model, messages, max_tokens: 60, temperature: 0, stream: true })
      .then(async (s) => { for await (const _ of s); })));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const limited = results.filter((r) => r.status === 'rejected' && r.reason instanceof OpenAI.RateLimitError).length;
  assert(ok + limited === n, `unexpected failures: ${results.filter((r) => r.status === 'rejected' && !(r.reason instanceof OpenAI.RateLimitError)).map((r) => r.reason)}`);
  assert(ok >= 1 && limited >= 1, `got ${ok} ok and ${limited} 429, want some of each`);
  return `${ok} ok, ${limited} × 429`;
});

if (failed) {
  console.log('client: FAILED');
  process.exit(1);
}
console.log('client: all checks passed');
