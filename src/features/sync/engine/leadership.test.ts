// Several tabs of the app, each with its own sync wiring, on fake Web Locks / a fake localStorage
// (no navigator.locks: plain http on a LAN address) and a fake BroadcastChannel.
import { afterEach, describe, expect, it } from 'vitest';
import { leaseElection, lockElection, pickElection, type Election } from '@/lib/leader/election';
import { FakeHub, FakeLocks, fakeStorage, sleep, until } from '@/test/tab-fakes';
import { joinSync, SYNC_ELECTION, type EngineLike, type SyncTab } from './leadership';
import { createStateStore } from './sync-state';

const lease = { ttlMs: 150, heartbeatMs: 20, settleMs: 10 };

class FakeEngine implements EngineLike {
  running = false;
  starts = 0;
  nudges = 0;
  start() {
    this.running = true;
    this.starts++;
  }
  stop() {
    this.running = false;
  }
  nudge() {
    this.nudges++;
  }
}

interface Tab {
  id: string;
  engine: FakeEngine;
  state: ReturnType<typeof createStateStore>;
  sync: SyncTab;
  election: Election;
}

const open: Tab[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.sync.close();
});

function tab(id: string, election: Election, hub: FakeHub): Tab {
  const engine = new FakeEngine();
  const state = createStateStore();
  const t = { id, engine, state, election, sync: joinSync({ election, engine, state, channel: hub.channel(id) }) };
  open.push(t);
  return t;
}

const running = (ts: Tab[]) => ts.filter((t) => t.engine.running);

/** Checks, every few ms for `ms`, that exactly one of `ts` runs its engine. */
async function exactlyOneFor(ts: Tab[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    expect(running(ts).map((t) => t.id)).toHaveLength(1);
    await sleep(5);
  }
}

describe('sync engine leadership without navigator.locks (localStorage lease)', () => {
  const withLease = (storage: ReturnType<typeof fakeStorage>, id: string) => {
    const e = pickElection({ id, names: SYNC_ELECTION, locks: undefined, storage, channel: true, lease });
    expect(e.kind).toBe('lease');
    return e;
  };

  it('runs the engine in exactly one of several tabs', async () => {
    const storage = fakeStorage();
    const hub = new FakeHub();
    const tabs = ['a', 'b', 'c'].map((id) => tab(id, withLease(storage, id), hub));
    await until(() => running(tabs).length === 1, 'a leader');
    await exactlyOneFor(tabs, 8 * lease.heartbeatMs);
    expect(tabs.map((t) => t.sync.leader)).toEqual(tabs.map((t) => t.engine.running));
    expect(storage.map.has(SYNC_ELECTION.leaseKey)).toBe(true);
  });

  it("followers nudge the leader's engine and show the state it broadcasts", async () => {
    const storage = fakeStorage();
    const hub = new FakeHub();
    const tabs = ['a', 'b', 'c'].map((id) => tab(id, withLease(storage, id), hub));
    await until(() => running(tabs).length === 1, 'a leader');
    const [leader] = running(tabs);
    const followers = tabs.filter((t) => t !== leader);
    followers[0]!.sync.nudge();
    await until(() => leader!.engine.nudges === 1, 'the nudge to reach the leader');
    expect(followers.map((t) => t.engine.nudges)).toEqual([0, 0]);
    leader!.state.set({ phase: 'pending', pending: 3 });
    await until(() => followers.every((t) => t.state.get().pending === 3), 'the state to reach the followers');
  });

  it('hands the engine to another tab when the leader leaves', async () => {
    const storage = fakeStorage();
    const hub = new FakeHub();
    const tabs = ['a', 'b', 'c'].map((id) => tab(id, withLease(storage, id), hub));
    await until(() => running(tabs).length === 1, 'a leader');
    const first = running(tabs)[0]!;
    first.sync.close();
    expect(first.engine.running).toBe(false);
    const rest = tabs.filter((t) => t !== first);
    await until(() => running(rest).length === 1, 'the next leader', 1_000);
    await exactlyOneFor(rest, 5 * lease.heartbeatMs);
  });

  it("takes over from a crashed leader once its lease expires, and only then", async () => {
    const storage = fakeStorage();
    const hub = new FakeHub();
    const a = tab('a', withLease(storage, 'a'), hub);
    await until(() => a.engine.running, 'a to lead');
    const b = tab('b', withLease(storage, 'b'), hub);
    const c = tab('c', withLease(storage, 'c'), hub);
    await sleep(3 * lease.heartbeatMs);
    expect(running([a, b, c])).toEqual([a]);
    // A crash: no more heartbeats, the lease stays behind.
    const held = storage.map.get(SYNC_ELECTION.leaseKey)!;
    a.election.close();
    storage.map.set(SYNC_ELECTION.leaseKey, held);
    const crashedAt = Date.now();
    await until(() => running([b, c]).length === 1, 'a new leader', 2_000);
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(lease.ttlMs - 3 * lease.heartbeatMs - 10);
    await exactlyOneFor([b, c], 5 * lease.heartbeatMs);
  });

  it('a leader whose lease another tab took stops its engine', async () => {
    const storage = fakeStorage();
    const hub = new FakeHub();
    let skew = 0;
    const a = tab('a', leaseElection({ ...lease, key: SYNC_ELECTION.leaseKey, storage, id: 'a', now: () => Date.now() + skew }), hub);
    await until(() => a.engine.running, 'a to lead');
    // a's timers were frozen past its lease; 'z' took over meanwhile
    skew = lease.ttlMs + 50;
    storage.setItem(SYNC_ELECTION.leaseKey, JSON.stringify({ id: 'z', until: Date.now() + skew + 10_000 }));
    await until(() => !a.engine.running, 'a to stop its engine');
    expect(a.sync.leader).toBe(false);
  });
});

describe('sync engine leadership with Web Locks', () => {
  it('runs the engine in one tab and hands it over when that tab goes', async () => {
    const locks = new FakeLocks();
    const hub = new FakeHub();
    const tabs = ['a', 'b'].map((id) => tab(id, lockElection(locks.manager(id), SYNC_ELECTION.lock), hub));
    await until(() => running(tabs).length === 1, 'a leader');
    await exactlyOneFor(tabs, 30);
    const first = running(tabs)[0]!;
    locks.crash(first.id);
    first.engine.stop(); // the tab is gone with its engine
    await until(() => running(tabs.filter((t) => t !== first)).length === 1, 'the other tab to lead');
  });
});
