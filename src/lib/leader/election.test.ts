import { afterEach, describe, expect, it } from 'vitest';
import { leaseElection, lockElection, pickElection, type Election, type PageEventsLike } from './election';

const LOCK = 'test-job';
const LEASE_KEY = 'test-job.leader';
const names = { lock: LOCK, leaseKey: LEASE_KEY };
import { FakeLocks, fakeStorage, laggyStorage, sleep, until } from '@/test/tab-fakes';

const open: Election[] = [];
const track = (e: Election) => (open.push(e), e);
afterEach(() => {
  for (const e of open.splice(0)) e.close();
});

const leaders = (es: Election[]) => es.filter((e) => e.leader).length;

describe('Web Locks election', () => {
  it('makes exactly one of several tabs the leader, and hands over when it leaves', async () => {
    const locks = new FakeLocks();
    const es = ['a', 'b', 'c'].map((t) => track(lockElection(locks.manager(t), LOCK)));
    await until(() => leaders(es) === 1, 'a leader');
    await sleep(30);
    expect(leaders(es)).toBe(1);

    const first = es.find((e) => e.leader)!;
    const changes: boolean[] = [];
    const others = es.filter((e) => e !== first);
    others.forEach((e) => e.onChange((l) => changes.push(l)));
    first.close();
    await until(() => leaders(others) === 1, 'the next leader');
    await sleep(30);
    expect(leaders(es)).toBe(1);
    expect(first.leader).toBe(false);
    expect(changes).toEqual([true]);
  });

  it('takes over when the leader tab crashes (the browser frees its lock)', async () => {
    const locks = new FakeLocks();
    const a = track(lockElection(locks.manager('a'), LOCK));
    await until(() => a.leader, 'a to lead');
    const b = track(lockElection(locks.manager('b'), LOCK));
    await sleep(20);
    expect(b.leader).toBe(false);
    locks.crash('a');
    await until(() => b.leader, 'b to lead');
  });

  it('a tab that leaves while waiting never leads', async () => {
    const locks = new FakeLocks();
    const a = track(lockElection(locks.manager('a'), LOCK));
    await until(() => a.leader, 'a to lead');
    const b = track(lockElection(locks.manager('b'), LOCK));
    const c = track(lockElection(locks.manager('c'), LOCK));
    b.close();
    a.close();
    await until(() => c.leader, 'c to lead');
    await sleep(20);
    expect(b.leader).toBe(false);
  });
});

