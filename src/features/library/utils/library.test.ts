import { describe, expect, it } from 'vitest';
import { unzipSync, strFromU8 } from 'fflate';
import type { ImageRecord } from '@/lib/db/schema';
import { DEFAULT_QUERY, buildView, filterView, runQuery, tagCounts, tagCountsIdle, warmView, type Query } from './search';
import { applyCull, addUserTag, derivedFrom } from './culling';
import { clickSelect, EMPTY_SELECTION, moveFocus, selectAll } from './selection';
import { buildXmp } from './xmp';
import { buildExportZip, uniqueNames } from './export-zip';

function rec(id: string, extra: Partial<ImageRecord> = {}): ImageRecord {
  return { id, hash: id, name: `${id}.png`, mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 0, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1, ...extra };
}

const lib = [
  rec('a', { name: 'beach.jpg', addedAt: 1, rating: 5, flag: 'pick', takenAt: 50, tags: [{ name: 'sea', score: null, source: 'ai' }, { name: 'sunset', score: null, source: 'user' }] }),
  rec('b', { name: 'forest.png', addedAt: 2, rating: 2, analysis: { caption: 'A misty pine forest', model: 'm', at: 1 }, tags: [{ name: 'sea', score: null, source: 'ai' }] }),
  rec('c', { name: 'img10.png', addedAt: 3, flag: 'reject', origin: 'generated', params: { prompt: 'a cyberpunk cat', source: 'atelier' }, analysis: { caption: 'cat', model: 'm', at: 1, nsfw: { label: 'nsfw', score: 0.9 } } }),
  rec('d', { name: 'img9.png', addedAt: 4, rating: 3, takenAt: 10 }),
];
const q = (over: Partial<Query>) => runQuery(lib, { ...DEFAULT_QUERY, ...over });

describe('search, filters and sort', () => {
  it('sorts by date added, newest first, by default', () => expect(q({})).toEqual(['d', 'c', 'b', 'a']));
  it('searches file name, caption, tags and prompt, all words must match', () => {
    expect(q({ text: 'FOREST' })).toEqual(['b']);
    expect(q({ text: 'misty pine' })).toEqual(['b']);
    expect(q({ text: 'sunset' })).toEqual(['a']);
    expect(q({ text: 'cyberpunk' })).toEqual(['c']);
    expect(q({ text: 'cat forest' })).toEqual([]);
  });
  it('filters by minimum rating, flag, origin, analysed and NSFW', () => {
    expect(q({ minRating: 3 })).toEqual(['d', 'a']);
    expect(q({ flag: 'pick' })).toEqual(['a']);
    expect(q({ flag: 'not-rejected' })).toEqual(['d', 'b', 'a']);
    expect(q({ origin: 'generated' })).toEqual(['c']);
    expect(q({ analysed: 'no' })).toEqual(['d', 'a']);
    expect(q({ nsfw: 'safe' })).toEqual(['d', 'b', 'a']);
  });
  it('searches what an A1111 image was made with: negative prompt, sampler and model', () => {
    const a1111 = rec('e', { params: { prompt: 'a lighthouse', negativePrompt: 'blurry, lowres', sampler: 'DPM++ 2M Karras', model: 'juggernautXL_v9', source: 'a1111' } });
    const all = [...lib, a1111];
    const find = (text: string) => runQuery(all, { ...DEFAULT_QUERY, text });
    expect(find('lowres')).toEqual(['e']);
    expect(find('karras')).toEqual(['e']);
    expect(find('juggernaut')).toEqual(['e']);
  });
  it("filters NSFW by the user's threshold over the stored score, and honours a per-image override", () => {
    const scored = [
      rec('n1', { analysis: { caption: '', model: 'm', at: 1, nsfw: { label: 'nsfw', score: 0.55 } } }),
      rec('n2', { analysis: { caption: '', model: 'm', at: 1, nsfw: { label: 'nsfw', score: 0.92 } }, nsfwOverride: 'safe' }),
      rec('n3', { analysis: { caption: '', model: 'm', at: 1, nsfw: { label: 'safe', score: 0.2 } }, nsfwOverride: 'nsfw' }),
    ];
    const nsfw = (threshold?: number) => filterView(buildView(scored, 'name', false), { ...DEFAULT_QUERY, nsfw: 'nsfw' }, threshold);
    expect(nsfw()).toEqual(['n1', 'n3']);
    expect(nsfw(0.6)).toEqual(['n3']);
  });
  it('requires all chosen tags', () => {
    expect(q({ tags: ['sea'] })).toEqual(['b', 'a']);
    expect(q({ tags: ['Sea', 'sunset'] })).toEqual(['a']);
  });
  it('sorts by name naturally, by rating and by date taken', () => {
    expect(q({ sort: 'name', desc: false })).toEqual(['a', 'b', 'd', 'c']);
    expect(q({ sort: 'rating' })).toEqual(['a', 'd', 'b', 'c']);
    expect(q({ sort: 'taken', desc: false })).toEqual(['b', 'c', 'd', 'a']);
  });
  it('counts tags', () => expect(tagCounts(lib)[0]).toEqual({ name: 'sea', count: 2 }));
  it('searches 50k records within budget', () => {
    const big = Array.from({ length: 50_000 }, (_, i) => rec(`r${i}`, { name: `IMG_${i}.jpg`, addedAt: i, tags: [{ name: i % 7 ? 'dog' : 'cat', score: null, source: 'ai' }] }));
    runQuery(big, { ...DEFAULT_QUERY, text: 'warm' });
    const t = performance.now();
    const out = runQuery(big, { ...DEFAULT_QUERY, text: 'img_4 cat' });
    expect(out.length).toBeGreaterThan(0);
    expect(performance.now() - t).toBeLessThan(200); // generous for CI; the bench measures the browser
  });
});

