import { describe, expect, it } from 'vitest';
import { mergeFields, stampNew } from '@/lib/db/fields';
import { formatStamp } from '@/lib/db/hlc';
import type { ImageRecord } from '@/lib/db/schema';
import { fromChange, toChange, withCreationStamp } from './changes';

const rec = (extra: Partial<ImageRecord> = {}): ImageRecord => ({ id: 'a', hash: 'h', name: 'a.png', mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 5000, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1, ...extra });

describe('records as server changes', () => {
  it('a record round-trips through a change, stamps included', () => {
    const r = stampNew(rec({ caption: 'x' }), formatStamp(9000, 0, 'c1'));
    const c = toChange(r, 'c1');
    expect(c.fields).not.toHaveProperty('id');
    expect(c.fields).not.toHaveProperty('stamps');
    expect(fromChange({ id: c.id, seq: 1, fields: c.fields!, stamps: c.stamps!, deleted: null })).toEqual(r);
    expect(fromChange({ id: 'a', seq: 2, fields: {}, stamps: {}, deleted: formatStamp(9001, 0, 'c2') })).toBeNull();
  });

  it('a record from before stamps existed is created at its import time, so later edits win over it', () => {
    const legacy = rec({ rating: 2 });
    const c = toChange(legacy, 'c1');
    expect(c.stamps).toEqual({ $: formatStamp(5000, 0, 'c1') });
    const edited = { ...rec({ rating: 5 }), stamps: { $: formatStamp(5000, 0, 'c1'), rating: formatStamp(6000, 0, 'c2') } };
    expect(mergeFields(fromChange({ id: 'a', seq: 1, fields: c.fields!, stamps: c.stamps!, deleted: null })!, edited).rating).toBe(5);
  });

  it('a record from before stamps existed and stamped since for some fields only keeps those and gets a creation stamp', () => {
    // the first sync stamps the thumbnail hash it adds: the other fields have no stamp of their own
    const legacy = rec({ rating: 2, thumbHash: 't', stamps: { thumbHash: formatStamp(7000, 0, 'c1') } });
    const c = toChange(legacy, 'c1');
    expect(c.stamps).toEqual({ $: formatStamp(5000, 0, 'c1'), thumbHash: formatStamp(7000, 0, 'c1') });
    // a record with a creation stamp is sent as it is
    const stamped = stampNew(rec(), formatStamp(9000, 0, 'c1'));
    expect(toChange(stamped, 'c2').stamps).toEqual(stamped.stamps);
  });

  it('a record stored with the creation stamp its push carried is not rewritten when the change comes back', () => {
    const legacy = rec({ rating: 2, thumbHash: 'f'.repeat(64), stamps: { thumbHash: formatStamp(9000, 0, 'c1') } });
    const stored = withCreationStamp(legacy, 'c1');
    expect(toChange(stored, 'c1')).toEqual(toChange(legacy, 'c1'));
    const c = toChange(stored, 'c1');
    const back = fromChange({ id: c.id, seq: 1, fields: c.fields!, stamps: c.stamps!, deleted: null })!;
    expect(mergeFields(stored, back)).toBe(stored);
    expect(mergeFields(legacy, back)).not.toBe(legacy); // without it, every record is written again
    const created = stampNew(rec(), formatStamp(7000, 0, 'c2'));
    expect(withCreationStamp(created, 'c1')).toBe(created);
  });
});

describe('records pushed by an earlier version (tags without score)', () => {
  const oldFields = (tags: object[]) => ({ ...toChange(rec(), 'c1').fields!, tags });

  it('a pulled change is read with score null', () => {
    const r = fromChange({ id: 'a', seq: 1, fields: oldFields([{ name: 'sea', source: 'user' }]), stamps: { $: formatStamp(5000, 0, 'c1') }, deleted: null });
    expect(r!.tags).toStrictEqual([{ name: 'sea', score: null, source: 'user' }]);
  });

  it('merges per field as before: the later tag edit wins whichever shape it was written in', () => {
    const created = formatStamp(5000, 0, 'c1');
    const local = stampNew(rec({ tags: [{ name: 'boat', score: null, source: 'user' }] }), created);
    const later = fromChange({ id: 'a', seq: 1, fields: oldFields([{ name: 'sea', source: 'user' }]), stamps: { $: created, tags: formatStamp(7000, 0, 'c2') }, deleted: null })!;
    expect(mergeFields(local, later).tags).toStrictEqual([{ name: 'sea', score: null, source: 'user' }]);
    const earlier = fromChange({ id: 'a', seq: 2, fields: oldFields([{ name: 'sea', source: 'user' }]), stamps: { $: created }, deleted: null })!;
    const mine = { ...local, stamps: { $: created, tags: formatStamp(6000, 0, 'c1') } };
    expect(mergeFields(mine, earlier)).toBe(mine);
  });
});
