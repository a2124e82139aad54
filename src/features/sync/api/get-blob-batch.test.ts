import { describe, expect, it } from 'vitest';
import { parseFrames } from './get-blob-batch';

describe('blob batch framing', () => {
  it('reads each blob by its hash line and size, and skips the missing ones', async () => {
    const enc = new TextEncoder();
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const c = 'c'.repeat(64);
    const body = new Uint8Array([...enc.encode(`${a} 3\n`), 1, 10, 3, ...enc.encode(`${b} -1\n`), ...enc.encode(`${c} 0\n`)]);
    const got = parseFrames(body, 'image/webp');
    expect([...got.keys()]).toEqual([a, c]);
    expect([...new Uint8Array(await got.get(a)!.arrayBuffer())]).toEqual([1, 10, 3]);
    expect(got.get(c)!.size).toBe(0);
    expect(got.get(a)!.type).toBe('image/webp');
  });
});
