// Several tabs sharing one analysis queue, with fake locks, channel and storage: one tab runs the
// queue, the others forward to it and show its progress, and a hand-over loses nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AnalysisResult } from '@/lib/db/schema';
import { memoryPersistence } from '@/test/memory-persistence';
import { pickElection, type Election } from '@/lib/leader/election';
import { AnalysisQueue } from './scheduler';
import { QUEUE_ELECTION, SharedQueue } from './shared-queue';
import { FakeHub, FakeLocks, fakeStorage, sleep, until } from '@/test/tab-fakes';
import type { Analyzer, QueueItem } from './types';

const result: AnalysisResult = { caption: 'a test image', tags: [{ name: 'test', score: null }], model: 'fake' };

let store: Map<string, QueueItem>;
let hub: FakeHub;
let locks: FakeLocks;
/** library writes per record (the sink ignores a key it has applied, as the real one must) */
let writes: Map<string, string[]>;
let applied: Set<string>;
const tabs: Tab[] = [];

interface Tab {
  id: string;
  q: SharedQueue;
  /** record ids this tab's analyzer was asked for */
  calls: string[];
  /** the AnalysisQueues this tab created (one per term as leader) */
  created: AnalysisQueue[];
  /** while true, analyze() never answers (a slow backend; a crash cuts it) */
  hold: boolean;
  /** records the leader told this tab it applied */
  heardApplied: string[];
  crash(): void;
}

type ElectionFor = (id: string) => Election;
const withLocks: ElectionFor = (id) => pickElection({ id, names: QUEUE_ELECTION, locks: locks.manager(id), channel: true });

/** the shared store, its writes taking `writeMs` (IndexedDB under load) */
function persistence(writeMs: number) {
  const p = memoryPersistence(store);
  if (!writeMs) return p;
  const slow = <A extends unknown[]>(fn: (...a: A) => Promise<void>) => async (...a: A) => {
    await sleep(writeMs);
    await fn(...a);
  };
  return { ...p, putMany: slow(p.putMany), deleteMany: slow(p.deleteMany) };
}

function tab(id: string, election: ElectionFor = withLocks, writeMs = 0): Tab {
  const t: Tab = {
    id,
    calls: [],
    created: [],
    hold: false,
    heardApplied: [],
    q: undefined as unknown as SharedQueue,
    crash() {
      t.q.stop();
      locks.crash(id);
    },
  };
  const analyzer: Analyzer = {
    maxBatch: 4,
    async analyze(ids, signal) {
      t.calls.push(...ids);
      await new Promise<void>((resolve, reject) => {
        const wait = () => (t.hold ? setTimeout(wait, 5) : resolve());
        signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        setTimeout(wait, 5);
      });
      return ids.map(() => ({ ok: true as const, result }));
    },
    probe: async () => undefined,
  };
  t.q = new SharedQueue({
    id,
    retryMs: 40,
    onApplied: (recs) => t.heardApplied.push(...recs),
    election,
    channel: () => hub.channel(id),
    create: () => {
      const q = new AnalysisQueue({
        persistence: persistence(writeMs),
        analyzer: () => analyzer,
        sink: async (entries) => {
          for (const { recordId, key } of entries) {
            if (applied.has(key)) continue;
            applied.add(key);
            writes.set(recordId, [...(writes.get(recordId) ?? []), key]);
            t.q.announceApplied(recordId);
          }
        },
        backoffBaseMs: 5,
        backoffMaxMs: 20,
      });
      t.created.push(q);
      return q;
    },
  });
  tabs.push(t);
  return t;
}

async function started(...ts: Tab[]): Promise<void> {
  for (const t of ts) void t.q.start();
  await until(() => tabs.filter((x) => x.q.isLeader).length === 1, 'a leader');
  const leader = tabs.find((x) => x.q.isLeader)!;
  await until(() => ts.every((t) => t === leader || t.q.role() === 'follower'), 'followers to hear the leader');
}

const ids = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const states = () => [...store.values()].map((it) => it.state);

function expectEachWrittenOnce(records: string[]) {
  for (const r of records) expect(writes.get(r), r).toHaveLength(1);
  expect(writes.size).toBe(records.length);
}

beforeEach(() => {
  store = new Map();
  hub = new FakeHub();
  locks = new FakeLocks();
  writes = new Map();
  applied = new Set();
});

afterEach(() => {
  for (const t of tabs.splice(0)) t.q.stop();
  vi.restoreAllMocks();
});

