import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { hashBlobs } from './hash-blobs';

describe('hashBlobs', () => {
  it('gives each blob its SHA-256, in order', async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7), new Uint8Array(0)];
    const hashes = await hashBlobs(parts.map((p) => new Blob([p])));
    expect(hashes).toEqual(parts.map((p) => createHash('sha256').update(p).digest('hex')));
    expect(await hashBlobs([])).toEqual([]);
  });

  afterEach(() => vi.unstubAllGlobals());

  it('hashes on this thread when the worker cannot start or fails', async () => {
    const data = new Uint8Array([9, 8, 7]);
    const want = createHash('sha256').update(data).digest('hex');
    vi.stubGlobal('Worker', class {
      onerror: ((e: { message: string }) => void) | null = null;
      postMessage() {
        setTimeout(() => this.onerror?.({ message: 'blocked' }));
      }
      terminate() {}
    });
    expect(await hashBlobs([new Blob([data])])).toEqual([want]);
    vi.stubGlobal('Worker', class {
      constructor() {
        throw new Error('refused by the content security policy');
      }
    });
    expect(await hashBlobs([new Blob([data])])).toEqual([want]);
  });
});
