import { describe, expect, it } from 'vitest';
import { clear } from 'idb-keyval';
import { putRecords } from '@/lib/db/records';
import { defaultStores } from '@/lib/db/stores';
import { applyAnalysis, applyAnalyses, getRecord } from '@/lib/db/library-api';
import { mergeFields } from '@/lib/db/fields';
import type { ImageRecord } from '@/lib/db/schema';
import { addUserTag, removeTag } from '../utils/culling';
import { createLibraryStore } from './library-store';

const rec = (id: string, extra: Partial<ImageRecord> = {}): ImageRecord => ({ id, hash: id, name: `${id}.png`, mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 1, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1, ...extra });

describe('edits are never lost', () => {
  it('a rating, tag edits and an analysis result fired within the same 100 ms all survive', async () => {
    await clear(defaultStores().meta);
    const ids = ['a', 'b', 'c', 'd'];
    await putRecords(ids.map((id) => rec(id)));
    const lib = createLibraryStore();
    await lib.load();
    lib.click('a');
    lib.click('d', { shift: true });
    // none of these is awaited before the next starts: they race as keypresses and results do
    const writes = [
      lib.cull({ type: 'rate', rating: 3 }),
      ...ids.map((id) => applyAnalysis(id, { caption: `caption ${id}`, tags: [{ name: 'sky', score: null }, { name: 'sea', score: null }], model: 'tiny' })),
      ...ids.flatMap((id) => ['one', 'two', 'three'].map((t) => lib.editRecord(id, (r) => addUserTag(r, t)))),
      lib.cull({ type: 'flag', flag: 'pick' }),
    ];
    await Promise.all(writes);
    await new Promise((r) => setTimeout(r, 100)); // the store coalesces write events for 50 ms
    const again = createLibraryStore();
    await again.load();
    for (const id of ids) {
      const r = again.getState().byId.get(id)!;
      expect(r.rating).toBe(3);
      expect(r.flag).toBe('pick');
      expect(r.analysis?.caption).toBe(`caption ${id}`);
      expect(r.tags.map((t) => t.name).sort()).toEqual(['one', 'sea', 'sky', 'three', 'two']);
      // the in-memory copy converges on what is stored
      expect(lib.getState().byId.get(id)?.tags.length).toBe(5);
      expect(Object.keys(r.stamps ?? {}).sort()).toEqual(['analysis', 'flag', 'rating', 'tags']);
    }
  });

  it('an AI tag the user removed does not come back on re-analysis', async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('x')]);
    const lib = createLibraryStore();
    await lib.load();
    const result = { caption: 'a dog', tags: [{ name: 'Dog', score: null }, { name: 'grass', score: null }], model: 'tiny' };
    await applyAnalysis('x', result);
    await lib.editRecord('x', (r) => removeTag(r, 'Dog'));
    await applyAnalysis('x', result);
    const r = (await (async () => {
      const again = createLibraryStore();
      await again.load();
      return again.getState().byId.get('x')!;
    })());
    expect(r.tags.map((t) => t.name)).toEqual(['grass']);
    expect(r.removedTags).toEqual(['dog']);
    // adding it by hand still works: a user tag is the user's word
    await lib.editRecord('x', (s) => addUserTag(s, 'dog'));
    await applyAnalysis('x', result);
    const final = createLibraryStore();
    await final.load();
    expect(final.getState().byId.get('x')!.tags).toEqual([{ name: 'dog', score: null, source: 'user' }, { name: 'grass', score: null, source: 'ai' }]);
  });

  it("a result's idempotency key is stamped with its analysis: a replay writes no new stamp, and a merge carries the key along", async () => {
    await clear(defaultStores().meta);
    await putRecords([rec('k')]);
    const result = { caption: 'a cat', tags: [{ name: 'cat', score: null }], model: 'tiny' };
    const first = await applyAnalysis('k', result, 'job-1');
    expect(first?.analysis?.key).toBe('job-1');
    const stamped = first!.stamps!['analysis'];
    expect(stamped).toBeDefined();
    // the user rates it afterwards; the result is then replayed (a crash before the ack)
    const lib = createLibraryStore();
    await lib.load();
    await lib.editRecord('k', (r) => ({ ...r, rating: 5 }));
    const afterEdit = await getRecord('k');
    expect(await applyAnalyses([{ id: 'k', result: { ...result, caption: 'replayed' }, key: 'job-1' }])).toEqual([]);
    const replayed = await getRecord('k');
    expect(replayed).toEqual(afterEdit); // nothing written: no caption, no `at`, no stamp moved
    expect(replayed!.stamps!['analysis']).toBe(stamped);
    // another device that has an older copy merges this one: the key comes with the analysis
    const older = { ...rec('k'), stamps: { $: '000000000000001-000000-aa' } };
    const merged = mergeFields(older, replayed!);
    expect(merged.analysis?.key).toBe('job-1');
    expect(merged.rating).toBe(5);
    // a new key is a new result: written, and stamped later than the first
    const second = await applyAnalysis('k', { ...result, caption: 'a black cat' }, 'job-2');
    expect(second!.analysis).toMatchObject({ caption: 'a black cat', key: 'job-2' });
    expect(second!.stamps!['analysis']! > stamped!).toBe(true);
    expect(second!.rating).toBe(5);
  });
});
