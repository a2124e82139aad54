import { describe, expect, it } from 'vitest';
import { createStore, get, keys, type UseStore } from 'idb-keyval';
import type { ImageRecord } from './schema';
import type { Stores } from './stores';
import { deleteImages, loadAllRecords, putImage, putImages, putRecords, sweepOrphans, updateRecord, updateRecords } from './records';
import { StorageQuotaError, isQuotaError } from './errors';
import { mergeAnalysis } from './analysis';

let n = 0;
function freshStores(): Stores {
  n++;
  return {
    meta: createStore(`t${n}-meta`, 'meta'),
    thumbs: createStore(`t${n}-thumbs`, 'thumbs'),
    originals: createStore(`t${n}-orig`, 'originals'),
  };
}

function quotaFailing(store: UseStore): UseStore {
  return (mode, cb) => {
    if (mode === 'readwrite') {
      const err = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return Promise.reject(err);
    }
    return store(mode, cb);
  };
}

export function rec(id: string, extra: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id, hash: `h-${id}`, name: `${id}.png`, mime: 'image/png', bytes: 10, width: 4, height: 3,
    addedAt: 1000, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 4, thumbH: 3, ...extra,
  };
}

const blob = (s: string) => new Blob([s]);

describe('records storage', () => {
  it('commits an image to all three stores', async () => {
    const s = freshStores();
    await putImage({ record: rec('a'), original: blob('orig'), thumb: blob('th') }, s);
    expect(await loadAllRecords(s)).toHaveLength(1);
    expect(await get('a', s.thumbs)).toBeDefined();
    expect(await get('a', s.originals)).toBeDefined();
  });

  it('leaves no half-written record when the quota is exceeded on the meta write', async () => {
    const s = freshStores();
    const failing = { ...s, meta: quotaFailing(s.meta) };
    await expect(putImage({ record: rec('b'), original: blob('o'), thumb: blob('t') }, failing)).rejects.toBeInstanceOf(StorageQuotaError);
    expect(await keys(s.meta)).toEqual([]);
    expect(await keys(s.thumbs)).toEqual([]);
    expect(await keys(s.originals)).toEqual([]);
  });

  it('leaves no half-written record when the quota is exceeded on the thumbnail write', async () => {
    const s = freshStores();
    const failing = { ...s, thumbs: quotaFailing(s.thumbs) };
    const err = await putImage({ record: rec('c'), original: blob('o'), thumb: blob('t') }, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageQuotaError);
    expect((err as Error).message).toMatch(/storage is full/i);
    expect(await keys(s.originals)).toEqual([]);
    expect(await keys(s.meta)).toEqual([]);
  });

  it('writes a culled selection in one transaction', async () => {
    const s = freshStores();
    let writes = 0;
    const counting: Stores = { ...s, meta: (mode, cb) => { if (mode === 'readwrite') writes++; return s.meta(mode, cb); } };
    await putRecords([rec('x', { rating: 3 }), rec('y', { rating: 3 }), rec('z', { rating: 3 })], counting);
    expect(writes).toBe(1);
    expect((await loadAllRecords(s)).map((r) => r.rating)).toEqual([3, 3, 3]);
  });

  it('updates a record atomically and ignores a missing one', async () => {
    const s = freshStores();
    await putRecords([rec('u')], s);
    const next = await updateRecord('u', (r) => ({ ...r, rating: 5 }), s);
    expect(next?.rating).toBe(5);
    expect(await updateRecord('missing', (r) => r, s)).toBeUndefined();
    expect(await keys(s.meta)).toEqual(['u']);
  });

  it('updates an analysed batch in one transaction, leaving missing ids unwritten', async () => {
    const s = freshStores();
    await putRecords([rec('a', { rating: 1 }), rec('b', { rating: 2 })], s);
    let writes = 0;
    const counting: Stores = { ...s, meta: (mode, cb) => { if (mode === 'readwrite') writes++; return s.meta(mode, cb); } };
    const out = await updateRecords(['a', 'gone', 'b'], (r, i) => ({ ...r, name: `${r.id}-${i}` }), counting);
    expect(writes).toBe(1);
    expect(out.map((r) => r?.name)).toEqual(['a-0', undefined, 'b-2']);
    expect((await loadAllRecords(s)).map((r) => [r.id, r.name, r.rating])).toEqual([['a', 'a-0', 1], ['b', 'b-2', 2]]);
    expect(await keys(s.meta)).toEqual(['a', 'b']);
  });

  it('deletes meta and blobs', async () => {
    const s = freshStores();
    await putImage({ record: rec('d'), original: blob('o'), thumb: blob('t') }, s);
    await deleteImages(['d'], s);
    expect(await keys(s.meta)).toEqual([]);
    expect(await keys(s.originals)).toEqual([]);
  });

  it('recognises quota errors by name and legacy code', () => {
    expect(isQuotaError(new DOMException('x', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaError({ code: 22 })).toBe(true);
    expect(isQuotaError(new Error('other'))).toBe(false);
  });
});

describe('mergeAnalysis', () => {
  it('replaces AI tags, keeps user tags and lets a user tag win over the same AI tag', () => {
    const r = rec('m', { tags: [{ name: 'cat', score: null, source: 'user' }, { name: 'old', score: null, source: 'ai' }] });
    const out = mergeAnalysis(r, { caption: 'a cat', tags: [{ name: 'Cat', score: null }, { name: 'sofa', score: 0.9 }], model: 'tiny', nsfw: { label: 'safe', score: 0.01 } }, 5);
    expect(out.tags).toEqual([{ name: 'cat', score: null, source: 'user' }, { name: 'sofa', source: 'ai', score: 0.9 }]);
    expect(out.analysis).toEqual({ caption: 'a cat', model: 'tiny', at: 5, nsfw: { label: 'safe', score: 0.01 } });
    expect(mergeAnalysis(out, { caption: 'a cat', tags: [{ name: 'sofa', score: 0.9 }], model: 'tiny' }, 5).tags).toEqual(out.tags);
  });
});

describe('sweepOrphans', () => {
  it('removes blobs whose record was never committed and keeps committed images whole', async () => {
    const stores = freshStores();
    await putImage({ record: rec('kept'), original: new Blob(['o']), thumb: new Blob(['t']) }, stores);
    // what a crash between the blob writes and the meta write leaves behind
    const { set } = await import('idb-keyval');
    await set('crashed', new Blob(['o']), stores.originals);
    await set('crashed', new Blob(['t']), stores.thumbs);
    await set('crashed-2', new Blob(['o']), stores.originals);

    expect(await sweepOrphans(stores, { settleMs: 0 })).toBe(3);
    expect(await keys(stores.originals)).toEqual(['kept']);
    expect(await keys(stores.thumbs)).toEqual(['kept']);
    expect(await get('kept', stores.meta)).toBeDefined();
    expect(await sweepOrphans(stores, { settleMs: 0 })).toBe(0);
  });

  it('without Web Locks, spares the blobs of an import that commits while the sweep waits', async () => {
    expect((globalThis.navigator as Navigator | undefined)?.locks).toBeUndefined(); // as on http://192.168.x.y
    const stores = freshStores();
    const { set } = await import('idb-keyval');
    await set('crashed', new Blob(['o']), stores.originals);
    // another tab's import: blobs written, its meta write still to come
    await set('in-flight', new Blob(['o']), stores.originals);
    await set('in-flight', new Blob(['t']), stores.thumbs);
    const sweep = sweepOrphans(stores, { settleMs: 50 });
    await new Promise((r) => setTimeout(r, 10));
    await set('in-flight', rec('in-flight'), stores.meta);
    // and blobs that appear after the sweep looked are not its business either
    await set('later', new Blob(['o']), stores.originals);
    expect(await sweep).toBe(1);
    expect((await keys(stores.originals)).sort()).toEqual(['in-flight', 'later']);
    expect(await keys(stores.thumbs)).toEqual(['in-flight']);
  });

  it('without Web Locks, runs this tab\'s imports one at a time', async () => {
    const base = freshStores();
    const log: string[] = [];
    // each transaction takes a little while and logs which image it writes
    const traced = (id: string, part: keyof Stores): UseStore => async (mode, cb) => {
      log.push(`${part}:${id}`);
      await new Promise((r) => setTimeout(r, 5));
      return base[part](mode, cb);
    };
    const put = (id: string) =>
      putImages([{ record: rec(id), original: new Blob([id]), thumb: new Blob([id]) }], { meta: traced(id, 'meta'), thumbs: traced(id, 'thumbs'), originals: traced(id, 'originals') });
    await Promise.all([put('a'), put('b')]);
    expect(log).toEqual(['originals:a', 'thumbs:a', 'meta:a', 'originals:b', 'thumbs:b', 'meta:b']);
  });
});
