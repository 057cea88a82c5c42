// Drives the gateway with the official OpenAI client, the way a user's code would. Exits non-zero on the first
// failed check. Environment: OPENAI_BASE_URL (ending in /v1), OPENAI_API_KEY, AFD_MODEL.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const baseURL = process.env.OPENAI_BASE_URL;
const model = process.env.AFD_MODEL;
const client = new OpenAI({ baseURL, apiKey: process.env.OPENAI_API_KEY, maxRetries: 0 });
// Greedy, and a fixed length: eos ignored (a vLLM extension the client passes through in the body).
const fixed = { temperature: 0, ignore_eos: true };

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

await check('models.list names the served model', async () => {
  const models = await client.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, model);
});

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello in three languages: hello, hallo, привет 🙂' },
];
let chatText;

await check('chat.completions.create', async () => {
  const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, ...fixed });
  assert.match(chat.id, /^chatcmpl-/);
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.model, model);
  assert.equal(chat.choices.length, 1);
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(chat.choices[0].finish_reason, 'length');
  assert.equal(chat.usage.completion_tokens, 12);
  assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + 12);
  chatText = chat.choices[0].message.content;
  assert.equal(typeof chatText, 'string');
});

await check('chat.completions.create streaming, with usage', async () => {
  const stream = await client.chat.completions.create({
    model, messages, max_completion_tokens: 12, stream: true, stream_options: { include_usage: true }, ...fixed,
  });
  let text = '';
  let role;
  let finish;
  let usage;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, chatText);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 12);
});

await check('chat.completions.stream helper', async () => {
  const runner = client.chat.completions.stream({ model, messages, max_tokens: 12, ...fixed });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, chatText);
});

await check('completions.create, whole and streamed, agree', async () => {
  const whole = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 10, ...fixed });
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 10);
  const stream = await client.completions.create({
    model, prompt: 'Once upon a time', max_tokens: 10, stream: true, ...fixed,
  });
  let text = '';
  for await (const chunk of stream) {
    for (const c of chunk.choices) text += c.text;
  }
  assert.equal(text, whole.choices[0].text);
});

await check('completions with several prompts and n', async () => {
  const r = await client.completions.create({
    model, prompt: ['one', 'two'], n: 2, max_tokens: 3, temperature: 0.8, seed: 1, ignore_eos: true,
  });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(r.usage.completion_tokens, 12);
});

await check('completions echo with logprobs scores the prompt, as vLLM does', async () => {
  const r = await client.completions.create({
    model, prompt: [3, 1, 4, 1, 5], max_tokens: 4, logprobs: 2, echo: true, ...fixed,
  });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5 + 4);
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.top_logprobs[0], null);
  for (const v of lp.token_logprobs.slice(1)) assert.ok(v <= 0);
  assert.equal(lp.text_offset.length, 9);
});

await check('logit_bias forces a token; allowed_token_ids bounds them', async () => {
  const forced = await client.completions.create({
    model, prompt: 'x', max_tokens: 4, logit_bias: { 42: 100 }, logprobs: 0, ...fixed,
  });
  assert.equal(new Set(forced.choices[0].logprobs.tokens).size, 1);
  const bounded = await client.chat.completions.create({
    model, messages, max_tokens: 8, temperature: 1, seed: 5, ignore_eos: true, allowed_token_ids: [40, 41],
    logprobs: true,
  });
  assert.ok(new Set(bounded.choices[0].logprobs.content.map((t) => t.token)).size <= 2);
});

await check('an unknown model is a NotFoundError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /does not exist/.test(e.message),
  );
});

await check('an out-of-range value is a BadRequestError naming it', async () => {
  await assert.rejects(
    client.completions.create({ model, prompt: 'x', temperature: -1 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature',
  );
});

await check('a too-long request is a BadRequestError stating the limit', async () => {
  await assert.rejects(
    client.completions.create({ model, prompt: 'x', max_tokens: 1_000_000 }),
    (e) => e instanceof OpenAI.BadRequestError && /maximum context length/.test(e.message),
  );
});

await check('a wrong API key is an AuthenticationError', async () => {
  const wrong = new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

console.log('all checks passed');
