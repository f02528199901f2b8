// kestrel serve against the official `openai` npm package.
//
//   node tests/js/openai_client.mjs http://127.0.0.1:PORT/v1 API_KEY
//
// Driven by tests/unit/server/test_server_js_clients.cpp, whose server
// forces the model to answer a prompt mentioning the weather with a Hermes
// tool call of get_weather({"city": "Paris"}). Prints each check; exits 0
// when all pass, else 1 (after printing what failed).
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error('usage: node openai_client.mjs BASE_URL API_KEY');
  process.exit(2);
}

const client = new OpenAI({baseURL, apiKey, maxRetries: 0, timeout: 30_000});
const failures = [];
let model = '';

function check(cond, what, detail) {
  if (!cond) failures.push(detail === undefined ? what : `${what}: ${JSON.stringify(detail)}`);
  return cond;
}

async function step(name, fn) {
  const before = failures.length;
  try {
    await fn();
  } catch (e) {
    failures.push(`${name}: threw ${e && e.constructor ? e.constructor.name : ''} ${e && e.message}`);
  }
  console.log(`${failures.length === before ? 'ok  ' : 'FAIL'} ${name}`);
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {type: 'object', properties: {city: {type: 'string'}}, required: ['city']},
  },
};
const plainMessages = [{role: 'user', content: 'Say hello in three words.'}];
const toolMessages = [{role: 'user', content: 'What is the weather in Paris?'}];

function checkToolCall(where, finishReason, calls) {
  const before = failures.length;
  checkToolCallFields(where, finishReason, calls);
  return failures.length === before;
}

function checkToolCallFields(where, finishReason, calls) {
  check(finishReason === 'tool_calls', `${where}: finish_reason`, finishReason);
  if (!check(Array.isArray(calls) && calls.length === 1, `${where}: one tool call`, calls)) return;
  const c = calls[0];
  check(typeof c.id === 'string' && c.id.length > 0, `${where}: tool call id`, c.id);
  check(c.type === 'function', `${where}: tool call type`, c.type);
  check(c.function && c.function.name === 'get_weather', `${where}: function name`, c.function);
  let args = null;
  try {
    args = JSON.parse(c.function.arguments);
  } catch (e) {
    check(false, `${where}: arguments are JSON`, c.function.arguments);
    return;
  }
  check(args && args.city === 'Paris', `${where}: arguments.city`, args);
}

let plainText = null;

await step('models.list', async () => {
  const page = await client.models.list();
  const data = page.data;
  if (!check(Array.isArray(data) && data.length > 0, 'models.list: data is a non-empty array', data)) return;
  check(typeof data[0].id === 'string' && data[0].id.length > 0, 'models.list: data[0].id', data[0].id);
  check(data[0].object === 'model', 'models.list: data[0].object', data[0].object);
  model = data[0].id;
});

await step('chat.completions.create', async () => {
  const r = await client.chat.completions.create({model, messages: plainMessages, max_tokens: 12, temperature: 0});
  check(r.object === 'chat.completion', 'chat: object', r.object);
  check(typeof r.id === 'string', 'chat: id', r.id);
  const c = r.choices && r.choices[0];
  if (!check(c, 'chat: choices[0]', r.choices)) return;
  check(c.message.role === 'assistant', 'chat: message.role', c.message.role);
  check(typeof c.message.content === 'string', 'chat: message.content is a string', c.message.content);
  check(['stop', 'length'].includes(c.finish_reason), 'chat: finish_reason', c.finish_reason);
  check(r.usage && r.usage.prompt_tokens > 0, 'chat: usage.prompt_tokens', r.usage);
  check(r.usage && r.usage.completion_tokens > 0, 'chat: usage.completion_tokens', r.usage);
  check(r.usage && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, 'chat: usage.total_tokens', r.usage);
  plainText = c.message.content;
});

