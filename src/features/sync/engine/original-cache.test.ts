import { describe, expect, it } from 'vitest';
import { createStore, keys, set, setMany } from 'idb-keyval';
import type { Stores } from '@/lib/db/stores';
import { chooseEvictions, evictOriginals, touchOriginal } from './original-cache';
import { markChanged } from './outbox';

describe('originals kept within the quota', () => {
  it('removes the least recently opened first, then the oldest, until enough is freed', () => {
    const e = (id: string, lastUsed: number, addedAt: number) => ({ id, bytes: 10, lastUsed, addedAt });
    expect(chooseEvictions([e('opened', 500, 1), e('old', 0, 1), e('new', 0, 9), e('recent', 900, 1)], 25)).toEqual(['old', 'new', 'opened']);
    expect(chooseEvictions([e('a', 0, 0)], 0)).toEqual([]);
  });

  it('never removes an original the server does not have yet', async () => {
    const stores: Stores = { meta: createStore('oc-meta', 'meta'), thumbs: createStore('oc-thumbs', 'thumbs'), originals: createStore('oc-orig', 'originals') };
    await setMany([['up', new Blob(['x'.repeat(100)])], ['pending', new Blob(['y'.repeat(100)])]], stores.originals);
    await set('up', { id: 'up', addedAt: 1 }, stores.meta);
    await set('pending', { id: 'pending', addedAt: 0 }, stores.meta);
    await markChanged(['pending']);
    touchOriginal('up');
    // storage at 90% of the quota: everything that may go, goes
    const removed = await evictOriginals(stores, async () => ({ usage: 900, quota: 1000 }));
    expect(removed).toBe(1);
    expect(await keys(stores.originals)).toEqual(['pending']);
    expect(await evictOriginals(stores, async () => ({ usage: 500, quota: 1000 }))).toBe(0);
  });
});
