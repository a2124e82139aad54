import { describe, expect, it } from 'vitest';
import { clear } from 'idb-keyval';
import { markChanged, markDeleted, outboxDb, readOutbox, settle } from './outbox';

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
});
