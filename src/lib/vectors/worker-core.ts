// The search worker's work, apart from the worker plumbing (so tests run it in Node). One index,
// of the current model, loaded from the database on 'open'; writes go to the database and to the
// other tabs' workers, which apply them without writing again.
import type { UseStore } from 'idb-keyval';
import { nearPairs } from './near-pairs';
import { quantizeMany } from './quantize';
import { appendSegment, compact, readSegments, vectorStore } from './store';
import { VectorIndex } from './vector-index';
import type { IndexStats, VectorNews, VectorRequest, VectorResults } from './protocol';

export interface CoreDeps {
  store?: UseStore;
  /** tells the other tabs (BroadcastChannel) */
  announce?: (news: VectorNews) => void;
  forceJs?: boolean;
}

export function createCore({ store = vectorStore(), announce = () => {}, forceJs = false }: CoreDeps = {}) {
  let index: VectorIndex | null = null;
  let loading: Promise<VectorIndex> | null = null;

  const open = (model: string): Promise<VectorIndex> => {
    if (index?.model === model && loading) return loading;
    const fresh = new VectorIndex(model, { forceJs });
    index = fresh;
    loading = readSegments(store).then((segs) => {
      fresh.load(segs.map(([, s]) => s));
      return fresh;
    });
    return loading;
  };
  const ready = async (): Promise<VectorIndex | null> => (loading ? await loading : null);
  const stats = (ix: VectorIndex | null): IndexStats => ({ model: ix?.model ?? null, count: ix?.count ?? 0, dim: ix?.dim ?? 0, bytes: ix?.bytes ?? 0, simd: ix?.simd ?? false });

  async function handle<R extends VectorRequest>(req: R): Promise<VectorResults[R['op']]> {
    type Out = VectorResults[R['op']];
    switch (req.op) {
      case 'open':
        return stats(await open(req.model)) as Out;
      case 'put': {
        const rows = req.ids.map((_, i) => req.vectors.subarray(i * req.dim, (i + 1) * req.dim));
        const { data, scales } = quantizeMany(rows, req.dim);
        const seg = { model: req.model, dim: req.dim, ids: req.ids, scales, data };
        await appendSegment(seg, store);
        announce({ op: 'put', ...seg });
        const ix = await ready();
        ix?.add(seg);
        return stats(ix) as Out;
      }
      case 'remove': {
        await appendSegment({ dead: req.ids }, store);
        announce({ op: 'remove', ids: req.ids });
        const ix = await ready();
        ix?.remove(req.ids);
        return stats(ix) as Out;
      }
      case 'query': {
        const ix = await ready();
        return (ix ? ix.query(req.vector, req) : { ids: [], scores: [] }) as Out;
      }
      case 'similar': {
        const ix = await ready();
        const c = ix?.centroid(req.ids);
        return (ix && c ? ix.query(c, { k: req.k, exclude: req.ids, ...(req.allow ? { allow: req.allow } : {}) }) : { ids: [], scores: [] }) as Out;
      }
      case 'missing': {
        const ix = await open(req.model);
        return ix.missing(req.ids) as Out;
      }
      case 'pairs': {
        const ix = await ready();
        const pairs: [string, string][] = [];
        for (let k = 0; k < req.pairs.length; k += 2) pairs.push([req.ids[req.pairs[k]!]!, req.ids[req.pairs[k + 1]!]!]);
        return (ix ? ix.pairScores(pairs) : pairs.map(() => NaN)) as Out;
      }
      case 'near':
        return nearPairs(req.words, req.maxDistance, req.skip) as Out;
      case 'stats':
        return stats(await ready()) as Out;
      case 'compact':
        return (await compact(req.model, store)) as Out;
    }
  }

  /** Another tab wrote: keep this index in step. */
  async function hear(news: VectorNews): Promise<void> {
    const ix = await ready();
    if (!ix) return;
    if (news.op === 'put') ix.add(news);
    else ix.remove(news.ids);
  }

  return { handle, hear };
}
