import { api } from '../client';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../types';

/**
 * POST /v1/embeddings (OpenAI's wire format): text, or images as data URLs (Atelier's extension),
 * one vector per input in the order given. Asks for base64 (a quarter of the bytes of JSON floats)
 * and decodes it; a server that answers with float arrays is read as well.
 */
export async function createEmbeddings(body: Omit<EmbeddingsRequest, 'encoding_format'>, signal?: AbortSignal): Promise<{ model: string; vectors: Float32Array[] }> {
  const { data } = await api.post<EmbeddingsResponse>('/v1/embeddings', { ...body, encoding_format: 'base64' } satisfies EmbeddingsRequest, { signal });
  const n = Array.isArray(body.input) ? body.input.length : 1;
  const vectors: Float32Array[] = new Array<Float32Array>(n);
  for (const item of data.data) vectors[item.index] = typeof item.embedding === 'string' ? decodeFloat32(item.embedding) : Float32Array.from(item.embedding);
  for (let i = 0; i < n; i++) if (!vectors[i]) throw new Error(`the embeddings response has no vector for input ${i}`);
  return { model: data.model, vectors };
}

/** OpenAI's base64 encoding: the little-endian float32 bytes of the vector. */
export function decodeFloat32(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  if (bytes.length % 4) throw new Error(`a base64 embedding of ${bytes.length} bytes is not float32`);
  // every browser we run in is little-endian: the bytes are the vector as they are
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
