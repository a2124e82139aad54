import { describe, expect, it } from 'vitest';
import { createStore } from 'idb-keyval';
import { createCore } from '@/lib/vectors/worker-core';
import type { VectorCall } from '@/lib/vectors/client';
import type { EmbeddingModel } from '@/lib/vectors/embedding-model';
import { createSearchStore } from './search-store';
import { createStackStore } from './stack-store';
import type { ImageRecord } from '@/lib/db/schema';

let n = 0;
const axis = (i: number, dim = 32) => Float32Array.from({ length: dim }, (_, k) => (k === i ? 1 : 0.02));

async function setup(model: EmbeddingModel = { state: 'ready', id: 'emb' }) {
  const core = createCore({ store: createStore(`search-${++n}`, 'segments') });
  const index: VectorCall = (req) => core.handle(req);
  // eight images: img-k points along axis k; 'dog' is axis 3, 'beach' axis 5
  const ids = Array.from({ length: 8 }, (_, k) => `img-${k}`);
  const flat = new Float32Array(8 * 32);
  ids.forEach((_, k) => flat.set(axis(k), k * 32));
  await core.handle({ op: 'put', model: 'emb', dim: 32, ids, vectors: flat });
  let changes = 0;
  let cleared = 0;
  // as the library does: a change orders again with the current query
  const last: { input?: Parameters<typeof store.arrange>[0] } = {};
  const store = createSearchStore({
    index,
    embeddingModel: async () => model,
    onChange: () => {
      changes++;
      if (last.input) store.arrange(last.input);
    },
    clearText: () => cleared++,
    embed: async (_m, text) => (text.includes('dog') ? axis(3) : axis(5)),
  });
  return { store, ids, index, last, changes: () => changes, cleared: () => cleared };
}

const until = async (f: () => boolean) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('search by meaning', () => {
  it('shows the word matches at once, then ranks: word matches first, then the closest images', async () => {
    const { store, ids, last } = await setup();
    const input = (last.input = { order: ['img-0', 'img-6'], text: 'a dog', filtered: false, withoutText: () => ids });
    // before the ranking: the word results as they are
    expect(store.arrange(input)).toEqual({ order: ['img-0', 'img-6'], ranked: false });
    await until(() => store.getState().phase === 'done');
    const out = store.arrange(input);
    expect(out.ranked).toBe(true);
    expect(out.order.slice(0, 3)).toEqual(['img-0', 'img-6', 'img-3']);
    expect(new Set(out.order).size).toBe(8);
    expect(store.getState().phase).toBe('done');
  });

  it('keeps to the filters', async () => {
    const { store, last } = await setup();
    const input = (last.input = { order: [] as string[], text: 'a dog', filtered: true, withoutText: () => ['img-1', 'img-2'] });
    store.arrange(input);
    await until(() => store.getState().phase === 'done');
    expect(store.arrange(input).order.sort()).toEqual(['img-1', 'img-2']);
  });

  it('stays with words when there is no embeddings model or the user chose words', async () => {
    const { store } = await setup({ state: 'missing', candidate: null });
    const input = { order: ['img-2'], text: 'a dog', filtered: false, withoutText: () => ['img-2', 'img-3'] };
    expect(store.arrange(input)).toEqual({ order: ['img-2'], ranked: false });
    await until(() => store.getState().model !== null);
    expect(store.getState().model).toEqual({ state: 'missing', candidate: null });
    const ready = await setup();
    ready.store.setWordsOnly(true);
    expect(ready.store.arrange(input)).toEqual({ order: ['img-2'], ranked: false });
  });

  it('finds images like the chosen ones, those first, and leaves when the user types', async () => {
    const { store, ids, cleared, index } = await setup();
    // img-8 sits between img-3 and img-4
    const v = Float32Array.from({ length: 32 }, (_, k) => (k === 3 ? 1 : k === 4 ? 0.9 : 0.02));
    await index({ op: 'put', model: 'emb', dim: 32, ids: ['img-8'], vectors: v });
    await store.findSimilar(['img-3'], 'IMG_3');
    expect(cleared()).toBe(1);
    const out = store.arrange({ order: ids, text: '', filtered: false, withoutText: () => [...ids, 'img-8'] });
    expect(out.order.slice(0, 2)).toEqual(['img-3', 'img-8']);
    expect(store.arrange({ order: ['img-1'], text: 'cat', filtered: false, withoutText: () => ids }).order[0]).toBe('img-1');
    expect(store.getState().similar).toBeNull();
  });

  it('says when an image has no vector yet', async () => {
    const { store } = await setup();
    await store.findSimilar(['new-image'], 'new.jpg');
    expect(store.getState().similar).toMatchObject({ note: 'not-indexed', ranked: null });
  });
});

