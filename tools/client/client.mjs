// Drives `zerfoo serve` with the official openai npm client: listing,
// chat and text completions (plain and streamed, include_usage), the
// sampling fields (penalties, logit_bias, seed, stop), logprobs,
// response_format json_object and json_schema (each answer parsed and
// checked against the schema), a tool call round trip (plain and
// streamed), embeddings (base64 and float), /tokenize, /detokenize, /props, /slots, the error statuses
// and shapes (unknown field, content type), an aborted stream, and 429s
// under concurrent load. Exits non-zero after the checks if one failed.
//
//   ZERFOO_URL=http://127.0.0.1:8080/v1 ZERFOO_API_KEY=KEY ZERFOO_MODEL=id node client.mjs
//
// The server must run with --api-key KEY, --max-queue 0 and a --ctx-size
// small enough that a 4000-word prompt overflows it, yet large enough for
// the tools' system prompt (about 800 tokens with the tiny test vocabulary).
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

const root = baseURL.replace(/\/v1$/, '');
async function raw(path, body, headers = {}) {
  const r = await fetch(root + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  return { status: r.status, body: await r.json() };
}

await check('sampling fields: penalties, logit_bias, top_k, min_p, repeat_penalty', async () => {
  const base = { model, messages, max_tokens: 8, temperature: 0 };
  const greedy = await client.chat.completions.create(base);
  const pen = await client.chat.completions.create({ ...base, presence_penalty: 1.5, frequency_penalty: 1.5 });
  assert(typeof pen.choices[0].message.content === 'string', JSON.stringify(pen));
  // Banning the greedy answer's first token changes that token.
  const tok = await raw('/tokenize', { content: greedy.choices[0].message.content });
  const first = tok.body.tokens[0];
  if (first === undefined) return 'empty greedy answer: logit_bias not checked';
  const biased = await client.chat.completions.create({ ...base, logit_bias: { [first]: -100 } });
  const btok = await raw('/tokenize', { content: biased.choices[0].message.content });
  assert(btok.body.tokens[0] !== first, `logit_bias -100 on ${first}: still first in ${JSON.stringify(biased.choices[0].message.content)}`);
  const extra = await client.chat.completions.create({ ...base, temperature: 0.8, seed: 3, top_k: 5, min_p: 0.05, repeat_penalty: 1.2 });
  assert(typeof extra.choices[0].message.content === 'string', JSON.stringify(extra));
  return `token ${first} banned`;
});

await check('chat logprobs / top_logprobs, plain and stream', async () => {
  const args = { model, messages, max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 };
  const r = await client.chat.completions.create(args);
  const lp = r.choices[0].logprobs?.content;
  assert(Array.isArray(lp) && lp.length === r.usage.completion_tokens, `logprobs: ${JSON.stringify(r.choices[0].logprobs)}`);
  for (const e of lp) {
    assert(typeof e.token === 'string' && e.logprob <= 0 && e.top_logprobs.length === 3, JSON.stringify(e));
    assert(e.top_logprobs[0].logprob >= e.top_logprobs[2].logprob, `top_logprobs not sorted: ${JSON.stringify(e)}`);
  }
  const stream = await client.chat.completions.create({ ...args, stream: true });
  let n = 0;
  for await (const chunk of stream) for (const c of chunk.choices) n += c.logprobs?.content?.length ?? 0;
  assert(n === lp.length, `streamed ${n} logprob entries, plain ${lp.length}`);
  return `${lp.length} tokens × 3`;
});

await check('completions logprobs, stop, seed, include_usage', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert(lp && lp.tokens.length === r.usage.completion_tokens && lp.top_logprobs.length === lp.tokens.length, JSON.stringify(lp));
  const args = { model, prompt: 'The cat', max_tokens: 12, temperature: 1, seed: 42 };
  const a = await client.completions.create(args);
  const b = await client.completions.create(args);
  assert(a.choices[0].text === b.choices[0].text, 'same seed, different text');
  const stream = await client.completions.create({ ...args, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? '';
    usage = chunk.usage ?? usage;
  }
  assert(text === a.choices[0].text, `seeded stream ${JSON.stringify(text)}, plain ${JSON.stringify(a.choices[0].text)}`);
  checkUsage(usage, 'completion stream');
  const t = a.choices[0].text;
  const mid = [...t].slice(3, 5).join('');
  if (mid.length === 0) return 'answer too short for a stop check';
  const s = await client.completions.create({ ...args, stop: mid });
  assert(s.choices[0].text === t.slice(0, t.indexOf(mid)) && s.choices[0].finish_reason === 'stop', `stop ${JSON.stringify(mid)}: ${JSON.stringify(s.choices[0])}`);
});

// A JSON Schema checker for the keywords the schemas below use.
function valid(schema, v, path = '$') {
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) throw new Error(`${path}: ${JSON.stringify(v)} not in enum`);
  switch (schema.type) {
    case 'object': {
      assert(v !== null && typeof v === 'object' && !Array.isArray(v), `${path}: not an object`);
      for (const k of schema.required ?? []) assert(k in v, `${path}: lacks ${k}`);
      for (const [k, x] of Object.entries(v)) {
        const sub = schema.properties?.[k];
        assert(sub || schema.additionalProperties !== false, `${path}: extra member ${k}`);
        if (sub) valid(sub, x, `${path}.${k}`);
      }
      break;
    }
    case 'array':
      assert(Array.isArray(v), `${path}: not an array`);
      assert(v.length >= (schema.minItems ?? 0) && v.length <= (schema.maxItems ?? Infinity), `${path}: ${v.length} items`);
      v.forEach((x, i) => valid(schema.items, x, `${path}[${i}]`));
      break;
    case 'integer':
      assert(Number.isInteger(v), `${path}: not an integer`);
    // fallthrough
    case 'number':
      assert(typeof v === 'number' && v >= (schema.minimum ?? -Infinity) && v <= (schema.maximum ?? Infinity), `${path}: ${v} out of range`);
      break;
    case 'string':
      assert(typeof v === 'string' && v.length >= (schema.minLength ?? 0) && v.length <= (schema.maxLength ?? Infinity), `${path}: bad string ${JSON.stringify(v)}`);
      break;
    case 'boolean':
      assert(typeof v === 'boolean', `${path}: not a boolean`);
      break;
  }
}

const personSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    pets: { type: 'array', items: { enum: ['cat', 'dog', 'fish'] }, maxItems: 3 },
    admin: { type: 'boolean' },
  },
  required: ['name', 'age', 'pets', 'admin'],
  additionalProperties: false,
};

await check('response_format json_object', async () => {
  let parsed = 0;
  for (let seed = 0; seed < 4; seed++) {
    const r = await client.chat.completions.create({ model, messages, max_tokens: 60, temperature: 1, seed, response_format: { type: 'json_object' } });
    const c = r.choices[0];
    if (c.finish_reason === 'length') continue; // cut short by max_tokens
    const v = JSON.parse(c.message.content);
    assert(v !== null && typeof v === 'object' && !Array.isArray(v), `not an object: ${c.message.content}`);
    parsed++;
  }
  assert(parsed > 0, 'every answer hit max_tokens');
  return `${parsed}/4 complete answers parsed`;
});

await check('response_format json_schema: every answer parses and matches', async () => {
  let parsed = 0;
  for (let seed = 0; seed < 6; seed++) {
    const stream = seed % 2 === 1;
    const args = { model, messages, max_tokens: 120, temperature: 1, seed, response_format: { type: 'json_schema', json_schema: { name: 'person', schema: personSchema, strict: true } } };
    let text = '';
    let finish;
    if (stream) {
      for await (const chunk of await client.chat.completions.create({ ...args, stream: true })) {
        for (const c of chunk.choices) {
          text += c.delta?.content ?? '';
          finish = c.finish_reason ?? finish;
        }
      }
    } else {
      const r = await client.chat.completions.create(args);
      text = r.choices[0].message.content;
      finish = r.choices[0].finish_reason;
    }
    if (finish === 'length') continue;
    valid(personSchema, JSON.parse(text));
    parsed++;
  }
  assert(parsed >= 3, `only ${parsed}/6 answers complete`);
  return `${parsed}/6 answers valid`;
});

await check('400 response_format bad schema', () =>
  expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({
    model, messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } } } },
  })));

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { enum: ['Paris', 'Oslo', 'Lima'] }, unit: { enum: ['C', 'F'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const timeTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: {}, additionalProperties: false } },
};

