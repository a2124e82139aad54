// The official `openai` Node client against a running Atelier (run by pytest:
// backend/tests/openai/test_openai_clients.py). Prints one JSON line of shapes and counts.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.ATELIER_URL, apiKey: 'unused', maxRetries: 0 });
const messages = [{
  role: 'user',
  content: [
    { type: 'text', text: 'What is in this image?' },
    { type: 'image_url', image_url: { url: process.env.IMAGE_URL } },
  ],
}];

const completion = await client.chat.completions.create({
  model: 'tiny-vlm', messages, max_tokens: 5, min_tokens: 5,
});

const stream = await client.chat.completions.create({
  model: 'tiny-vlm', messages, max_tokens: 5, min_tokens: 5, stream: true,
  stream_options: { include_usage: true },
});
let chunks = 0;
let firstRole = null;
const finishReasons = [];
let usage = null;
for await (const chunk of stream) {
  chunks += 1;
  if (typeof chunk !== 'object' || chunk.object !== 'chat.completion.chunk') {
    throw new Error(`unexpected stream item: ${JSON.stringify(chunk)}`);
  }
  const choice = chunk.choices[0];
  if (choice && firstRole === null) firstRole = choice.delta.role ?? null;
  if (choice?.finish_reason) finishReasons.push(choice.finish_reason);
  if (chunk.usage) usage = chunk.usage;
}

const models = [];
for await (const m of client.models.list()) models.push(m.id);

let notFound = null;
try {
  await client.chat.completions.create({ model: 'no-such-model', messages });
} catch (err) {
  if (!(err instanceof OpenAI.NotFoundError)) throw err;
  notFound = { status: err.status, code: err.code };
}

console.log(JSON.stringify({
  completion: {
    object: completion.object,
    content_type: typeof completion.choices[0].message.content,
    prompt_tokens: completion.usage.prompt_tokens,
    completion_tokens: completion.usage.completion_tokens,
    total_tokens: completion.usage.total_tokens,
  },
  stream: {
    chunks, first_role: firstRole, finish_reasons: finishReasons,
    usage_completion_tokens: usage?.completion_tokens ?? null,
  },
  models,
  not_found: notFound,
}));
