import { describe, expect, it } from 'vitest';
import { clear } from 'idb-keyval';
import { putRecords } from '@/lib/db/records';
import { defaultStores } from '@/lib/db/stores';
import { applyAnalysis } from '@/lib/db/library-api';
import { emit } from '@/lib/db/events';
import type { ImageRecord } from '@/lib/db/schema';
import { settings } from '@/lib/api';
import { createLibraryStore } from './library-store';

const rec = (id: string, addedAt: number): ImageRecord => ({ id, hash: id, name: `${id}.png`, mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1 });

describe('library store', () => {
  it('loads, culls the whole selection in one write, and hears analysis results', async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('a', 1), rec('b', 2), rec('c', 3)]);
    const lib = createLibraryStore();
    await lib.load();
    expect(lib.getState().order).toEqual(['c', 'b', 'a']);
    lib.click('c');
    lib.click('a', { shift: true });
    await lib.cull({ type: 'rate', rating: 4 });
    await lib.cull({ type: 'flag', flag: 'pick' });
    const again = createLibraryStore();
    await again.load();
    expect([...again.getState().byId.values()].map((r) => [r.rating, r.flag])).toEqual([[4, 'pick'], [4, 'pick'], [4, 'pick']]);

    await applyAnalysis('b', { caption: 'a tiny red square', tags: [{ name: 'red', score: null }], model: 'tiny' });
    lib.setQuery({ text: 'red square' });
    expect(lib.getState().order).toEqual(['b']);
    expect(lib.getState().selection.ids.size).toBe(1); // pruned to what is visible
  });
});

describe('library store: writes the user cannot see', () => {
  it('two versions of one record in one coalesced batch: the latest wins (a rating, then a flag, written quickly)', async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('a', 1)]);
    const lib = createLibraryStore();
    await lib.load();
    await new Promise((r) => setTimeout(r, 400));
    // what the store shows optimistically after both keys: rating 4 and pick
    emit('updated', [{ ...rec('a', 1), rating: 4, flag: 'pick' }]);
    await new Promise((r) => setTimeout(r, 80));
    // the two writes land and are announced within the store's coalescing window
    emit('updated', [{ ...rec('a', 1), rating: 4, flag: 'none' }]);
    emit('updated', [{ ...rec('a', 1), rating: 4, flag: 'pick' }]);
    await new Promise((r) => setTimeout(r, 80));
    expect(lib.getState().byId.get('a')).toMatchObject({ rating: 4, flag: 'pick' });
  });

  it("sync's bookkeeping (the thumbnail's hash, stamps) neither re-renders nor re-sorts; a shown change does", async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('a', 1), rec('b', 2)]);
    const lib = createLibraryStore();
    await lib.load();
    await new Promise((r) => setTimeout(r, 400)); // the tag count and storage figures after a load
    const before = lib.getState();
    let notified = 0;
    lib.subscribe(() => notified++);
    emit('updated', [{ ...rec('a', 1), thumbHash: 'f'.repeat(64), stamps: { thumbHash: 'x' } }, { ...rec('b', 2), stamps: { $: 'y' } }]);
    await new Promise((r) => setTimeout(r, 80)); // past the store's 50 ms coalescing
    expect(notified).toBe(0);
    expect(lib.getState()).toBe(before);

    emit('updated', [{ ...rec('a', 1), rating: 5, thumbHash: 'f'.repeat(64) }]);
    await new Promise((r) => setTimeout(r, 80));
    expect(notified).toBeGreaterThan(0);
    expect(lib.getState().byId.get('a')?.rating).toBe(5);
  });
});

describe('library store: what the user chose stays put', () => {
  const memory = () => {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), clear: () => m.clear(), key: () => null, length: 0 };
  };

  it('keeps the sort choice across a reload', async () => {
    const saved = globalThis.localStorage;
    Object.defineProperty(globalThis, 'localStorage', { value: memory(), configurable: true });
    try {
      const lib = createLibraryStore();
      lib.setQuery({ sort: 'rating', desc: false });
      const again = createLibraryStore();
      expect(again.getState().query).toMatchObject({ sort: 'rating', desc: false });
      again.resetFilters();
      expect(again.getState().query).toMatchObject({ sort: 'rating', desc: false });
    } finally {
      Object.defineProperty(globalThis, 'localStorage', { value: saved, configurable: true });
    }
  });

  it('rating in the loupe while sorted by rating keeps the current image in its place until the loupe closes', async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('a', 1), rec('b', 2), rec('c', 3), rec('d', 4)]);
    const lib = createLibraryStore();
    await lib.load();
    lib.setQuery({ sort: 'rating', desc: true });
    const before = lib.getState().order;
    lib.focus('b');
    lib.setView('loupe');
    await lib.cull({ type: 'rate', rating: 5 });
    await new Promise((r) => setTimeout(r, 80)); // the write's 'updated' event lands too
    expect(lib.getState().selection.focus).toBe('b');
    expect(lib.getState().order).toEqual(before);
    lib.move(1);
    expect(lib.getState().selection.focus).toBe(before[before.indexOf('b') + 1]);
    lib.setView('grid');
    expect(lib.getState().order[0]).toBe('b');
  });

  it('N marks the focused image (and the selection) safe or NSFW, and the filter follows', async () => {
    await clear(defaultStores().meta);
    const flagged = { ...rec('x', 1), analysis: { caption: '', model: 'm', at: 1, nsfw: { label: 'nsfw' as const, score: 0.8 } } };
    await putRecords([flagged, rec('y', 2)]);
    const lib = createLibraryStore();
    await lib.load();
    lib.setQuery({ nsfw: 'nsfw' });
    expect(lib.getState().order).toEqual(['x']);
    lib.setQuery({ nsfw: 'any' });
    lib.focus('x');
    await lib.toggleNsfwMark();
    expect(lib.getState().byId.get('x')!.nsfwOverride).toBe('safe');
    lib.setQuery({ nsfw: 'nsfw' });
    expect(lib.getState().order).toEqual([]);
    const again = createLibraryStore();
    await again.load();
    expect(again.getState().byId.get('x')!.nsfwOverride).toBe('safe');
  });

  it("applies the NSFW threshold setting to the stored scores at once", async () => {
    await clear(defaultStores().meta);
    const scored = (id: string, score: number) => ({ ...rec(id, score), analysis: { caption: '', model: 'm', at: 1, nsfw: { label: score >= 0.5 ? ('nsfw' as const) : ('safe' as const), score } } });
    await putRecords([scored('low', 0.3), scored('mid', 0.6), scored('high', 0.95)]);
    const lib = createLibraryStore();
    await lib.load();
    lib.setQuery({ nsfw: 'nsfw' });
    expect(lib.getState().order).toEqual(['high', 'mid']);
    try {
      settings.set({ nsfwThreshold: 0.8 });
      expect(lib.getState().order).toEqual(['high']);
      settings.set({ nsfwThreshold: 0.25 });
      expect(lib.getState().order).toEqual(['high', 'mid', 'low']);
    } finally {
      settings.reset();
    }
  });
});
