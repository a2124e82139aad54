import { beforeEach, describe, expect, it } from 'vitest';
import { useFakeBackend, type FakeBackend } from '@/test/fake-backend';
import { createEmbeddings, settings } from '@/lib/api';
import { embeddingModel, pickEmbeddingModel } from '@/lib/vectors/embedding-model';
import { decodeFloat32 } from './endpoints/create-embeddings';

const fake = useFakeBackend();
let backend: FakeBackend;
beforeEach(() => {
  backend = fake();
  backend.embeddingCalls = [];
  backend.embeddingModels = [];
  backend.embeddingsAsFloats = false;
});

describe('POST /v1/embeddings', () => {
  it('sends text and image data URLs in one call and returns one vector each, in input order', async () => {
    backend.embeddingModels = [{ id: 'siglip2-base', downloaded: true }];
    backend.embed = (x) => [x.length, 1, 2];
    const img = 'data:image/webp;base64,UklGRg==';
    const { model, vectors } = await createEmbeddings({ model: 'siglip2-base', input: ['a dog', img] });
    expect(model).toBe('siglip2-base');
    expect(vectors.map((v) => [...v])).toEqual([[5, 1, 2], [img.length, 1, 2]]);
    expect(backend.embeddingCalls).toEqual([{ model: 'siglip2-base', input: ['a dog', img], encoding_format: 'base64' }]);
  });

  it('reads float arrays from a server that ignores encoding_format', async () => {
    backend.embeddingModels = [{ id: 'e', downloaded: true }];
    backend.embeddingsAsFloats = true;
    backend.embed = () => [0.5, -0.25];
    const { vectors } = await createEmbeddings({ model: 'e', input: 'one' });
    expect([...vectors[0]!]).toEqual([0.5, -0.25]);
  });

  it("fails with the backend's message when the model is not downloaded", async () => {
    await expect(createEmbeddings({ model: 'nope', input: 'x' })).rejects.toMatchObject({ message: expect.stringMatching(/not downloaded/) as unknown, status: 404 });
  });

  it('decodes base64 little-endian float32', () => {
    const v = Float32Array.from([1.5, -2, 3.25]);
    expect([...decodeFloat32(Buffer.from(v.buffer).toString('base64'))]).toEqual([1.5, -2, 3.25]);
    expect(() => decodeFloat32('AAA=')).toThrow(/not float32/);
  });
});

describe('the embeddings model', () => {
  it('is a downloaded embeddings model; otherwise the one to download', async () => {
    expect(await embeddingModel({ fresh: true })).toEqual({ state: 'missing', candidate: null });
    backend.embeddingModels = [{ id: 'siglip2-base', downloaded: false, size_bytes: 375_000_000 }];
    expect(await embeddingModel({ fresh: true })).toMatchObject({ state: 'missing', candidate: { id: 'siglip2-base', size_bytes: 375_000_000 } });
    backend.embeddingModels = [{ id: 'siglip2-base', downloaded: true }];
    expect(await embeddingModel({ fresh: true })).toEqual({ state: 'ready', id: 'siglip2-base' });
  });

  it('prefers a loaded model, and says why when the backend cannot be asked', async () => {
    const card = (id: string, extra: object) => ({ id, object: 'model' as const, created: 0, owned_by: 'a', type: 'embeddings' as never, family: 'f', description: '', aliases: [], downloaded: true, loaded: false, size_bytes: null, ...extra });
    expect(pickEmbeddingModel([card('a', {}), card('b', { loaded: true })])).toEqual({ state: 'ready', id: 'b' });
    settings.set({ backendUrl: 'http://127.0.0.1:9' });
    expect((await embeddingModel({ fresh: true })).state).toBe('unknown');
    settings.set({ backendUrl: backend.url });
  });
});