describe('the stack store', () => {
  const rec = (id: string, extra: Partial<ImageRecord> = {}): ImageRecord => ({
    id, hash: `h-${id}`, name: `${id}.jpg`, mime: 'image/jpeg', bytes: 100, width: 10, height: 10, addedAt: 0, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 10, thumbH: 10, ...extra,
  });

  it('stacks re-encoded copies and bursts, collapses them in the order, and expands one', async () => {
    const core = createCore({ store: createStore(`stack-${++n}`, 'segments') });
    const index: VectorCall = (req) => core.handle(req);
    // b is a re-encoded copy of a (3 bits apart); c and d a burst (same camera, 2 s apart, alike)
    const recs = [
      rec('a', { phash: 'f0f0f0f0f0f0f0f0', width: 40 }), rec('b', { phash: 'f0f0f0f0f0f0f0f7' }), rec('x', { phash: '0123456789abcdef' }),
      rec('c', { takenAt: 1000, camera: 'X' }), rec('d', { takenAt: 3000, camera: 'X' }), rec('e', { takenAt: 4000, camera: 'X' }),
    ];
    const flat = new Float32Array(3 * 32);
    flat.set(axis(1), 0);
    flat.set(Float32Array.from(axis(1), (x, k) => (k === 2 ? 0.1 : x)), 32);
    flat.set(axis(9), 64);
    await core.handle({ op: 'put', model: 'emb', dim: 32, ids: ['c', 'd', 'e'], vectors: flat });
    let changes = 0;
    const stacks = createStackStore({ index, records: () => recs, embeddingModel: async () => ({ state: 'ready', id: 'emb' }), onChange: () => changes++ });
    await stacks.rebuild();
    expect(changes).toBe(1);
    const { index: ix } = stacks.getState();
    expect([...ix.stacks.values()].map((s) => [s.ids.slice().sort().join(), s.tier, s.cover]).sort()).toEqual([['a,b', 'reencoded', 'a'], ['c,d', 'burst', 'c']]);
    const order = ['x', 'b', 'a', 'c', 'd', 'e'];
    expect(stacks.arrange(order)).toEqual(['x', 'a', 'c', 'e']);
    expect(stacks.cell('a')).toMatchObject({ count: 2, expanded: false, head: true });
    expect(stacks.cell('x')).toBeUndefined();
    stacks.toggle(ix.of.get('a')!);
    expect(stacks.arrange(order)).toEqual(['x', 'a', 'b', 'c', 'e']);
    // a deleted image leaves its stack at once; a stack of one is no stack
    stacks.forget(['b']);
    expect(stacks.arrange(['x', 'a', 'c', 'd', 'e'])).toEqual(['x', 'a', 'c', 'e']);
    expect(stacks.cell('a')).toBeUndefined();
    stacks.setEnabled(false);
    expect(stacks.arrange(order)).toEqual(order);
  });

  it('shows the last session\'s stacks for the images still here until the rebuild answers', async () => {
    const core = createCore({ store: createStore(`stack-${++n}`, 'segments') });
    const saved: unknown[] = [];
    const recs = [rec('a'), rec('b'), rec('c')];
    const stacks = createStackStore({
      index: (req) => core.handle(req),
      records: () => recs,
      embeddingModel: async () => ({ state: 'missing', candidate: null }),
      onChange: () => {},
      cache: {
        load: async () => [{ key: 'a', ids: ['a', 'b', 'gone'], cover: 'gone', tier: 'reencoded' }, { key: 'x', ids: ['c', 'gone'], cover: 'c', tier: 'exact' }],
        save: async (s) => void saved.push(s),
      },
    });
    await stacks.restore();
    expect([...stacks.getState().index.stacks.values()]).toEqual([{ key: 'a', ids: ['a', 'b'], cover: 'a', tier: 'reencoded' }]);
    expect(stacks.arrange(['c', 'b', 'a'])).toEqual(['c', 'a']);
    // the rebuild replaces it (these records link nothing) and is saved for the next start
    await stacks.rebuild();
    expect(stacks.getState().index.stacks.size).toBe(0);
    expect(saved).toEqual([[]]);
  });
});
