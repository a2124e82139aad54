import { describe, expect, it } from 'vitest';
import { createHlc, parseStamp, ZERO_STAMP } from './hlc';
import { CREATED, mergeFields, sameToTheEye, stampChanges, stampNew, stampOf } from './fields';
import type { ImageRecord } from './schema';

const rec = (extra: Partial<ImageRecord> = {}): ImageRecord => ({
  id: 'a', hash: 'h', name: 'a.png', mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 1, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1, ...extra,
});

describe('hybrid logical clock', () => {
  it('orders stamps within one millisecond and when the wall clock goes back', () => {
    let t = 1000;
    const c = createHlc('aa', () => t);
    const a = c.now();
    const b = c.now();
    t = 900; // the clock was set back
    const d = c.now();
    expect(a < b && b < d).toBe(true);
    expect(parseStamp(d)).toEqual({ ms: 1000, counter: 2, clientId: 'aa' });
  });

  it('moves past a stamp received from another client, whatever the local wall clock says', () => {
    const slow = createHlc('slow', () => 10);
    const fast = createHlc('fast', () => 5_000);
    const seen = fast.now();
    slow.receive(seen);
    expect(slow.now() > seen).toBe(true);
    slow.receive('garbage');
    expect(ZERO_STAMP < seen).toBe(true);
  });
});

describe('field-wise merge', () => {
  const c = createHlc('x', () => 2000);
  const s0 = c.now();

  it('stamps only the fields a write changed', () => {
    const base = stampNew(rec(), s0);
    const s1 = c.now();
    const rated = stampChanges(base, { ...base, rating: 3 }, s1);
    expect(rated.stamps).toEqual({ [CREATED]: s0, rating: s1 });
    expect(stampChanges(rated, { ...rated }, c.now()).stamps).toEqual(rated.stamps);
    expect(stampOf(rated, 'flag')).toBe(s0);
  });

  it('keeps different fields edited on two devices, and the later write of the same field', () => {
    const base = stampNew(rec(), s0);
    const a = createHlc('a', () => 3000);
    const b = createHlc('b', () => 3000);
    const onA = stampChanges(base, { ...base, rating: 4, caption: 'from A' }, a.now());
    const sb = b.now();
    b.receive(sb);
    const onB = stampChanges(base, { ...base, flag: 'pick', caption: 'from B' }, b.now());
    const ab = mergeFields(onA, onB);
    const ba = mergeFields(onB, onA);
    for (const m of [ab, ba]) {
      expect(m.rating).toBe(4);
      expect(m.flag).toBe('pick');
      // both at ms 3000: B's counter is ahead (it stamped twice), so B's caption is the later write
      expect(m.caption).toBe('from B');
    }
    expect(ab.stamps).toEqual(ba.stamps);
  });

  it('a removal that is the later write stays removed', () => {
    const base = stampNew(rec({ caption: 'old' }), s0);
    const removed = stampChanges(base, rec(), c.now());
    expect(mergeFields(base, removed).caption).toBeUndefined();
    expect(mergeFields(removed, base)).toBe(removed);
  });
});

describe('what the user sees of a record', () => {
  it("is the same when only sync's bookkeeping changed (stamps, the thumbnail's hash)", () => {
    const before = rec({ tags: [{ name: 'cat', score: null, source: 'user' }] });
    expect(sameToTheEye(before, { ...before, thumbHash: 'ab'.repeat(32), stamps: { [CREATED]: 'x', thumbHash: 'y' } })).toBe(true);
    expect(sameToTheEye(before, { ...before, tags: [{ name: 'cat', score: null, source: 'user' }] })).toBe(true);
  });

  it('differs when a shown field changed, was added or was removed', () => {
    const before = rec({ caption: 'a cat' });
    expect(sameToTheEye(before, { ...before, rating: 3 })).toBe(false);
    expect(sameToTheEye(before, { ...before, tags: [{ name: 'cat', score: null, source: 'user' }] })).toBe(false);
    const { caption: _, ...without } = before;
    expect(sameToTheEye(before, without)).toBe(false);
    expect(sameToTheEye(before, { ...before, camera: 'X100' })).toBe(false);
  });
});
