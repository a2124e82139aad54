/// <reference types="node" />
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settings } from '@/lib/api';
import { editRecords } from '@/lib/db/library-api';
import { clearLibrary, getRecord, putRecords } from '@/lib/db/records';
import { on } from '@/lib/db/events';
import type { AnalysisResult, ImageRecord } from '@/lib/db/schema';
import { envelope, startFakeBackend, type FakeBackend } from '@/test/fake-backend';
import { atelierAnalyzer } from '../api/atelier-analyzer';
import { memoryPersistence } from '@/test/memory-persistence';
import { AnalysisQueue, type SchedulerOptions } from './scheduler';
import { librarySink } from './library-sink';
import type { Priority, QueueItem, ResultSink } from './types';

const ids = (n: number, prefix = 'img') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/**
 * The library side is the production one: records in (fake) IndexedDB, results written by the
 * sink the app uses. `writes` lists, per record, the key of every result actually written (the
 * library announces each write), so a replayed result written again shows up as a second entry.
 */
function realLibrary() {
  const writes = new Map<string, string[]>();
  const deleted = new Set<string>();
  /** entries per sink call, and records per library write ('updated' event) */
  const calls: number[] = [];
  const updates: number[] = [];
  const off = on('updated', (recs) => {
    updates.push(recs.length);
    for (const r of recs) writes.set(r.id, [...(writes.get(r.id) ?? []), r.analysis?.key ?? '(no key)']);
  });
  /** the records exist before they are queued (unless "deleted meanwhile") */
  const add = (recordIds: readonly string[]) => putRecords(recordIds.filter((id) => !deleted.has(id)).map(record));
  const images = async (id: string) => (id.startsWith('gone') ? undefined : new Blob([id], { type: 'image/png' }));
  const production = librarySink();
  const sink: ResultSink = (entries) => {
    calls.push(entries.length);
    return production(entries);
  };
  return { writes, deleted, add, images, off, sink, calls, updates };
}

function record(id: string): ImageRecord {
  return { id, hash: id, name: `${id}.png`, mime: 'image/png', bytes: 1, width: 8, height: 8, addedAt: 1, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 8, thumbH: 8 };
}

let backend: FakeBackend;
let store: Map<string, QueueItem>;
let lib: ReturnType<typeof realLibrary>;
const queues: AnalysisQueue[] = [];

function makeQueue(opts: Partial<SchedulerOptions> = {}) {
  const analyzer = atelierAnalyzer({ images: lib.images });
  const q = new AnalysisQueue({
    persistence: memoryPersistence(store),
    analyzer: () => analyzer,
    sink: lib.sink,
    backoffBaseMs: 10,
    backoffMaxMs: 40,
    probeMinMs: 20,
    probeMaxMs: 50,
    loadCheckMs: 0,
    ...opts,
  });
  queues.push(q);
  return q;
}

beforeEach(async () => {
  backend = await startFakeBackend();
  settings.set({ backendUrl: backend.url, apiKey: '' });
  store = new Map();
  await clearLibrary();
  lib = realLibrary();
});

afterEach(async () => {
  for (const q of queues.splice(0)) q.stop();
  lib.off();
  await backend.close();
});

