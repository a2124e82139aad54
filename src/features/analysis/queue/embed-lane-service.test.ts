// The indexing lane runs in one tab at a time, also without navigator.locks (a localStorage lease).
import { afterEach, describe, expect, it } from 'vitest';
import { pickElection } from '@/lib/leader/election';
import { fakeStorage, sleep, until } from '@/test/tab-fakes';
import { EMBED_ELECTION, FreshThumbs, leadEmbedLane } from './embed-lane-service';

const lease = { ttlMs: 150, heartbeatMs: 20, settleMs: 10 };
const stops: (() => void)[] = [];
afterEach(() => stops.splice(0).forEach((s) => s()));

function tab(id: string, storage: ReturnType<typeof fakeStorage>) {
  const lanes = { made: 0, live: 0, wakes: 0 };
  const election = pickElection({ id, names: EMBED_ELECTION, locks: undefined, storage, channel: true, lease });
  const led = leadEmbedLane(election, () => {
    lanes.made++;
    lanes.live++;
    return { wake: () => void lanes.wakes++, stop: () => void lanes.live--, hint: () => undefined };
  });
  stops.push(led.stop);
  return { id, lanes, led, election };
}

describe('embed lane leadership without navigator.locks', () => {
  it('runs one lane among several tabs, wakes only that one, and hands over when its tab leaves', async () => {
    const storage = fakeStorage();
    const tabs = ['a', 'b', 'c'].map((id) => tab(id, storage));
    await until(() => tabs.some((t) => t.led.running), 'a lane');
    for (let i = 0; i < 8; i++) {
      expect(tabs.filter((t) => t.led.running)).toHaveLength(1);
      expect(tabs.reduce((n, t) => n + t.lanes.live, 0)).toBe(1);
      await sleep(lease.heartbeatMs);
    }
    const first = tabs.find((t) => t.led.running)!;
    const woken = first.lanes.wakes;
    tabs.forEach((t) => t.led.wake());
    expect(first.lanes.wakes).toBe(woken + 1);
    expect(tabs.filter((t) => t !== first).every((t) => t.lanes.wakes === 0)).toBe(true);

    first.led.stop();
    expect(first.lanes.live).toBe(0);
    const rest = tabs.filter((t) => t !== first);
    await until(() => rest.some((t) => t.led.running), 'the next lane', 1_000);
    await sleep(3 * lease.heartbeatMs);
    expect(rest.filter((t) => t.led.running)).toHaveLength(1);
  });

  it('a tab that loses its lease stops its lane', async () => {
    const storage = fakeStorage();
    const a = tab('b', storage);
    await until(() => a.led.running, 'a lane');
    // the other claim of a lost race: 'a' < 'b', so this tab yields
    storage.setItem(EMBED_ELECTION.leaseKey, JSON.stringify({ id: 'a', until: Date.now() + 10_000 }));
    await until(() => !a.led.running, 'the lane to stop');
    expect(a.lanes.live).toBe(0);
  });
});

describe('thumbnails just added, kept for the lane', () => {
  const blob = (s: string) => new Blob([s], { type: 'image/webp' });
  const encode = async (b: Blob) => `data:${await b.text()}`;

  it('gives each from memory once, encoded, reads the rest in one call, in order', async () => {
    const fresh = new FreshThumbs(encode);
    fresh.add([{ id: 'a', thumb: blob('A') }, { id: 'c', thumb: blob('C') }]);
    const asked: string[][] = [];
    const read = async (ids: string[]) => (asked.push(ids), ids.map((id) => (id === 'gone' ? undefined : blob(`stored ${id}`))));
    expect(await fresh.take(['a', 'b', 'c', 'gone'], read)).toEqual(['data:A', 'data:stored b', 'data:C', undefined]);
    expect(asked).toEqual([['b', 'gone']]);
    // taken once: the next read of 'a' goes to the store
    expect(await fresh.take(['a'], read)).toEqual(['data:stored a']);
    expect(fresh.size).toBe(0);
  });

  it('keeps at most its limit (the first ones), forgets removed images, and reads one it could not encode', async () => {
    let failOnce = true;
    const fresh = new FreshThumbs(async (b) => {
      if ((await b.text()) === 'y' && failOnce) {
        failOnce = false;
        throw new Error('cannot read the blob');
      }
      return encode(b);
    }, 2);
    fresh.add(['x', 'y', 'z'].map((id) => ({ id, thumb: blob(id) })));
    expect(fresh.size).toBe(2);
    fresh.drop(['x']);
    const asked: string[][] = [];
    const got = await fresh.take(['x', 'y', 'z'], async (ids) => (asked.push(ids), ids.map(() => blob('stored'))));
    expect(asked).toEqual([['x', 'y', 'z']]);
    expect(got).toEqual(['data:stored', 'data:stored', 'data:stored']);
  });
});