await check('tools: a call round trip (tool_calls → tool result → answer)', async () => {
  const user = { role: 'user', content: 'What is the weather in Paris?' };
  const tools = [weatherTool, timeTool];
  let r;
  for (let seed = 0; seed < 6; seed++) {
    r = await client.chat.completions.create({ model, messages: [user], tools, tool_choice: 'required', max_tokens: 200, temperature: 1, seed });
    if (r.choices[0].finish_reason !== 'length') break;
  }
  const c = r.choices[0];
  assert(c.finish_reason === 'tool_calls' && c.message.content === null && c.message.tool_calls?.length >= 1, JSON.stringify(c));
  const call = c.message.tool_calls[0];
  assert(call.type === 'function' && typeof call.id === 'string' && call.id.length > 0, JSON.stringify(call));
  const tool = tools.find((t) => t.function.name === call.function.name);
  assert(tool, `called ${call.function.name}, not offered`);
  valid(tool.function.parameters, JSON.parse(call.function.arguments));
  // Send the call and its result back.
  const turn2 = [user, c.message, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ temperature: 18, sky: 'clear' }) }];
  const r2 = await client.chat.completions.create({ model, messages: turn2, tools, max_tokens: 120, temperature: 1, seed: 1 });
  const c2 = r2.choices[0];
  assert(['stop', 'length', 'tool_calls'].includes(c2.finish_reason), JSON.stringify(c2));
  assert(c2.finish_reason === 'tool_calls' ? c2.message.tool_calls.length > 0 : typeof c2.message.content === 'string', JSON.stringify(c2));
  assert(r2.usage.prompt_tokens > r.usage.prompt_tokens, `turn 2 prompt ${r2.usage.prompt_tokens} ≤ turn 1 ${r.usage.prompt_tokens}`);
  // Named function, streamed: tool_calls deltas (index, id, type, name, arguments), finish_reason tool_calls.
  const stream = await client.chat.completions.create({
    model, messages: [user], tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 200, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  const calls = [];
  let finish;
  let usage;
  for await (const chunk of stream) {
    usage = chunk.usage ?? usage;
    for (const ch of chunk.choices) {
      finish = ch.finish_reason ?? finish;
      for (const d of ch.delta?.tool_calls ?? []) {
        if (!calls[d.index]) calls[d.index] = { id: d.id, type: d.type, name: '', args: '' };
        calls[d.index].name += d.function?.name ?? '';
        calls[d.index].args += d.function?.arguments ?? '';
      }
    }
  }
  checkUsage(usage, 'tool stream');
  if (finish === 'length') return `${call.function.name}(${call.function.arguments}) → ${c2.finish_reason}; the streamed call hit max_tokens`;
  assert(finish === 'tool_calls' && calls.length >= 1 && calls[0].name === 'get_weather' && calls[0].type === 'function' && calls[0].id, `stream: ${finish} ${JSON.stringify(calls)}`);
  valid(weatherTool.function.parameters, JSON.parse(calls[0].args));
  return `${call.function.name}(${call.function.arguments}) → ${c2.finish_reason}; streamed ${calls[0].name}(${calls[0].args})`;
});

await check('tools: auto and none', async () => {
  const r = await client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: 'auto', max_tokens: 120, temperature: 1, seed: 7 });
  const c = r.choices[0];
  assert(c.finish_reason === 'tool_calls' ? c.message.content === null && c.message.tool_calls.length > 0 : typeof c.message.content === 'string', JSON.stringify(c));
  const n = await client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: 'none', max_tokens: 4, temperature: 0 });
  assert(!n.choices[0].message.tool_calls && typeof n.choices[0].message.content === 'string', JSON.stringify(n.choices[0]));
  return `auto → ${c.finish_reason}`;
});

await check('400 bad tools, tool_choice', async () => {
  const a = await expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages, tools: [{ type: 'retrieval' }] }));
  const b = await expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }));
  for (const [body, param] of [[{ messages, tools: [{ type: 'retrieval' }] }, 'tools'], [{ messages, tools: [weatherTool], tool_choice: 'always' }, 'tool_choice']]) {
    const r = await raw('/v1/chat/completions', body);
    assert(r.status === 400 && r.body.error.param === param, `want 400 naming ${param}: ${JSON.stringify(r)}`);
  }
  return `${a}, ${b}`;
});