describe('culling', () => {
  it('marks images safe or NSFW by hand, and back to automatic', () => {
    const [a, b] = applyCull([lib[1]!, lib[2]!], { type: 'nsfw', value: 'safe' });
    expect(a!.nsfwOverride).toBe('safe');
    expect(b!.nsfwOverride).toBe('safe');
    expect('nsfwOverride' in applyCull([a!], { type: 'nsfw', value: undefined })[0]!).toBe(false);
    expect(applyCull([a!], { type: 'nsfw', value: 'safe' })).toEqual([]);
  });
  it('changes only the records that differ', () => {
    expect(applyCull(lib, { type: 'rate', rating: 5 }).map((r) => r.id)).toEqual(['b', 'c', 'd']);
    expect(applyCull(lib, { type: 'flag', flag: 'none' }).map((r) => r.id)).toEqual(['a', 'c']);
    expect(applyCull([lib[0]!], { type: 'rate', rating: 0 })[0]!.rating).toBe(0);
  });
  it('adds a user tag over an AI tag of the same name', () => {
    expect(addUserTag(lib[0]!, 'SEA').tags).toEqual([{ name: 'sunset', score: null, source: 'user' }, { name: 'SEA', score: null, source: 'user' }]);
  });
  it('finds images derived from a source', () => {
    const kids = [rec('k1', { lineage: { sourceId: 'a', action: 'enhance' }, addedAt: 9 }), rec('k2', { lineage: { sourceId: 'b', action: 'remix' } })];
    expect(derivedFrom([...lib, ...kids], 'a').map((r) => r.id)).toEqual(['k1']);
  });
});

describe('selection', () => {
  const order = ['a', 'b', 'c', 'd', 'e'];
  it('click selects one, ctrl toggles, shift selects a range from the anchor', () => {
    let s = clickSelect(EMPTY_SELECTION, order, 'b', {});
    s = clickSelect(s, order, 'd', { shift: true });
    expect([...s.ids]).toEqual(['b', 'c', 'd']);
    s = clickSelect(s, order, 'c', { toggle: true });
    expect([...s.ids].sort()).toEqual(['b', 'd']);
    s = clickSelect(s, order, 'a', { shift: true });
    expect([...s.ids]).toEqual(['a', 'b', 'c']);
  });
  it('selects all and moves focus with the keyboard', () => {
    expect(selectAll(order, null).ids.size).toBe(5);
    let s = moveFocus(EMPTY_SELECTION, order, 1, false);
    expect(s.focus).toBe('a');
    s = moveFocus(s, order, 2, true);
    expect([...s.ids]).toEqual(['a', 'b', 'c']);
    expect(moveFocus(s, order, 99, false).focus).toBe('e');
  });
});

describe('export', () => {
  it('writes an XMP sidecar with dc:subject tags and xmp:Rating', () => {
    const xmp = buildXmp(rec('x', { rating: 4, tags: [{ name: 'sea & sky', score: null, source: 'user' }, { name: 'boat', score: null, source: 'ai' }], caption: 'a <small> boat' }));
    expect(xmp).toContain('xmp:Rating="4"');
    expect(xmp).toMatch(/<dc:subject>\s*<rdf:Bag>\s*<rdf:li>sea &amp; sky<\/rdf:li>\s*<rdf:li>boat<\/rdf:li>/);
    expect(xmp).toContain('a &lt;small&gt; boat');
    expect(buildXmp(rec('y', { flag: 'reject', rating: 3 }))).toContain('xmp:Rating="-1"');
  });
  it('names files uniquely, basenames included', () => {
    expect(uniqueNames(['a.png', 'a.png', 'a.jpg', 'b/c.png'])).toEqual(['a.png', 'a (2).png', 'a (3).jpg', 'b_c.png']);
  });
  it('zips originals byte for byte with one sidecar each', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const zip = buildExportZip([{ record: rec('p', { name: 'p.png', rating: 2 }), original: bytes }, { record: rec('q', { name: 'p.png' }), original: bytes }]);
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['p (2).png', 'p (2).xmp', 'p.png', 'p.xmp']);
    expect([...files['p.png']!]).toEqual([1, 2, 3]);
    expect(strFromU8(files['p.xmp']!)).toContain('xmp:Rating="2"');
  });
});

describe('idle work over the library', () => {
  /** runs slices synchronously with a deadline that allows `budget` clock checks per slice */
  const slices = (budget: number) => {
    let calls = 0;
    const schedule = (slice: (d: { timeRemaining(): number }) => boolean) => {
      let checks = 0;
      const d = { timeRemaining: () => (++checks > budget ? 0 : 10) };
      while (!slice(d)) {
        calls++;
        checks = 0;
      }
      return () => {};
    };
    return { schedule, calls: () => calls };
  };
  const many = Array.from({ length: 2000 }, (_, i) => ({ ...lib[i % lib.length]!, id: `r${i}` }));

  it('counts tags in slices to the same result as counting at once', () => {
    const s = slices(1);
    let got: ReturnType<typeof tagCounts> = [];
    tagCountsIdle(many, (t) => (got = t), 50, s.schedule);
    expect(got).toEqual(tagCounts(many));
    expect(s.calls()).toBeGreaterThan(1); // it really yielded
  });

  it('warms every haystack of a view, slice by slice', () => {
    const v = buildView(many, 'added', true);
    const s = slices(1);
    warmView(v, s.schedule);
    expect(v.hays.every((h) => typeof h === 'string')).toBe(true);
    expect(s.calls()).toBeGreaterThan(1);
  });
});