async function until(pred: () => boolean, timeoutMs = 5_000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Queue records that exist in the library (the app queues only those). */
async function enqueue(q: AnalysisQueue, recordIds: readonly string[], priority?: Priority) {
  await lib.add(recordIds);
  await q.enqueue(recordIds, priority);
}

function expectEachWrittenOnce(records: string[]) {
  for (const id of records) expect(lib.writes.get(id), id).toHaveLength(1);
}

describe('AnalysisQueue', () => {
  it('analyses every record in batches of at most 16 and writes each result once', async () => {
    const q = makeQueue();
    await enqueue(q, ids(40));
    await q.idle();
    expect(backend.batches.every((b) => b.length <= 16)).toBe(true);
    expect(backend.batches.flat().sort()).toEqual(ids(40).sort());
    expectEachWrittenOnce(ids(40));
    const snap = q.getSnapshot();
    expect(snap.done).toBe(40);
    expect(snap.total).toBe(40);
  });

  it('applies each batch to the library in one sink call, and drops records deleted meanwhile', async () => {
    const q = makeQueue({ maxConcurrency: 1 });
    lib.deleted.add('img3');
    await enqueue(q, ids(20));
    await q.idle();
    // one library write per batch, never one per image
    expect(lib.calls).toEqual(backend.batches.map((b) => b.length));
    expect(lib.updates).toEqual(backend.batches.map((b) => b.filter((id) => id !== 'img3').length));
    expect(lib.writes.has('img3')).toBe(false);
    expectEachWrittenOnce(ids(20).filter((id) => id !== 'img3'));
    expect(q.getSnapshot()).toMatchObject({ done: 19, failed: 0 });
    expect([...store.values()].some((it) => it.recordId === 'img3')).toBe(false);
  });

  it('sends user-requested work before queued auto work', async () => {
    backend.latencyMs = 30;
    const q = makeQueue({ maxConcurrency: 1, initialBatch: 16 });
    await enqueue(q, ids(48, 'auto'), 'auto');
    await enqueue(q, ['mine1', 'mine2'], 'user');
    await q.idle();
    // The first auto batch may already be in flight; the user's batch comes right after it.
    const userBatch = backend.batches.findIndex((b) => b.includes('mine1'));
    expect(userBatch).toBeLessThanOrEqual(1);
    expect(backend.batches[userBatch]).toEqual(['mine1', 'mine2']);
  });

  it('retries transient 5xx errors with backoff, then succeeds', async () => {
    backend.onBatch = (_ids, call) => (call < 2 ? { status: 500, body: envelope('boom', 'internal_error', 'server_error') } : undefined);
    const q = makeQueue();
    const started = Date.now();
    await enqueue(q, ids(3));
    await q.idle();
    expectEachWrittenOnce(ids(3));
    // two backoffs: at least base/2 and base (equal jitter) = 5 + 10 ms
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('gives up after maxAttempts transient failures and reports the reason', async () => {
    backend.onBatch = () => ({ status: 503, body: envelope('GPU on fire', 'internal_error', 'server_error') });
    const q = makeQueue({ maxAttempts: 3 });
    await enqueue(q, ['a']);
    await q.idle();
    const snap = q.getSnapshot();
    expect(snap.failed).toBe(1);
    expect(snap.failures[0]).toMatchObject({ recordId: 'a', error: 'GPU on fire', attempts: 3 });
  });

  it('does not retry a deterministic 4xx, and one bad image does not fail its batch', async () => {
    let calls = 0;
    backend.onBatch = (batch) => {
      calls++;
      return batch.includes('bad') ? { status: 400, body: envelope('image 0 is not a valid image', 'invalid_image'), headers: { 'x-should-retry': 'false' } } : undefined;
    };
    const q = makeQueue();
    await enqueue(q, ['ok1', 'bad', 'ok2']);
    await q.idle();
    expectEachWrittenOnce(['ok1', 'ok2']);
    expect(lib.writes.has('bad')).toBe(false);
    // one batch call, then each image alone: the bad one is tried exactly once more
    expect(calls).toBe(4);
    expect(q.getSnapshot().failures).toEqual([expect.objectContaining({ recordId: 'bad', code: 'invalid_image', attempts: 1 })]);
  });

  it('fails a record that left the library without calling the backend for it', async () => {
    const q = makeQueue();
    await enqueue(q, ['gone1', 'here']);
    await q.idle();
    expectEachWrittenOnce(['here']);
    expect(backend.batches.flat()).toEqual(['here']);
    expect(q.getSnapshot().failures[0]?.recordId).toBe('gone1');
  });

  it('waits for Retry-After on 429 and halves its concurrency', async () => {
    const times: number[] = [];
    backend.onBatch = (_b, call) => {
      times.push(Date.now());
      return call === 0 ? { status: 429, body: envelope('queue full', 'queue_full', 'rate_limit_error'), headers: { 'retry-after': '0.3' } } : undefined;
    };
    const q = makeQueue({ maxConcurrency: 1 });
    await enqueue(q, ids(2));
    await q.idle();
    expectEachWrittenOnce(ids(2));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(280);
    expect(q.getSnapshot().concurrency).toBe(1);
  });

  it('never has more batches in flight than its limit, and grows only while the backend queue is short', async () => {
    backend.latencyMs = 20;
    const q = makeQueue({ maxConcurrency: 3 });
    await enqueue(q, ids(16 * 12));
    await q.idle();
    expect(backend.maxConcurrent).toBeGreaterThan(1);
    expect(backend.maxConcurrent).toBeLessThanOrEqual(3);

    backend.maxConcurrent = 0;
    backend.queueDepth = 10; // someone is generating: step aside
    const q2 = makeQueue({ maxConcurrency: 3 });
    await enqueue(q2, ids(16 * 6, 'second'));
    await q2.idle();
    expect(q2.getSnapshot().concurrency).toBe(1);
  });

  it('keeps only the first call small until the speed is known: calls sent beside it are full', async () => {
    backend.latencyMs = 30;
    const q = makeQueue({ maxConcurrency: 2, initialBatch: 4, targetBatchMs: 1e9 });
    await enqueue(q, ids(36));
    await q.idle();
    expect(backend.batches.slice(0, 2).map((b) => b.length)).toEqual([4, 16]);
    expect(backend.batches).toHaveLength(3); // 4 + 16 + 16, not 4 + 4 + 16 + 12
    expectEachWrittenOnce(ids(36));
  });

  it('holds auto work while told to (an import runs), never user work, and goes on when woken', async () => {
    let hold = true;
    const q = makeQueue({ holdAuto: () => hold });
    await enqueue(q, ids(3, 'auto'), 'auto');
    await enqueue(q, ids(2, 'user'), 'user');
    await new Promise((r) => setTimeout(r, 150));
    expect(backend.batches.flat().sort()).toEqual(ids(2, 'user').map((id) => expect.stringContaining(id)));
    expect(q.getSnapshot()).toMatchObject({ state: 'waiting', pending: 3, reason: 'waits for the import to finish' });
    hold = false;
    q.wake();
    await q.idle();
    expectEachWrittenOnce([...ids(3, 'auto'), ...ids(2, 'user')]);
  });

  it('waits for a vision model instead of failing when none is downloaded, then runs by itself', async () => {
    const hint = "model 'moondream-2' is not downloaded: press Download next to it on the Status page, or run: make models MODELS=moondream-2";
    backend.models = [{ id: 'moondream-2', kind: 'vision', state: 'not_downloaded', download_hint: hint }];
    // The real backend answers a batch for a missing model with 409 model_not_downloaded.
    let refused = 0;
    backend.onBatch = () => (backend.models[0]!.state === 'not_downloaded' ? (refused++, { status: 409, body: envelope(hint, 'model_not_downloaded') }) : undefined);
    const q = makeQueue({ modelProbeMs: 20 });
    await enqueue(q, ids(20));
    await until(() => q.getSnapshot().state === 'needs-model');
    await new Promise((r) => setTimeout(r, 100)); // several checks go by: still waiting, nothing failed
    expect(q.getSnapshot()).toMatchObject({ state: 'needs-model', failed: 0, pending: 20, reason: hint });
    expect(refused).toBe(1); // one call learnt it; then the queue asks /v1/status, not the batch endpoint

    backend.models = [{ id: 'moondream-2', kind: 'vision', state: 'on_disk' }]; // the download finished
    await q.idle();
    expectEachWrittenOnce(ids(20));
    expect(q.getSnapshot()).toMatchObject({ failed: 0, done: 20 });
  });

  it("sizes the first call from the backend's measured speed when it has one", async () => {
    backend.msPerImage = 50; // fast: a full batch fits the target time
    const fast = makeQueue({ maxConcurrency: 1, initialBatch: 4, targetBatchMs: 10_000 });
    await enqueue(fast, ids(32));
    await fast.idle();
    expect(backend.batches.map((b) => b.length)).toEqual([16, 16]);
    fast.stop();

    backend.batches = [];
    backend.msPerImage = 2_500; // slow: 4 images per call keep each call near the target
    const slow = makeQueue({ maxConcurrency: 1, initialBatch: 8, targetBatchMs: 10_000 });
    await enqueue(slow, ids(8, 'slow'));
    await slow.idle();
    expect(backend.batches[0]).toHaveLength(4);
    expectEachWrittenOnce(ids(8, 'slow'));
  });

  it('sends two calls at once from the start when the backend knows its speed and its queue is short', async () => {
    backend.msPerImage = 50;
    backend.latencyMs = 60;
    const q = makeQueue({ maxConcurrency: 2, targetBatchMs: 10_000, loadCheckMs: 60_000 });
    await enqueue(q, ids(32));
    await q.idle();
    expect(backend.batches.map((b) => b.length)).toEqual([16, 16]);
    expect(backend.maxConcurrent).toBe(2);

    backend.batches = [];
    backend.maxConcurrent = 0;
    backend.queueDepth = 10; // busy with other work: one at a time
    const busy = makeQueue({ maxConcurrency: 2, targetBatchMs: 10_000, loadCheckMs: 60_000 });
    await enqueue(busy, ids(32, 'busy'));
    await busy.idle();
    expect(backend.maxConcurrent).toBe(1);
  });

  it('resumes after a reload exactly where it stopped, without writing anything twice', async () => {
    backend.latencyMs = 25;
    const first = makeQueue({ maxConcurrency: 2, initialBatch: 8, targetBatchMs: 1e9 });
    await enqueue(first, ids(100));
    // Let a few batches finish, then "close the tab" with requests in flight.
    while (![...store.values()].some((i) => i.state === 'done')) await new Promise((r) => setTimeout(r, 5));
    first.stop();
    const doneBefore = [...store.values()].filter((i) => i.state === 'done').length;
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(100);

    const second = makeQueue({ maxConcurrency: 2 });
    await second.start();
    await second.idle();
    expectEachWrittenOnce(ids(100));
    expect(second.getSnapshot()).toMatchObject({ done: 100, total: 100, failed: 0 });
  });

  it('reads the images while the claim is written, and sends only once the claim is durable', async () => {
    const events: string[] = [];
    const slow = memoryPersistence(store);
    const put = slow.putMany;
    slow.putMany = async (items) => {
      const claims = items.some((i) => i.state === 'claimed');
      if (claims) events.push('claim write starts');
      await new Promise((r) => setTimeout(r, 60));
      await put(items);
      if (claims) events.push('claim durable');
    };
    const images = lib.images;
    lib.images = async (id) => {
      if (!events.includes('image read')) events.push('image read');
      return images(id);
    };
    let claimedAtRequest: string[] = [];
    backend.onBatch = (sent) => {
      events.push('request');
      claimedAtRequest = sent.map((id) => [...store.values()].find((i) => i.recordId === id)?.state ?? 'missing');
      return undefined;
    };
    const q = makeQueue({ persistence: slow, initialBatch: 4 });
    await enqueue(q, ids(4));
    await q.idle();
    // the read overlaps the write (it starts before the write ends), the request waits for it
    expect(events.indexOf('image read')).toBeLessThan(events.indexOf('claim durable'));
    expect(events.indexOf('claim write starts')).toBeLessThan(events.indexOf('claim durable'));
    expect(events.slice(-2)).toEqual(['claim durable', 'request']);
    expect(claimedAtRequest).toEqual(['claimed', 'claimed', 'claimed', 'claimed']);
    expectEachWrittenOnce(ids(4));
  });

  it('re-applies a stored but unconfirmed result with the same key after a crash', async () => {
    const result: AnalysisResult = { caption: 'c', tags: [], model: 'm' };
    store.set('j1:r1', { key: 'j1:r1', jobId: 'j1', recordId: 'r1', priority: 'user', seq: 0, state: 'resolved', attempts: 0, notBefore: 0, result });
    // The library already has it (the crash came after the write, before `done` was stored).
    await lib.add(['r1']);
    await lib.sink([{ recordId: 'r1', result, key: 'j1:r1' }]);
    const q = makeQueue();
    await q.start();
    await q.idle();
    expect(lib.writes.get('r1')).toEqual(['j1:r1']);
    expect(store.get('j1:r1')?.state).toBe('done');
    expect(backend.batches).toEqual([]);
  });

  it('replays a batch after a crash between apply and acknowledge and leaves the records and the user edits as they were', async () => {
    const recordIds = ids(8, 'rec');
    let crashAfterApply = true;
    const first = makeQueue({
      maxConcurrency: 1,
      initialBatch: 8,
      // The library write lands, then the page dies before the queue can store `done`.
      sink: async (entries) => {
        const res = await lib.sink(entries);
        if (crashAfterApply) first.stop();
        return res;
      },
    });
    await enqueue(first, recordIds);
    await until(() => recordIds.every((id) => lib.writes.has(id)));
    expect([...store.values()].map((it) => it.state)).toEqual(recordIds.map(() => 'resolved'));
    crashAfterApply = false;

    // Before the next page starts, the user edits what the analysis wrote.
    const aiTag = 'test'; // the fake backend tags every image with it
    await editRecords(recordIds.slice(0, 2), (r) => ({
      ...r,
      tags: [...r.tags.filter((t) => t.name !== aiTag), { name: 'mine', score: null, source: 'user' }],
      rating: 4,
      caption: 'my words',
    }));
    const before = await Promise.all(recordIds.map((id) => getRecord(id)));
    expect(before[0]?.tags.some((t) => t.name === aiTag)).toBe(false);
    expect(before[2]?.tags.some((t) => t.name === aiTag)).toBe(true);
    await new Promise((r) => setTimeout(r, 5)); // a rewrite now would move `analysis.at`

    const second = makeQueue();
    await second.start();
    await second.idle();
    expect(await Promise.all(recordIds.map((id) => getRecord(id)))).toEqual(before);
    expect(backend.batches).toHaveLength(1); // the stored results were replayed, not asked for again
    expect([...store.values()].map((it) => it.state)).toEqual(recordIds.map(() => 'done'));
    for (const id of recordIds) expect(lib.writes.get(id), id).toHaveLength(id === 'rec0' || id === 'rec1' ? 2 : 1); // the result, plus the user's edit
  });

  it('pauses when the backend goes away and resumes by itself when it returns', async () => {
    backend.latencyMs = 15;
    const q = makeQueue({ maxConcurrency: 1 });
    await enqueue(q, ids(64));
    await new Promise((r) => setTimeout(r, 20));
    await backend.close();
    await new Promise((r) => setTimeout(r, 60));
    expect(q.getSnapshot().state).toBe('offline');
    await backend.restart();
    await q.idle();
    expectEachWrittenOnce(ids(64));
  });

  it('pause holds new batches, resume continues, clear forgets everything', async () => {
    const q = makeQueue();
    q.pause();
    await enqueue(q, ids(5));
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.batches).toEqual([]);
    expect(q.getSnapshot()).toMatchObject({ state: 'paused', pending: 5 });
    q.resume();
    await q.idle();
    expectEachWrittenOnce(ids(5));
    await q.clear();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.getSnapshot().total).toBe(0);
    expect(store.size).toBe(0);
  });

  it('does not queue a record twice, and a user request lifts a queued auto item', async () => {
    const q = makeQueue();
    q.pause();
    await enqueue(q, ['x', 'y'], 'auto');
    await enqueue(q, ['x'], 'user');
    await new Promise((r) => setTimeout(r, 0));
    expect(q.getSnapshot().total).toBe(2);
    q.resume();
    await q.idle();
    expect(backend.batches[0]).toEqual(['x']);
    expectEachWrittenOnce(['x', 'y']);
  });

  it('retries failed items on request', async () => {
    let fail = true;
    backend.onBatch = () => (fail ? { status: 400, body: envelope('nope', 'invalid_parameter') } : undefined);
    const q = makeQueue();
    await enqueue(q, ['a']);
    await q.idle();
    expect(q.getSnapshot().failed).toBe(1);
    fail = false;
    await q.retry();
    await q.idle();
    expectEachWrittenOnce(['a']);
    expect(q.getSnapshot().failed).toBe(0);
  });

  it('sizes batches to the measured speed: bigger when images are fast, smaller when slow', async () => {
    backend.latencyMs = 2;
    const fast = makeQueue({ targetBatchMs: 1_000, initialBatch: 2 });
    await enqueue(fast, ids(60));
    await fast.idle();
    expect(backend.batches[0]).toHaveLength(2);
    expect(Math.max(...backend.batches.map((b) => b.length))).toBe(16);

    backend.batches = [];
    backend.latencyMs = 60;
    const slow = makeQueue({ targetBatchMs: 20, initialBatch: 8, maxConcurrency: 1 });
    await enqueue(slow, ids(24, 'slow'));
    await slow.idle();
    expect(backend.batches[0]).toHaveLength(8);
    expect(Math.max(...backend.batches.slice(1).map((b) => b.length))).toBeLessThanOrEqual(2);
  });

  it('backs off exponentially with bounded jitter', () => {
    const lo = makeQueue({ backoffBaseMs: 100, backoffMaxMs: 1000, random: () => 0 });
    const hi = makeQueue({ backoffBaseMs: 100, backoffMaxMs: 1000, random: () => 0.999 });
    expect([1, 2, 3, 4, 5, 6].map((a) => lo.backoff(a))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(hi.backoff(3)).toBeGreaterThan(399);
    expect(hi.backoff(3)).toBeLessThanOrEqual(400);
  });
});
