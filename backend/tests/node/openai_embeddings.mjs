// The official `openai` Node client's embeddings.create against a running Atelier (run by pytest:
// backend/tests/openai/test_embeddings_clients.py). Prints one JSON line: the vectors and errors.
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: process.env.ATELIER_URL, apiKey: 'unused', maxRetries: 0 });

// Default encoding: the client asks for base64 and decodes it to numbers itself.
const texts = await client.embeddings.create({ model: 'tiny-embed', input: ['a dog on a beach', 'a red car'] });
const floats = await client.embeddings.create({ model: 'tiny-embed', input: 'a dog on a beach', encoding_format: 'float' });
// Atelier's extension: an image data URL as an input item.
const image = await client.embeddings.create({ model: 'tiny-embed', input: [process.env.IMAGE_URL] });

const errors = {};
for (const [name, body] of Object.entries({
  empty: { model: 'tiny-embed', input: [] },
  not_embeddings: { model: 'tiny-vlm', input: 'x' },
  unknown: { model: 'no-such-model', input: 'x' },
})) {
  try {
    await client.embeddings.create(body);
    errors[name] = null;
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    errors[name] = { status: err.status, param: err.param, code: err.code };
  }
}

console.log(JSON.stringify({
  texts: { object: texts.object, model: texts.model, usage: texts.usage, data: texts.data.map((d) => ({ index: d.index, embedding: d.embedding })) },
  floats: floats.data[0].embedding,
  image: image.data[0].embedding,
  errors,
}));
