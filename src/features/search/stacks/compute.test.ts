import { describe, expect, it } from 'vitest';
import { bestOf, burstCandidates, collapse, exactEdges, groupStacks, seriesEdges, type Edge, type StackIndex, type StackRecord } from './compute';

const rec = (id: string, extra: Partial<StackRecord> = {}): StackRecord => ({
  id, hash: `h-${id}`, addedAt: 1000, origin: 'imported', rating: 0, flag: 'none', width: 100, height: 100, bytes: 1000, ...extra,
});

describe('near-duplicate tiers', () => {
  it('links identical bytes, unless the user kept an image out of stacks', () => {
    const recs = [rec('a', { hash: 'x' }), rec('b'), rec('c', { hash: 'x' }), rec('d', { hash: 'x', stack: 'alone' })];
    expect(exactEdges(recs)).toEqual([{ a: 0, b: 2, tier: 'exact' }]);
  });

  it('links generated images (ours or imported with their parameters) of one prompt, model and size whose seeds run together', () => {
    const gen = (id: string, seed: number, prompt = 'a fox in snow', extra: Partial<StackRecord> = {}) =>
      rec(id, { origin: 'generated', params: { prompt, seed, model: 'sdxl', source: 'atelier' }, ...extra });
    const recs = [gen('s1', 100), gen('s2', 101), gen('s3', 103, 'A fox in snow ', { origin: 'imported' }), gen('far', 5000), gen('other', 102, 'a cat'), gen('big', 101, 'a fox in snow', { width: 200 }), rec('photo')];
    const pairs = seriesEdges(recs).map((e) => [recs[e.a]!.id, recs[e.b]!.id]);
    expect(pairs).toEqual([['s1', 's2'], ['s2', 's3']]);
  });

  it('offers photo pairs of one camera taken within the window as burst candidates', () => {
    const recs = [
      rec('p1', { takenAt: 0, camera: 'X100' }), rec('p2', { takenAt: 500, camera: 'X100' }), rec('p3', { takenAt: 90_000, camera: 'X100' }),
      rec('q1', { takenAt: 200, camera: 'Pixel' }), rec('nodate', { camera: 'X100' }),
    ];
    expect([...burstCandidates(recs, 60_000)].map((i) => recs[i]!.id)).toEqual(['p1', 'p2']);
  });
});