await step('chat.completions.create stream', async () => {
  const stream = await client.chat.completions.create({
    model, messages: plainMessages, max_tokens: 12, temperature: 0, stream: true, stream_options: {include_usage: true},
  });
  let text = '', usage = null, finish = null, chunks = 0, role = null;
  for await (const chunk of stream) {
    chunks++;
    check(chunk.object === 'chat.completion.chunk', 'stream: chunk.object', chunk.object);
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      if (ch.delta.role) role = ch.delta.role;
      if (ch.delta.content) text += ch.delta.content;
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  check(chunks > 1, 'stream: several chunks', chunks);
  check(role === 'assistant', 'stream: delta.role', role);
  check(['stop', 'length'].includes(finish), 'stream: finish_reason', finish);
  check(plainText !== null && text === plainText, 'stream: text equals the non-streamed text', {stream: text, plain: plainText});
  check(usage && usage.prompt_tokens > 0 && usage.completion_tokens > 0, 'stream: final usage chunk', usage);
});

await step('chat.completions.create tools', async () => {
  const r = await client.chat.completions.create({model, messages: toolMessages, tools: [weatherTool], temperature: 0});
  const c = r.choices && r.choices[0];
  if (!check(c, 'tools: choices[0]', r.choices)) return;
  check(c.message.role === 'assistant', 'tools: message.role', c.message.role);
  if (!checkToolCall('tools', c.finish_reason, c.message.tool_calls)) failures.push(`tools: the message was ${JSON.stringify(c.message)}`);
});

await step('chat.completions.create tools stream', async () => {
  const stream = await client.chat.completions.create({
    model, messages: toolMessages, tools: [weatherTool], temperature: 0, stream: true,
  });
  const calls = [];
  let finish = null, content = '';
  for await (const chunk of stream) {
    for (const ch of chunk.choices) {
      if (ch.finish_reason) finish = ch.finish_reason;
      if (ch.delta.content) content += ch.delta.content;
      for (const d of ch.delta.tool_calls || []) {
        const c = calls[d.index] || (calls[d.index] = {id: '', type: '', function: {name: '', arguments: ''}});
        if (d.id) c.id += d.id;
        if (d.type) c.type = d.type;
        if (d.function && d.function.name) c.function.name += d.function.name;
        if (d.function && d.function.arguments) c.function.arguments += d.function.arguments;
      }
    }
  }
  if (!checkToolCall('tools stream', finish, calls)) failures.push(`tools stream: the content was ${JSON.stringify(content)}`);
});

await step('completions.create', async () => {
  const r = await client.completions.create({model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0});
  check(r.object === 'text_completion', 'completions: object', r.object);
  const c = r.choices && r.choices[0];
  if (!check(c, 'completions: choices[0]', r.choices)) return;
  check(typeof c.text === 'string', 'completions: text is a string', c.text);
  check(['stop', 'length'].includes(c.finish_reason), 'completions: finish_reason', c.finish_reason);
  check(r.usage && r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0, 'completions: usage', r.usage);
});

await step('wrong API key', async () => {
  const bad = new OpenAI({baseURL, apiKey: apiKey + '-wrong', maxRetries: 0, timeout: 30_000});
  try {
    await bad.models.list();
    check(false, 'wrong key: models.list succeeded');
  } catch (e) {
    check(e instanceof OpenAI.AuthenticationError, 'wrong key: AuthenticationError', e && e.constructor && e.constructor.name);
    check(e.status === 401, 'wrong key: status', e.status);
  }
  try {
    await bad.chat.completions.create({model, messages: plainMessages, max_tokens: 4});
    check(false, 'wrong key: chat.completions.create succeeded');
  } catch (e) {
    check(e instanceof OpenAI.AuthenticationError && e.status === 401, 'wrong key (chat): AuthenticationError 401',
          {name: e && e.constructor && e.constructor.name, status: e.status});
  }
});

if (failures.length) {
  console.log(`\n${failures.length} check(s) failed:`);
  for (const f of failures) console.log('  - ' + f);
  process.exit(1);
}
console.log('all checks passed');
