import { describe, expect, expectTypeOf, it } from 'vitest';
import { createStore, get, set } from 'idb-keyval';
import type { WireTag } from '@/lib/api/types';
import { mergeAnalysis } from './analysis';
import { stampChanges, stampNew } from './fields';
import { formatStamp } from './hlc';
import { getRecord, loadAllRecords, loadAllRecordsPaged, updateRecord } from './records';
import type { AnalysisResult, ImageRecord, Tag } from './schema';
import { readRecord } from './stored';
import type { Stores } from './stores';

let n = 0;
function freshStores(): Stores {
  n++;
  return { meta: createStore(`st${n}-meta`, 'meta'), thumbs: createStore(`st${n}-thumbs`, 'thumbs'), originals: createStore(`st${n}-orig`, 'originals') };
}

const base = { hash: 'h', name: 'a.png', mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 1000, origin: 'imported', rating: 0, flag: 'none', thumbW: 1, thumbH: 1 } as const;
/** A record as earlier versions stored it: tags without `score` (a user tag, and an AI tag that had none). */
const oldRecord = (id: string) => ({ ...base, id, tags: [{ name: 'trip', source: 'user' }, { name: 'sea', source: 'ai' }, { name: 'boat', source: 'ai', score: 0.8 }] });
const upgraded: Tag[] = [{ name: 'trip', score: null, source: 'user' }, { name: 'sea', score: null, source: 'ai' }, { name: 'boat', score: 0.8, source: 'ai' }];

describe('one tag shape from the wire to the record', () => {
  it('the analysis result and the record use the generated wire tag (the record adds only its source)', () => {
    expectTypeOf<AnalysisResult['tags'][number]>().toEqualTypeOf<WireTag>();
    expectTypeOf<Tag>().toEqualTypeOf<WireTag & { source: 'ai' | 'user' }>();
  });

  it('an analysis result lands in the record with its tags as sent, null scores included', () => {
    const sent: WireTag[] = [{ name: 'cat', score: 0.93 }, { name: 'sofa', score: null }];
    const out = mergeAnalysis(readRecord({ ...base, id: 'a', tags: [] }), { caption: 'a cat', tags: sent, model: 'm' }, 5);
    expect(out.tags).toStrictEqual(sent.map((t) => ({ ...t, source: 'ai' })));
  });
});

describe('records stored before every tag had a score', () => {
  it('read with score null, wherever they are read from', async () => {
    const s = freshStores();
    await set('old', oldRecord('old'), s.meta);
    expect((await getRecord('old', s))!.tags).toStrictEqual(upgraded);
    expect((await loadAllRecords(s))[0]!.tags).toStrictEqual(upgraded);
    expect((await loadAllRecordsPaged(undefined, 10, s))[0]!.tags).toStrictEqual(upgraded);
  });

  it('a record in the current shape is returned as it is, without a copy', () => {
    const r: ImageRecord = { ...base, id: 'x', tags: upgraded };
    expect(readRecord(r)).toBe(r);
  });

  it('an edit of another field does not stamp the tags (sync sees no tag edit), and stores the new shape', async () => {
    const s = freshStores();
    const created = formatStamp(1000, 0, 'c1');
    await set('old', { ...oldRecord('old'), stamps: { $: created } }, s.meta);
    const edited = await updateRecord('old', (r) => stampChanges(r, { ...r, rating: 4 }, formatStamp(2000, 0, 'c1')), s);
    expect(edited!.stamps).toEqual({ $: created, rating: formatStamp(2000, 0, 'c1') });
    expect(((await get('old', s.meta)) as ImageRecord).tags).toStrictEqual(upgraded);
  });

  it('reading alone writes nothing back', async () => {
    const s = freshStores();
    await set('old', oldRecord('old'), s.meta);
    await updateRecord('old', (r) => r, s);
    expect(((await get('old', s.meta)) as { tags: object[] }).tags).toStrictEqual(oldRecord('old').tags);
  });

  it('a re-analysis keeps the old user tag (score null) and replaces the AI ones', async () => {
    const s = freshStores();
    await set('old', stampNew(oldRecord('old') as unknown as ImageRecord, formatStamp(1000, 0, 'c1')), s.meta);
    const out = await updateRecord('old', (r) => mergeAnalysis(r, { caption: 'a boat', tags: [{ name: 'harbour', score: 0.7 }], model: 'm' }, 5), s);
    expect(out!.tags).toStrictEqual([{ name: 'trip', score: null, source: 'user' }, { name: 'harbour', score: 0.7, source: 'ai' }]);
  });
});
