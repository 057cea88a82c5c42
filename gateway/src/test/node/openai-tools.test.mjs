// Tool calls through the official OpenAI client. Exits non-zero on the first failed check. Environment:
// OPENAI_BASE_URL (the real stack's gateway, ending in /v1, started with --tool-call-parser hermes), OPENAI_API_KEY,
// AFD_MODEL, and SCRIPTED_BASE_URL (a gateway with the hermes parser in front of a scripted node whose "model" writes
// "Let me look." and a hermes call to get_weather: the way to make a random-weight model emit a call without
// constraining 'auto').
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const model = process.env.AFD_MODEL;
const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY, maxRetries: 0 });
const scripted = new OpenAI({ baseURL: process.env.SCRIPTED_BASE_URL, apiKey: 'none', maxRetries: 0 });
const greedy = { temperature: 0, max_tokens: 80 };

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'The weather in a city for the next days',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer' } },
        required: ['city', 'days'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'] },
    },
  },
];
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];

/** Arguments that follow the called tool's schema (the subset these tools use). */
function assertValidCall(call) {
  assert.equal(call.type, 'function');
  assert.match(call.id, /^chatcmpl-tool-[0-9a-f]{32}$/);
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === 'get_weather') {
    assert.deepEqual(Object.keys(args), ['city', 'days']);
    assert.equal(typeof args.city, 'string');
    assert.ok(args.city.length <= 12, `city too long: ${args.city}`);
    assert.ok(Number.isInteger(args.days), `days not an integer: ${args.days}`);
  } else {
    assert.equal(call.function.name, 'get_time');
    assert.deepEqual(Object.keys(args), ['zone']);
    assert.ok(['UTC', 'CET'].includes(args.zone));
  }
}

/** Calls without their random ids. */
const withoutIds = (calls) => calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments }));

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

let required;

await check('tool_choice required returns calls whose arguments follow the schema', async () => {
  const chat = await client.chat.completions.create({ model, messages, tools, tool_choice: 'required', ...greedy });
  const choice = chat.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.ok(choice.message.tool_calls.length >= 1);
  choice.message.tool_calls.forEach(assertValidCall);
  required = choice.message;
});

await check('the stream helper assembles the same required calls from delta.tool_calls', async () => {
  const runner = client.chat.completions.stream({ model, messages, tools, tool_choice: 'required', ...greedy });
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.deepEqual(withoutIds(final.choices[0].message.tool_calls), withoutIds(required.tool_calls));
});

await check('a named function is called with valid arguments, finish_reason stop, streamed alike', async () => {
  const named = { type: 'function', function: { name: 'get_weather' } };
  const chat = await client.chat.completions.create({ model, messages, tools, tool_choice: named, ...greedy });
  const choice = chat.choices[0];
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
  assertValidCall(choice.message.tool_calls[0]);
  const final = await client.chat.completions.stream({ model, messages, tools, tool_choice: named, ...greedy })
    .finalChatCompletion();
  assert.deepEqual(withoutIds(final.choices[0].message.tool_calls), withoutIds(choice.message.tool_calls));
});

await check('a multi-turn exchange with the calls and their results renders and answers', async () => {
  const results = required.tool_calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: '{"temp": 21}' }));
  const chat = await client.chat.completions.create({
    model, messages: [...messages, required, ...results], tools, tool_choice: 'none', max_tokens: 8,
    temperature: 0, ignore_eos: true,
  });
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(chat.choices[0].finish_reason, 'length');
  assert.equal(typeof chat.choices[0].message.content, 'string');
  // The calls and results are in the prompt: it is longer than the same conversation without them.
  const bare = await client.chat.completions.create({
    model, messages, tools, tool_choice: 'none', max_tokens: 1, temperature: 0, ignore_eos: true,
  });
  assert.ok(chat.usage.prompt_tokens > bare.usage.prompt_tokens + 10);
});

await check('auto parses the hermes call the model wrote, whole and through the stream helper', async () => {
  const chat = await scripted.chat.completions.create({ model, messages, tools, max_tokens: 60 });
  const choice = chat.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, 'Let me look.\n');
  assert.deepEqual(withoutIds(choice.message.tool_calls), [
    { name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
  ]);
  assertValidCall(choice.message.tool_calls[0]);
  const final = await scripted.chat.completions.stream({ model, messages, tools, max_tokens: 60 })
    .finalChatCompletion();
  assert.equal(final.choices[0].message.content, 'Let me look.\n');
  assert.deepEqual(withoutIds(final.choices[0].message.tool_calls), withoutIds(choice.message.tool_calls));
});

await check('a named function that is not among the tools is a BadRequestError naming tool_choice', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model, messages, tools, tool_choice: { type: 'function', function: { name: 'nope' } },
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'tool_choice',
  );
});

console.log('all checks passed');