describe('shared analysis queue (Web Locks)', () => {
  it('runs the queue in exactly one of several tabs', async () => {
    const [a, b, c] = [tab('a'), tab('b'), tab('c')];
    await started(a, b, c);
    await sleep(30);
    expect([a, b, c].filter((t) => t.q.isLeader)).toHaveLength(1);
    // Only the leader ever made a queue (loaded the persisted items, talked to the backend).
    expect([a, b, c].flatMap((t) => t.created)).toHaveLength(1);
  });

  it("a follower's enqueue is acknowledged by the leader and run there exactly once", async () => {
    const a = tab('a', withLocks, 30);
    await started(a);
    const b = tab('b');
    await started(a, b);
    const enqueue = vi.spyOn(a.created[0]!, 'enqueue');
    // The first acknowledgement is lost: b must send the command again, a must not run it twice.
    let lost = 0;
    hub.drop = (msg) => msg['t'] === 'ack' && lost++ === 0;

    await b.q.enqueue(ids(6), 'auto');
    // Acknowledged means durable: the items are in the shared store.
    expect(store.size).toBe(6);
    expect(lost).toBe(2); // the lost ack, and the one for the repeat
    const sent = hub.log.filter((l) => l.from === 'b' && l.msg['t'] === 'cmd');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((l) => l.msg['id'])).size).toBe(1);
    expect(enqueue).toHaveBeenCalledTimes(1);
    expect(enqueue).toHaveBeenCalledWith(ids(6), 'auto');

    await b.q.idle();
    await a.q.idle();
    expect(a.calls.sort()).toEqual(ids(6).sort());
    expect(b.calls).toEqual([]);
    expectEachWrittenOnce(ids(6));
    expect(states().every((s) => s === 'done')).toBe(true);
  });

  it('a follower hears back only once its items are durable in the leader', async () => {
    const a = tab('a', withLocks, 40); // IndexedDB under load
    await started(a);
    const b = tab('b');
    await started(a, b);
    await b.q.enqueue(ids(5));
    expect([...store.keys()]).toHaveLength(5);
    await b.q.clear();
    expect(store.size).toBe(0);
  });

  it("the leader's own commands run locally; a follower's commands act on the leader's queue", async () => {
    const [a, b] = [tab('a'), tab('b')];
    await started(a, b);
    const leader = a.q.isLeader ? a : b;
    const follower = leader === a ? b : a;
    leader.hold = true;
    await leader.q.enqueue(ids(3, 'own'));
    follower.q.pause();
    await until(() => leader.q.getSnapshot().state === 'paused', 'the leader to pause');
    await until(() => follower.q.getSnapshot().state === 'paused', 'the follower to see it');
    await follower.q.clear();
    expect(store.size).toBe(0);
    follower.q.resume();
    leader.hold = false;
    await follower.q.enqueue(['after']);
    await follower.q.idle();
    expect(leader.calls).toContain('after');
    expect(follower.calls).toEqual([]);
  });

  it("followers show the leader's live snapshot, and a tab that opens later gets it at once", async () => {
    const [a, b] = [tab('a'), tab('b')];
    await started(a, b);
    const seen: number[] = [];
    b.q.subscribe(() => seen.push(b.q.getSnapshot().done));
    a.hold = true;
    await b.q.enqueue(ids(8));
    await until(() => a.q.getSnapshot().inflight > 0, 'a batch in flight');
    await until(() => b.q.getSnapshot().inflight === a.q.getSnapshot().inflight && b.q.getSnapshot().total === 8, 'b to see it');
    expect(b.q.getSnapshot()).toEqual(a.q.getSnapshot());
    a.hold = false;
    await until(() => b.q.getSnapshot().done === 8, 'b to see the end');
    expect(b.q.getSnapshot()).toEqual(a.q.getSnapshot());
    expect(seen.some((d) => d > 0 && d < 8)).toBe(true); // progress, not only the end

    // ...and which records got their results, to reload them into their own library.
    await until(() => b.heardApplied.length === 8, 'b to hear of every result');
    expect(b.heardApplied.sort()).toEqual(ids(8).sort());
    expect(a.heardApplied).toEqual([]);

    const c = tab('c');
    void c.q.start();
    await until(() => c.q.getSnapshot().done === 8, 'c to get the snapshot');
    expect(c.q.getSnapshot()).toEqual(a.q.getSnapshot());
    expect(c.q.role()).toBe('follower');
  });

  it('when the leader dies mid-batch, a follower takes over and finishes from the persisted queue', async () => {
    const a = tab('a');
    await started(a);
    const b = tab('b');
    await started(a, b);
    a.hold = true;
    await b.q.enqueue(ids(10));
    await until(() => states().includes('claimed') && a.calls.length > 0, 'a claim that is durable');
    const claimed = [...store.values()].filter((it) => it.state === 'claimed').map((it) => it.recordId);

    a.crash();
    await until(() => b.q.isLeader, 'b to lead');
    await b.q.idle();
    // b sent again what a had claimed (its request died with it) and everything else, once.
    expect(b.calls.sort()).toEqual(ids(10).sort());
    for (const r of claimed) expect(b.calls).toContain(r);
    expectEachWrittenOnce(ids(10));
    expect(states().every((s) => s === 'done')).toBe(true);
    expect(b.q.getSnapshot()).toMatchObject({ total: 10, done: 10, state: 'idle' });
  });

  it('a command no leader acknowledged is run by the tab that becomes leader', async () => {
    const a = tab('a');
    await started(a);
    const b = tab('b');
    await started(a, b);
    // a hears nothing more from b (it is busy dying).
    hub.drop = (_m, from, to) => from === 'b' && to === 'a';
    let acked = false;
    const done = b.q.enqueue(['x1', 'x2']).then(() => (acked = true));
    await sleep(150); // several retries
    expect(acked).toBe(false);
    expect(store.size).toBe(0);

    a.crash();
    await done;
    expect(b.q.isLeader).toBe(true);
    await b.q.idle();
    expect(b.calls.sort()).toEqual(['x1', 'x2']);
    expect(a.calls).toEqual([]);
    expectEachWrittenOnce(['x1', 'x2']);
  });

  it('a pause outlives the leader that was asked for it', async () => {
    const [a, b] = [tab('a'), tab('b')];
    await started(a, b);
    const leader = a.q.isLeader ? a : b;
    const follower = leader === a ? b : a;
    leader.hold = true;
    await follower.q.enqueue(ids(6));
    follower.q.pause();
    await until(() => follower.q.getSnapshot().state === 'paused', 'the pause to show');
    leader.crash();
    await until(() => follower.q.isLeader, 'the follower to lead');
    await sleep(50);
    expect(follower.q.getSnapshot().state).toBe('paused');
    expect(follower.calls).toEqual([]);
    follower.q.resume();
    await follower.q.idle();
    expectEachWrittenOnce(ids(6));
  });
});

