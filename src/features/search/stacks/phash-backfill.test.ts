// The perceptual-hash backfill runs in one tab at a time, also without navigator.locks.
import { afterEach, describe, expect, it } from 'vitest';
import type { ImageRecord } from '@/lib/db/schema';
import { pickElection } from '@/lib/leader/election';
import { fakeStorage, sleep, until } from '@/test/tab-fakes';
import { BACKFILL_ELECTION, startBackfill, type BackfillDeps } from './phash-backfill';

const lease = { ttlMs: 150, heartbeatMs: 20, settleMs: 10 };
const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((s) => s()));

const records = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}` }) as ImageRecord);

function tab(id: string, storage: ReturnType<typeof fakeStorage>, idle: () => Promise<void> = async () => {}) {
  const hashed: string[] = [];
  const deps: BackfillDeps = {
    records: () => records,
    thumbs: async (ids) => ids.map(() => new Blob(['x'])),
    hash: async () => 'ffffffffffffffff',
    write: async (ids) => (hashed.push(...ids), []),
    idle,
  };
  stops.push(startBackfill(deps, pickElection({ id, names: BACKFILL_ELECTION, locks: undefined, storage, channel: true, lease })));
  return { id, hashed };
}

describe('perceptual-hash backfill leadership without navigator.locks', () => {
  it('one of several tabs hashes the library, once', async () => {
    const storage = fakeStorage();
    const tabs = ['a', 'b', 'c'].map((id) => tab(id, storage));
    await until(() => tabs.some((t) => t.hashed.length === records.length), 'the backfill');
    await sleep(5 * lease.heartbeatMs);
    expect(tabs.map((t) => t.hashed.length).sort((x, y) => x - y)).toEqual([0, 0, records.length]);
  });

  it('when the leading tab leaves mid-way, another tab takes the backfill over', async () => {
    const storage = fakeStorage();
    let gate: () => void = () => {};
    // the first tab's backfill waits for an idle moment that does not come
    const first = tab('a', storage, () => new Promise<void>((r) => (gate = r)));
    await until(() => storage.map.has(BACKFILL_ELECTION.leaseKey) && JSON.parse(storage.map.get(BACKFILL_ELECTION.leaseKey)!).id === 'a', 'a to lead');
    await sleep(lease.settleMs * 2);
    const second = tab('b', storage);
    await sleep(3 * lease.heartbeatMs);
    expect(second.hashed).toHaveLength(0);
    stops.shift()!(); // tab a leaves: its backfill is aborted, its lease freed
    gate();
    await until(() => second.hashed.length === records.length, 'b to run the backfill', 1_000);
    expect(first.hashed).toHaveLength(0);
  });
});
