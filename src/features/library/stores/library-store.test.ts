import { describe, expect, it } from 'vitest';
import { clear } from 'idb-keyval';
import { putRecords } from '@/lib/db/records';
import { defaultStores } from '@/lib/db/stores';
import { applyAnalysis } from '@/lib/db/library-api';
import type { ImageRecord } from '@/lib/db/schema';
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

    await applyAnalysis('b', { caption: 'a tiny red square', tags: [{ name: 'red' }], model: 'tiny' });
    lib.setQuery({ text: 'red square' });
    expect(lib.getState().order).toEqual(['b']);
    expect(lib.getState().selection.ids.size).toBe(1); // pruned to what is visible
  });
});
