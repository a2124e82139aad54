import { describe, expect, it } from 'vitest';
import { FlowControl } from './flow-control';
import { Lanes } from './lanes';
import { queueSnapshot } from './snapshot';
import type { Priority, QueueItem } from './types';

function setup() {
  const items = new Map<string, QueueItem>();
  const lanes = new Lanes((k) => items.get(k));
  const add = (recordId: string, priority: Priority, patch: Partial<QueueItem> = {}) => {
    const it: QueueItem = { key: `j:${recordId}`, jobId: 'j', recordId, priority, seq: items.size, state: 'pending', attempts: 0, notBefore: 0, ...patch };
    items.set(it.key, it);
    lanes.push(priority, it.key);
    return it;
  };
  return { items, lanes, add };
}
const ids = (b: QueueItem[]) => b.map((i) => i.recordId);

describe('Lanes', () => {
  it('drains user work first, never mixes lanes in one batch, and skips items still backing off', () => {
    const { lanes, add } = setup();
    add('a1', 'auto');
    add('u1', 'user');
    add('u2', 'user', { notBefore: 50 });
    add('a2', 'auto');
    expect(ids(lanes.pick(10, 16, () => false).batch)).toEqual(['u1']);
    expect(lanes.nextWake(10)).toBe(50);
    expect(ids(lanes.pick(10, 16, () => false).batch)).toEqual(['a1', 'a2']);
    expect(ids(lanes.pick(60, 16, () => false).batch)).toEqual(['u2']);
    expect(lanes.hasWork()).toBe(false);
  });

  it('holds auto work while told to and says so; a solo item goes alone', () => {
    const { lanes, add } = setup();
    add('a1', 'auto');
    expect(lanes.pick(0, 16, () => true)).toEqual({ batch: [], heldAuto: true });
    add('u1', 'user');
    add('u2', 'user', { solo: true });
    add('u3', 'user');
    expect(ids(lanes.pick(0, 16, () => true).batch)).toEqual(['u1', 'u3']);
    expect(ids(lanes.pick(0, 16, () => true).batch)).toEqual(['u2']);
  });
});

describe('FlowControl', () => {
  const flow = () => new FlowControl({ maxConcurrency: 3, backoffBaseMs: 100, backoffMaxMs: 1000, highWater: 4, targetBatchMs: 1000, initialBatch: 4, random: () => 0 });

  it('grows by one while the backend is short of work, halves on 429 and waits Retry-After', () => {
    const f = flow();
    f.grow();
    f.grow();
    f.grow();
    expect(f.limit).toBe(3);
    f.rateLimited(1_000, 300);
    expect(f).toMatchObject({ limit: 1, cooldownUntil: 1_300 });
    f.backendQueue(2);
    expect(f.limit).toBe(2);
    f.backendQueue(10);
    expect(f.limit).toBe(1);
  });

  it('sizes batches: small first call while the speed is unknown, then to the target time', () => {
    const f = flow();
    expect(f.batchSize(16, 0)).toBe(4);
    expect(f.batchSize(16, 1)).toBe(16);
    f.learnSpeed(4, 1000); // 250 ms per image: 4 fit the 1 s target
    expect(f.batchSize(16, 0)).toBe(4);
    f.backendSpeed(10, 0); // known already: the page's own timing wins; an idle backend opens up
    expect(f.msPerImage).toBe(250);
    expect(f.limit).toBe(3);
  });
});

describe('queueSnapshot', () => {
  it('counts items by state and says why it waits', () => {
    const { items, add } = setup();
    add('p', 'user');
    add('c', 'user', { state: 'claimed' });
    add('f', 'user', { state: 'failed', error: 'bad', errorCode: 'invalid_image', attempts: 1 });
    add('d', 'user', { state: 'done' });
    const snap = queueSnapshot({ items: items.values(), total: items.size, now: 0, rate: 0, paused: false, offline: false, needsModel: false, requests: 0, limit: 1, cooldownUntil: 500, reason: 'backend busy' });
    expect(snap).toMatchObject({ state: 'waiting', total: 4, pending: 1, inflight: 1, done: 1, failed: 1, current: ['c'], resumeAt: 500, reason: 'backend busy' });
    expect(snap.failures).toEqual([{ key: 'j:f', recordId: 'f', error: 'bad', code: 'invalid_image', attempts: 1 }]);
  });
});
