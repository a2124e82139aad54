import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { hashBlobs } from './hash-blobs';

describe('hashBlobs', () => {
  it('gives each blob its SHA-256, in order', async () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7), new Uint8Array(0)];
    const hashes = await hashBlobs(parts.map((p) => new Blob([p])));
    expect(hashes).toEqual(parts.map((p) => createHash('sha256').update(p).digest('hex')));
    expect(await hashBlobs([])).toEqual([]);
  });
});