describe('localStorage lease (no navigator.locks)', () => {
  const fast = { ttlMs: 150, heartbeatMs: 20, settleMs: 10 };

  it('elects exactly one leader among tabs that start together, and keeps it', async () => {
    const storage = fakeStorage();
    const es = ['a', 'b', 'c', 'd'].map((id) => track(leaseElection({ ...fast, key: LEASE_KEY, storage, id })));
    await until(() => leaders(es) === 1, 'a leader');
    const who = es.findIndex((e) => e.leader);
    for (let i = 0; i < 10; i++) {
      await sleep(fast.heartbeatMs);
      expect(leaders(es)).toBe(1);
      expect(es[who]!.leader).toBe(true);
    }
  });

  it('tabs that all find the lease free at once still elect one leader (claims are read back)', async () => {
    // Another tab's write shows up 3 ms later here: every tab sees a free lease and claims it.
    const storage = laggyStorage(3);
    const es = ['a', 'b', 'c', 'd'].map((id) => track(leaseElection({ ...fast, key: LEASE_KEY, storage: storage.tab(id), id })));
    let most = 0;
    const deadline = Date.now() + 250;
    while (Date.now() < deadline) {
      most = Math.max(most, leaders(es));
      await sleep(1);
    }
    expect(most).toBe(1);
    expect(leaders(es)).toBe(1);
  });

  it('when storage is slower than the read-back (the documented race), two leaders converge to one', async () => {
    const storage = laggyStorage(40); // > settleMs
    const es = ['a', 'b'].map((id) => track(leaseElection({ ...fast, key: LEASE_KEY, storage: storage.tab(id), id })));
    await until(() => leaders(es) >= 1, 'a leader');
    await sleep(3 * fast.heartbeatMs + 40);
    for (let i = 0; i < 10; i++) {
      expect(leaders(es)).toBe(1);
      await sleep(fast.heartbeatMs);
    }
  });

  it('a crashed leader (lease left behind) is replaced once its lease expires', async () => {
    const storage = fakeStorage();
    const a = track(leaseElection({ ...fast, key: LEASE_KEY, storage, id: 'a' }));
    await until(() => a.leader, 'a to lead');
    const b = track(leaseElection({ ...fast, key: LEASE_KEY, storage, id: 'b' }));
    await sleep(3 * fast.heartbeatMs);
    expect(b.leader).toBe(false);
    // A crash: no more heartbeats, and nothing removed.
    const lease = storage.getItem(LEASE_KEY)!;
    a.close();
    storage.setItem(LEASE_KEY, lease);
    const crashedAt = Date.now();
    await until(() => b.leader, 'b to lead');
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(fast.ttlMs - 3 * fast.heartbeatMs - 10);
  });

  it('a leader that closes (pagehide) frees the lease at once', async () => {
    const storage = fakeStorage();
    const slow = { ttlMs: 10_000, heartbeatMs: 20, settleMs: 10 };
    const page = new EventTarget();
    const a = track(leaseElection({ ...slow, key: LEASE_KEY, storage, id: 'a', events: page as unknown as PageEventsLike }));
    await until(() => a.leader, 'a to lead');
    const b = track(leaseElection({ ...slow, key: LEASE_KEY, storage, id: 'b' }));
    await sleep(40);
    expect(b.leader).toBe(false);
    page.dispatchEvent(new Event('pagehide'));
    expect(a.leader).toBe(false);
    await until(() => b.leader, 'b to lead', 1_000);
  });

  it('of two tabs that both lead (the race), the one with the larger id steps down', async () => {
    const storage = fakeStorage();
    const a = track(leaseElection({ ...fast, key: LEASE_KEY, storage, id: 'b' }));
    await until(() => a.leader, 'b to lead');
    const changes: boolean[] = [];
    a.onChange((l) => changes.push(l));
    // The other claim of a lost race shows up: 'a' < 'b', so 'b' yields.
    storage.setItem(LEASE_KEY, JSON.stringify({ id: 'a', until: Date.now() + 10_000 }));
    await until(() => !a.leader, 'b to step down');
    expect(changes).toEqual([false]);
  });

  it('the one with the smaller id keeps leading and rewrites its lease', async () => {
    const storage = fakeStorage();
    const a = track(leaseElection({ ...fast, key: LEASE_KEY, storage, id: 'a' }));
    await until(() => a.leader, 'a to lead');
    storage.setItem(LEASE_KEY, JSON.stringify({ id: 'z', until: Date.now() + 10_000 }));
    await until(() => JSON.parse(storage.getItem(LEASE_KEY)!).id === 'a', 'a to rewrite its lease');
    expect(a.leader).toBe(true);
  });

  it('a leader whose timers were frozen past its lease yields to the tab that took over', async () => {
    const storage = fakeStorage();
    let skew = 0;
    const a = track(leaseElection({ ...fast, key: LEASE_KEY, storage, id: 'a', now: () => Date.now() + skew }));
    await until(() => a.leader, 'a to lead');
    // a sleeps longer than the lease; 'z' (a larger id) took over meanwhile.
    skew = fast.ttlMs + 50;
    storage.setItem(LEASE_KEY, JSON.stringify({ id: 'z', until: Date.now() + skew + 10_000 }));
    await until(() => !a.leader, 'a to step down');
    expect(JSON.parse(storage.getItem(LEASE_KEY)!).id).toBe('z');
  });
});

describe('pickElection', () => {
  const locks = new FakeLocks();
  it('uses Web Locks when they exist, the lease without them, this tab alone without BroadcastChannel or storage', () => {
    expect(track(pickElection({ names, id: 'a', locks: locks.manager('a'), storage: fakeStorage(), channel: true })).kind).toBe('locks');
    expect(track(pickElection({ names, id: 'b', locks: undefined, storage: fakeStorage(), channel: true })).kind).toBe('lease');
    const solo = track(pickElection({ names, id: 'c', locks: locks.manager('c'), storage: fakeStorage(), channel: false }));
    expect(solo.kind).toBe('solo');
    expect(solo.leader).toBe(true);
    expect(track(pickElection({ names, id: 'd', channel: true })).kind).toBe('solo');
  });
});