await check('embeddings.create: base64 (the client default) and float, string and array', async () => {
  const one = await client.embeddings.create({ model, input: 'The sky is blue.' });
  assert(one.object === 'list' && one.data.length === 1 && one.data[0].object === 'embedding' && one.data[0].index === 0, JSON.stringify(one).slice(0, 300));
  const v = one.data[0].embedding;
  assert(Array.isArray(v) && v.length > 0 && v.every(Number.isFinite), `embedding: ${JSON.stringify(v).slice(0, 200)}`);
  const norm = Math.hypot(...v);
  assert(Math.abs(norm - 1) < 1e-4, `embedding norm ${norm}, want 1`);
  assert(one.usage.prompt_tokens > 1 && one.usage.total_tokens === one.usage.prompt_tokens, JSON.stringify(one.usage));
  const many = await client.embeddings.create({ model, input: ['The sky is blue.', 'Grass is green.'], encoding_format: 'float' });
  assert(many.data.length === 2 && many.data[1].index === 1, JSON.stringify(many).slice(0, 300));
  const w = many.data[0].embedding;
  const cos = v.reduce((a, x, i) => a + x * w[i], 0);
  assert(cos > 0.9999, `the same text as base64 and float: cosine ${cos}`);
  const other = many.data[1].embedding.reduce((a, x, i) => a + x * v[i], 0);
  assert(other < 0.9999, `two different texts: cosine ${other}`);
  await expectStatus(400, OpenAI.BadRequestError, () => client.embeddings.create({ model, input: '' }));
  return `${v.length} dims, ${one.usage.prompt_tokens} tokens, cos(other text) ${other.toFixed(3)}`;
});

await check('/tokenize, /detokenize', async () => {
  const t = await raw('/tokenize', { content: 'Hello world', add_special: true });
  assert(t.status === 200 && Array.isArray(t.body.tokens) && t.body.tokens.length > 1, JSON.stringify(t));
  const p = await raw('/tokenize', { content: 'Hello', with_pieces: true });
  assert(p.body.tokens.every((x) => Number.isInteger(x.id) && 'piece' in x), JSON.stringify(p.body));
  const plainTokens = (await raw('/tokenize', { content: 'Hello world' })).body.tokens;
  const d = await raw('/detokenize', { tokens: plainTokens });
  assert(d.status === 200 && d.body.content === 'Hello world', JSON.stringify(d));
  return `${plainTokens.length} tokens`;
});

await check('/props, /slots, /health', async () => {
  const p = await raw('/props');
  assert(p.status === 200 && p.body.default_generation_settings?.n_ctx > 0 && p.body.total_slots >= 1, JSON.stringify(p.body).slice(0, 300));
  const s = await raw('/slots');
  assert(s.status === 200 && Array.isArray(s.body) && s.body.length === p.body.total_slots, JSON.stringify(s.body));
  for (const x of s.body) assert(Number.isInteger(x.id) && ['idle', 'processing'].includes(x.state), JSON.stringify(x));
  const h = await raw('/health');
  assert(h.status === 200, JSON.stringify(h));
  return `${p.body.total_slots} slots, n_ctx ${p.body.default_generation_settings.n_ctx}`;
});

await check('400 unknown field names it', async () => {
  const e = await expectStatus(400, OpenAI.BadRequestError, () => client.chat.completions.create({ model, messages, frobnicate: 1 }));
  const r = await raw('/v1/chat/completions', { messages, frobnicate: 1 });
  assert(r.body.error.param === 'frobnicate' && r.body.error.type === 'invalid_request_error', JSON.stringify(r.body));
  const c = await raw('/v1/completions', { prompt: 'x', logprobs: 1, echo: true });
  assert(c.status === 400 && c.body.error.param === 'echo', JSON.stringify(c.body));
  return e;
});

await check('415 bad content type', async () => {
  const r = await raw('/v1/chat/completions', JSON.stringify({ messages }), { 'Content-Type': 'text/plain' });
  assert(r.status === 415 && typeof r.body.error?.message === 'string', JSON.stringify(r));
  return `${r.status} ${r.body.error.code ?? r.body.error.type}`;
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