describe('stacks', () => {
  it('joins linked images into one stack with the weakest tier, the best image as its cover', () => {
    const recs = [rec('a', { width: 50 }), rec('b', { width: 400 }), rec('c'), rec('d'), rec('e')];
    const edges: Edge[] = [{ a: 0, b: 1, tier: 'exact' }, { a: 1, b: 2, tier: 'reencoded' }, { a: 3, b: 4, tier: 'exact' }];
    const { stacks, of } = groupStacks(recs, edges);
    expect(stacks.size).toBe(2);
    const abc = stacks.get(of.get('a')!)!;
    expect(abc).toMatchObject({ key: 'a', cover: 'b', tier: 'reencoded' });
    expect(abc.ids.sort()).toEqual(['a', 'b', 'c']);
    expect(stacks.get(of.get('d')!)!.tier).toBe('exact');
    expect(of.has('z')).toBe(false);
  });

  it("keeps the user's cover", () => {
    const recs = [rec('a', { rating: 5 }), rec('b', { stack: 'cover' })];
    expect(groupStacks(recs, [{ a: 0, b: 1, tier: 'burst' }]).stacks.get('a')!.cover).toBe('b');
  });

  it('picks the best image: picked, then rated, then pixels, then bytes, then the oldest', () => {
    expect(bestOf([rec('a', { rating: 5, flag: 'reject' }), rec('b', { rating: 1 })]).id).toBe('b');
    expect(bestOf([rec('a', { rating: 5 }), rec('b', { flag: 'pick' })]).id).toBe('b');
    expect(bestOf([rec('a', { bytes: 10 }), rec('b', { bytes: 20 })]).id).toBe('b');
    expect(bestOf([rec('a', { addedAt: 5 }), rec('b', { addedAt: 2 })]).id).toBe('b');
  });

  it('collapses a stack into its cover where its first member stands, and expands it there', () => {
    const recs = ['a', 'b', 'c', 'd', 'e'].map((id) => rec(id));
    const index = groupStacks(recs, [{ a: 1, b: 3, tier: 'exact' }, { a: 3, b: 4, tier: 'exact' }]);
    const key = index.of.get('b')!;
    const cover = index.stacks.get(key)!.cover;
    const collapsed = collapse(['a', 'b', 'c', 'd', 'e'], index, new Set());
    expect(collapsed.order).toEqual(['a', cover, 'c']);
    expect(collapsed.shown.count(key)).toBe(3);
    expect(collapsed.shown.head(key)).toBe(cover);
    const open = collapse(['a', 'b', 'c', 'd', 'e'], index, new Set([key]));
    expect(open.order).toEqual(['a', ...index.stacks.get(key)!.ids, 'c']);
    // the filters hide some members: the count follows, a lone member is just an image
    expect(collapse(['e', 'a', 'd'], index, new Set()).order).toHaveLength(2);
    expect(collapse(['a', 'd'], index, new Set()).order).toEqual(['a', 'd']);
  });

  /** what a collapse shows: its order, and each stack's count and head */
  const seen = (c: ReturnType<typeof collapse>, index: StackIndex) => ({ order: c.order, stacks: [...index.stacks.keys()].map((k) => [k, c.shown.count(k), c.shown.head(k)]) });

  /** a sorted view of `ids` as the library gives it, and a filtered order of it with its places */
  const viewOf = (ids: string[]) => {
    const where = new Map(ids.map((id, i) => [id, i]));
    const view = { size: ids.length, positionOf: (id: string) => where.get(id) };
    const filter = (keep: (id: string, i: number) => boolean) => {
      const at = Int32Array.from(ids.keys()).filter((i) => keep(ids[i]!, i));
      return { order: [...at].map((i) => ids[i]!), inView: { view, at } };
    };
    return { view, filter };
  };

  it('collapses an order by its places in the sorted view to the same result as by ids', () => {
    const recs = ['a', 'b', 'c', 'd', 'e'].map((id) => rec(id));
    const index = groupStacks(recs, [{ a: 1, b: 3, tier: 'exact' }, { a: 3, b: 4, tier: 'exact' }]);
    const key = index.of.get('b')!;
    const v = viewOf(['a', 'b', 'c', 'd', 'e']);
    for (const expanded of [new Set<string>(), new Set([key])])
      for (const keep of [() => true, (id: string) => id !== 'b', (id: string) => id === 'd' || id === 'a', (id: string) => id !== 'e' && id !== 'd']) {
        const { order, inView } = v.filter(keep);
        expect(seen(collapse(order, index, expanded, { inView }), index)).toEqual(seen(collapse(order, index, expanded), index));
      }
  });

  it('by places, agrees with by ids over many views, filters, expansions and stack indexes', () => {
    const ids = Array.from({ length: 60 }, (_, i) => `i${String(i).padStart(2, '0')}`);
    const recs = ids.map((id) => rec(id));
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const shuffled = () => ids.map((id) => [rand(), id] as const).sort((x, y) => x[0] - y[0]).map(([, id]) => id);
    const indexes = [0, 1].map(() => {
      const edges: Edge[] = [];
      for (let e = 0; e < 25; e++) edges.push({ a: Math.floor(rand() * 60), b: Math.floor(rand() * 60), tier: 'exact' });
      return groupStacks(recs, edges.filter((e) => e.a !== e.b));
    });
    for (let round = 0; round < 8; round++) {
      // a new sorted view (another sort, or images edited), kept for several queries
      const v = viewOf(shuffled());
      for (let q = 0; q < 6; q++) {
        const index = indexes[q % 2]!;
        const expanded = new Set([...index.stacks.keys()].filter(() => rand() < 0.3));
        const share = [1, 0.7, 0.3][q % 3]!;
        const { order, inView } = v.filter(() => rand() < share);
        expect(seen(collapse(order, index, expanded, { inView }), index)).toEqual(seen(collapse(order, index, expanded), index));
      }
    }
  });

  it('lets the member that ranked highest stand for its stack in a ranked order', () => {
    const recs = ['a', 'b', 'c'].map((id) => rec(id, { width: id === 'a' ? 500 : 10 }));
    const index = groupStacks(recs, [{ a: 0, b: 2, tier: 'reencoded' }]);
    expect(collapse(['c', 'b', 'a'], index, new Set()).order).toEqual(['a', 'b']);
    expect(collapse(['c', 'b', 'a'], index, new Set(), { ranked: true }).order).toEqual(['c', 'b']);
  });
});
