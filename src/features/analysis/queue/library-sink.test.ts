import { beforeEach, describe, expect, it } from 'vitest';
import { on } from '@/lib/db/events';
import { editRecords } from '@/lib/db/library-api';
import { clearLibrary, getRecord, putRecords } from '@/lib/db/records';
import type { AnalysisResult, ImageRecord } from '@/lib/db/schema';
import { librarySink } from './library-sink';

const record = (id: string): ImageRecord => ({ id, hash: id, name: `${id}.png`, mime: 'image/png', bytes: 1, width: 8, height: 8, addedAt: 1, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 8, thumbH: 8 });
const result = (caption: string): AnalysisResult => ({ caption, tags: [{ name: 'cat', score: 0.9 }], model: 'tiny' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('librarySink', () => {
  beforeEach(async () => {
    await clearLibrary();
    await putRecords([record('a'), record('b')]);
  });

  it('writes a key once: a replay changes nothing and announces no update', async () => {
    const sink = librarySink();
    const updated: string[] = [];
    const off = on('updated', (recs) => updated.push(...recs.map((r) => r.id)));
    await sink([{ recordId: 'a', result: result('first'), key: 'j1:a' }]);
    const first = await getRecord('a');
    expect(first?.analysis).toMatchObject({ caption: 'first', key: 'j1:a' });
    await editRecords(['a'], (r) => ({ ...r, tags: [] })); // the user removes the AI tag
    const edited = await getRecord('a');
    await sleep(3);
    await sink([{ recordId: 'a', result: result('first'), key: 'j1:a' }]);
    expect(await getRecord('a')).toEqual(edited);
    expect(updated).toEqual(['a', 'a']); // the write and the user's edit, not the replay
    off();
  });

  it('writes a new key (a re-analysis) over the old result, and reports deleted records as gone', async () => {
    const sink = librarySink();
    await sink([{ recordId: 'a', result: result('first'), key: 'j1:a' }]);
    await sleep(3);
    const announced: string[][] = [];
    const again = librarySink((ids) => announced.push(ids));
    const res = await again([
      { recordId: 'a', result: result('second'), key: 'j2:a' },
      { recordId: 'gone', result: result('x'), key: 'j2:gone' },
    ]);
    expect(res).toEqual({ gone: ['gone'] });
    expect(announced).toEqual([['a']]);
    expect((await getRecord('a'))?.analysis).toMatchObject({ caption: 'second', key: 'j2:a' });
  });

  it('in one batch, writes the fresh entries and skips the replayed ones', async () => {
    const sink = librarySink();
    await sink([{ recordId: 'a', result: result('first'), key: 'j1:a' }]);
    const a = await getRecord('a');
    await sleep(3);
    await sink([
      { recordId: 'a', result: result('first'), key: 'j1:a' },
      { recordId: 'b', result: result('bee'), key: 'j1:b' },
    ]);
    expect(await getRecord('a')).toEqual(a);
    expect((await getRecord('b'))?.analysis).toMatchObject({ caption: 'bee', key: 'j1:b' });
  });
});
