import { describe, expect, it } from 'vitest';
import { clear } from 'idb-keyval';
import { markChanged, markDeleted, outboxDb, readOutbox, settle, WRITE_CHUNK } from './outbox';

describe('sync outbox', () => {
  it('hands out one batch at a time, entries with their own values, until every pushed one is settled', async () => {
    await clear(outboxDb());
    await markChanged(['c', 'a', 'd']);
    await markDeleted(['b'], 'stamp-b');
    const first = await readOutbox(2);
    expect(first.map(([id]) => id)).toEqual(['a', 'b']);
    expect(first[1]![1].deleted).toBe('stamp-b');
    expect(first[0]![1].deleted).toBeUndefined();
    expect((await readOutbox()).length).toBe(4);

    await markChanged(['a']); // written again while its push was under way: kept for the next one
    await settle(first);
    expect((await readOutbox(10)).map(([id]) => id)).toEqual(['a', 'c', 'd']);
  });

  it('marks a whole library changed, a transaction per chunk', async () => {
    await clear(outboxDb());
    const ids = Array.from({ length: 2 * WRITE_CHUNK + 7 }, (_, i) => `id${String(i).padStart(5, '0')}`);
    await markChanged(ids);
    const all = await readOutbox();
    expect(all.map(([id]) => id)).toEqual(ids);
    expect(new Set(all.map(([, e]) => e.token)).size).toBe(ids.length); // each its own token
  });
});