describe('shared analysis queue without navigator.locks (localStorage lease)', () => {
  const lease = { ttlMs: 200, heartbeatMs: 20, settleMs: 10 };

  it('elects one leader, forwards to it, and a follower takes over after the leader dies', async () => {
    const storage = fakeStorage();
    const withLease: ElectionFor = (id) => {
      const e = pickElection({ id, names: QUEUE_ELECTION, locks: undefined, storage, channel: true, lease });
      expect(e.kind).toBe('lease');
      return e;
    };
    const [a, b, c] = [tab('a', withLease), tab('b', withLease), tab('c', withLease)];
    await started(a, b, c);
    for (let i = 0; i < 5; i++) {
      await sleep(lease.heartbeatMs);
      expect([a, b, c].filter((t) => t.q.isLeader)).toHaveLength(1);
    }
    const leader = [a, b, c].find((t) => t.q.isLeader)!;
    const followers = [a, b, c].filter((t) => t !== leader);
    leader.hold = true;
    await followers[0]!.q.enqueue(ids(8));
    await until(() => states().includes('claimed'), 'a claim');

    // A crash: the tab is gone, its lease stays behind until it expires.
    const held = storage.map.get(QUEUE_ELECTION.leaseKey)!;
    leader.crash();
    storage.map.set(QUEUE_ELECTION.leaseKey, held);
    await until(() => followers.some((t) => t.q.isLeader), 'a new leader', 2_000);
    const next = followers.find((t) => t.q.isLeader)!;
    await followers[1]!.q.enqueue(['late']);
    await next.q.idle();
    expect(followers.filter((t) => t.q.isLeader)).toHaveLength(1);
    expectEachWrittenOnce([...ids(8), 'late']);
    expect(states().every((s) => s === 'done')).toBe(true);
    expect(followers.flatMap((t) => t.created)).toHaveLength(1);
  });
});
