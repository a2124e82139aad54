import { afterEach, describe, expect, it, vi } from 'vitest';

const reads: string[][] = [];
vi.mock('./records', () => ({
  getThumbs: async (ids: string[]) => {
    reads.push([...ids]);
    return ids.map((id) => new Blob([id], { type: 'image/webp' }));
  },
}));

const { acquireThumbUrl, forgetThumbs, MAX_CELL_RATE, noteCellRate } = await import('./thumb-urls');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  reads.length = 0;
});

describe('thumbnail URLs', () => {
  it('reads every thumbnail asked for in one frame with one read', async () => {
    const got: (string | null)[] = [];
    const releases = ['a1', 'a2', 'a3'].map((id) => acquireThumbUrl(id, (u) => got.push(u)));
    await sleep(60);
    expect(reads).toEqual([['a1', 'a2', 'a3']]);
    expect(got.every((u) => typeof u === 'string' && u.startsWith('blob:'))).toBe(true);
    releases.forEach((r) => r());
    forgetThumbs(['a1', 'a2', 'a3']);
  });

  it('skips the read of a cell that left before its frame', async () => {
    const onUrl = vi.fn();
    acquireThumbUrl('b1', onUrl)();
    const keep = acquireThumbUrl('b2', () => undefined);
    await sleep(60);
    expect(reads).toEqual([['b2']]);
    expect(onUrl).not.toHaveBeenCalled();
    keep();
    forgetThumbs(['b2']);
  });

  it('holds reads while cells fly past faster than they can be drawn, then reads what stayed', async () => {
    const flying = acquireThumbUrl('c1', () => undefined);
    const stays = vi.fn();
    acquireThumbUrl('c2', stays);
    const until = performance.now() + 200;
    while (performance.now() < until) {
      noteCellRate(MAX_CELL_RATE * 3);
      await sleep(20);
      expect(reads).toEqual([]);
    }
    flying();
    noteCellRate(MAX_CELL_RATE / 2); // slow enough: no hold
    await sleep(200);
    expect(reads).toEqual([['c2']]);
    expect(stays).toHaveBeenCalledWith(expect.stringMatching(/^blob:/));
    forgetThumbs(['c2']);
  });
});
