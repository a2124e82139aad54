import { describe, expect, it } from 'vitest';
import { createStore, entries } from 'idb-keyval';
import { clustered } from '@/test/vectors';
import { appendSegment, compact, readSegments, type VectorSegment } from './store';
import { paddedDim, quantizeMany } from './quantize';
import { createCore } from './worker-core';
import type { VectorNews } from './protocol';

let n = 0;
const freshStore = () => createStore(`vec-test-${++n}`, 'segments');

function segment(model: string, ids: string[], vectors: Float32Array[], dim: number): VectorSegment {
  return { model, dim, ids, ...quantizeMany(vectors, dim) };
}

describe('vector storage', () => {
  it('stores each image in less than 1 KB at 768 dimensions, tagged with its model and dimension', async () => {
    const store = freshStore();
    const dim = 768;
    const { vectors } = clustered({ n: 64, dim, clusters: 4, spread: 0.5, queries: 0, seed: 1 });
    const ids = vectors.map((_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await appendSegment(segment('siglip2-base', ids, vectors, dim), store);
    const [[, seg]] = (await readSegments(store)) as [[string, VectorSegment]];
    expect(seg.model).toBe('siglip2-base');
    expect(seg.dim).toBe(768);
    // int8 rows + float32 scales + the ids as UTF-16 (what IndexedDB's serialisation holds, roughly)
    const bytes = seg.data.byteLength + seg.scales.byteLength + seg.ids.reduce((s, id) => s + id.length * 2, 0);
    expect(bytes / ids.length).toBeLessThan(1024);
    expect(seg.data).toBeInstanceOf(Int8Array);
  });

  it('refuses a segment whose rows do not match its ids', async () => {
    const bad = { model: 'm', dim: 32, ids: ['a', 'b'], scales: new Float32Array(2), data: new Int8Array(32) };
    await expect(appendSegment(bad, freshStore())).rejects.toThrow(/2 ids has 2 scales and 32 values/);
  });

  it('packs small segments into full ones and drops deleted, repeated and superseded rows', async () => {
    const store = freshStore();
    const dim = 32;
    const { vectors } = clustered({ n: 40, dim, clusters: 4, spread: 0.5, queries: 0, seed: 2 });
    const ids = vectors.map((_, i) => `img-${i}`);
    for (let i = 0; i < 40; i += 8) await appendSegment(segment('old', ids.slice(i, i + 8), vectors.slice(i, i + 8), dim), store);
    // the new model covers the first 30 images; image 3 is embedded twice; 5 and 35 were deleted
    for (let i = 0; i < 30; i += 10) await appendSegment(segment('new', ids.slice(i, i + 10), vectors.slice(i, i + 10), dim), store);
    await appendSegment(segment('new', ['img-3'], [vectors[3]!], dim), store);
    await appendSegment({ dead: ['img-5', 'img-35'] }, store);
    const stats = await compact('new', store, 16);
    expect(stats.segments).toBe(10);
    expect(stats.rewritten).toBe(10);
    const segs = (await readSegments(store)).map(([, s]) => s as VectorSegment);
    const rows = (m: string) => segs.filter((s) => s.model === m).flatMap((s) => s.ids).sort();
    // new: 0..29 without 5; old: only the images the new model has not embedded yet (30..39 without 35)
    expect(rows('new')).toEqual(ids.slice(0, 30).filter((id) => id !== 'img-5').sort());
    expect(rows('old')).toEqual(['img-30', 'img-31', 'img-32', 'img-33', 'img-34', 'img-36', 'img-37', 'img-38', 'img-39']);
    expect(segs.every((s) => s.ids.length <= 16 && s.data.length === s.ids.length * paddedDim(dim))).toBe(true);
    expect(segs.some((s) => 'dead' in s)).toBe(false);
    // a second pass finds nothing to do
    const again = await compact('new', store, 16);
    expect(again.rewritten).toBe(0);
    expect((await entries(store)).length).toBe(segs.length);
  });
});

describe('the search worker core', () => {
  it('indexes what it stores, ranks the planted image first, and tells the other tabs', async () => {
    const store = freshStore();
    const news: VectorNews[] = [];
    const core = createCore({ store, announce: (x) => news.push(x) });
    const dim = 64;
    const { vectors, queries } = clustered({ n: 300, dim, clusters: 10, spread: 0.4, queries: 1, seed: 3 });
    const ids = vectors.map((_, i) => `id-${i}`);
    await core.handle({ op: 'open', model: 'm1' });
    const flat = new Float32Array(300 * dim);
    vectors.forEach((v, i) => flat.set(v, i * dim));
    // the planted image: the query itself
    flat.set(queries[0]!, 123 * dim);
    const st = await core.handle({ op: 'put', model: 'm1', dim, ids, vectors: flat });
    expect(st).toMatchObject({ model: 'm1', count: 300, dim: 64, simd: true });
    expect(news).toHaveLength(1);
    const top = await core.handle({ op: 'query', vector: queries[0]!, k: 5 });
    expect(top.ids[0]).toBe('id-123');
    expect(top.scores[0]).toBeCloseTo(1, 2);
    // the filters narrow the candidates; find-similar excludes where it started
    const narrowed = await core.handle({ op: 'query', vector: queries[0]!, k: 3, allow: ['id-1', 'id-2', 'id-3'] });
    expect(narrowed.ids.sort()).toEqual(['id-1', 'id-2', 'id-3']);
    const similar = await core.handle({ op: 'similar', ids: ['id-123'], k: 4 });
    expect(similar.ids).not.toContain('id-123');
    expect(similar.ids).toHaveLength(4);

    // a reload reads the same index back from the database; a removal survives it
    await core.handle({ op: 'remove', ids: ['id-123'] });
    expect(await core.handle({ op: 'missing', model: 'm1', ids: ['id-1', 'id-123', 'id-999'] })).toEqual(['id-123', 'id-999']);
    const other = createCore({ store });
    const reopened = await other.handle({ op: 'open', model: 'm1' });
    expect(reopened.count).toBe(299);
    expect((await other.handle({ op: 'query', vector: queries[0]!, k: 1 })).ids[0]).not.toBe('id-123');

    // another tab hears the news without writing it again
    const tab = createCore({ store: freshStore() });
    await tab.handle({ op: 'open', model: 'm1' });
    await tab.hear(news[0]!);
    expect((await tab.handle({ op: 'stats' })).count).toBe(300);
    // a model change: the old vectors are stale, every image is missing for the new model
    expect(await core.handle({ op: 'missing', model: 'm2', ids: ['id-1'] })).toEqual(['id-1']);
  });

  it('gives the cosine of image pairs, NaN where one has no vector', async () => {
    const core = createCore({ store: freshStore() });
    await core.handle({ op: 'open', model: 'm' });
    const a = Float32Array.from({ length: 32 }, (_, i) => (i % 2 ? 1 : 0));
    const b = Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? 1 : 0));
    const flat = new Float32Array(64);
    flat.set(a, 0);
    flat.set(b, 32);
    await core.handle({ op: 'put', model: 'm', dim: 32, ids: ['a', 'b'], vectors: flat });
    const [ab, aa, ax] = await core.handle({ op: 'pairs', ids: ['a', 'b', 'x'], pairs: Int32Array.from([0, 1, 0, 0, 0, 2]) });
    expect(ab).toBeCloseTo(0.5, 2);
    expect(aa).toBeCloseTo(1, 2);
    expect(ax).toBeNaN();
  });
});
