// Where image vectors live: their own IndexedDB database (`atelier-vectors`), beside the library's.
//
// The store is a bag of segments, each written once with one put (no read-modify-write, so tabs
// and workers never race on a shared chunk):
//   vectors   { model, dim, ids, scales, data }  int8 rows of paddedDim(dim) values, a scale each
//   tombstone { dead: ids }                        images deleted from the library
// What an id's vector is follows from the set, not from the order of writes: ids are never reused,
// and embedding the same thumbnail with the same model gives the same vector, so two entries of
// one (model, id) are interchangeable. A vector of another model than the current one is stale:
// search ignores it and the indexing lane embeds that image again.
//
// Imports write many small segments (one per embedded batch). compact() packs small segments and
// segments that are mostly waste (deleted images, stale or repeated vectors) into full ones of
// FULL_SEGMENT rows, in one transaction: at 768 dimensions a full segment is 772 KB, and 100,000
// images are ~100 values that Chromium reads in well under a second.
import { createStore, entries, set, type UseStore } from 'idb-keyval';
import { paddedDim } from './quantize';

export const VECTOR_DB = ['atelier-vectors', 'segments'] as const;
export const FULL_SEGMENT = 1024;

export interface VectorSegment {
  model: string;
  /** the model's dimension; rows are paddedDim(dim) long */
  dim: number;
  ids: string[];
  scales: Float32Array;
  data: Int8Array;
}
export interface Tombstone {
  dead: string[];
}
export type Segment = VectorSegment | Tombstone;

export const isTombstone = (s: Segment): s is Tombstone => 'dead' in s;

let shared: UseStore | undefined;
export const vectorStore = (): UseStore => (shared ??= createStore(...VECTOR_DB));

let counter = 0;
/** Unique across tabs and workers; sorted by time only for whoever reads the database by hand. */
const newKey = () => `${Date.now().toString(36).padStart(9, '0')}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export function checkSegment(s: VectorSegment): void {
  const pd = paddedDim(s.dim);
  if (s.scales.length !== s.ids.length || s.data.length !== s.ids.length * pd) {
    throw new Error(`segment of ${s.ids.length} ids has ${s.scales.length} scales and ${s.data.length} values (dim ${s.dim})`);
  }
}

export async function appendSegment(seg: Segment, store: UseStore = vectorStore()): Promise<string> {
  if (!isTombstone(seg)) checkSegment(seg);
  const key = newKey();
  await set(key, seg, store);
  return key;
}

export async function readSegments(store: UseStore = vectorStore()): Promise<[string, Segment][]> {
  return (await entries<string, Segment>(store)).filter(([, v]) => v && typeof v === 'object');
}

/** What compact() found and did. */
export interface CompactStats {
  segments: number;
  rewritten: number;
  written: number;
  liveRows: number;
  droppedRows: number;
}

/**
 * Packs small and wasteful segments into full ones, in ONE transaction (a segment another tab
 * appends meanwhile lands before or after it, never inside). Rows dropped: deleted images, vectors
 * of other models where `model` has one for the same image, repeats. `model` null keeps every
 * model's vectors.
 */
export function compact(model: string | null, store: UseStore = vectorStore(), full = FULL_SEGMENT): Promise<CompactStats> {
  return store('readwrite', (os) => {
    const keysReq = os.getAllKeys();
    const valsReq = os.getAll();
    return new Promise<CompactStats>((resolve, reject) => {
      let stats: CompactStats | undefined;
      valsReq.onsuccess = () => {
        const keys = keysReq.result as string[];
        const vals = valsReq.result as Segment[];
        stats = plan(keys, vals, model, full, (k, v) => os.put(v, k), (k) => os.delete(k));
      };
      os.transaction.oncomplete = () => resolve(stats!);
      os.transaction.onerror = os.transaction.onabort = () => reject(os.transaction.error);
    });
  });
}

/** The compaction itself, over segments in memory (exported for the tests). */
export function plan(keys: string[], vals: Segment[], model: string | null, full: number, put: (key: string, seg: Segment) => void, del: (key: string) => void): CompactStats {
  const dead = new Set<string>();
  for (const v of vals) if (isTombstone(v)) for (const id of v.dead) dead.add(id);
  const current = new Set<string>();
  if (model !== null) for (const v of vals) if (!isTombstone(v) && v.model === model) for (const id of v.ids) if (!dead.has(id)) current.add(id);
  // a row is kept once per (model, dim, id): the first met
  const seen = new Set<string>();
  const keep = vals.map((v) =>
    isTombstone(v)
      ? []
      : v.ids.map((id) => {
          const tag = `${v.model}\u0000${v.dim}\u0000${id}`;
          const ok = !dead.has(id) && !seen.has(tag) && (model === null || v.model === model || !current.has(id));
          if (ok) seen.add(tag);
          return ok;
        }),
  );
  // rewritten: tombstones, segments a quarter waste or more, and small segments where their model
  // has more than one (one small segment per model is where the next rows would go anyway)
  const groupOf = (v: VectorSegment) => `${v.model}\u0000${v.dim}`;
  const smallIn = new Map<string, number>();
  for (const v of vals) if (!isTombstone(v) && v.ids.length < full) smallIn.set(groupOf(v), (smallIn.get(groupOf(v)) ?? 0) + 1);
  const wasteful = vals.map((v, i) => isTombstone(v) || keep[i]!.filter(Boolean).length < v.ids.length * 0.75 || (keep[i]!.some((ok) => !ok) && v.ids.length < full));
  const rewrite = vals.map((v, i) => wasteful[i]! || (!isTombstone(v) && v.ids.length < full && smallIn.get(groupOf(v))! > 1));
  const stats: CompactStats = { segments: vals.length, rewritten: 0, written: 0, liveRows: 0, droppedRows: 0 };
  for (const k of keep) for (const ok of k) stats[ok ? 'liveRows' : 'droppedRows']++;
  if (!rewrite.some(Boolean)) return stats;

  // rows of the rewritten segments, grouped by model and dimension
  const groups = new Map<string, { model: string; dim: number; ids: string[]; scales: number[]; rows: Int8Array[] }>();
  const stillDead = new Set<string>();
  vals.forEach((v, i) => {
    if (isTombstone(v)) return;
    const pd = paddedDim(v.dim);
    if (!rewrite[i]) {
      // a kept segment may still hold rows of deleted images: their tombstones stay
      for (const id of v.ids) if (dead.has(id)) stillDead.add(id);
      return;
    }
    const g = groups.get(groupOf(v)) ?? { model: v.model, dim: v.dim, ids: [], scales: [], rows: [] };
    groups.set(groupOf(v), g);
    v.ids.forEach((id, r) => {
      if (!keep[i]![r]) return;
      g.ids.push(id);
      g.scales.push(v.scales[r]!);
      g.rows.push(v.data.subarray(r * pd, (r + 1) * pd));
    });
  });
  keys.forEach((k, i) => rewrite[i] && (del(k), stats.rewritten++));
  for (const g of groups.values()) {
    const pd = paddedDim(g.dim);
    for (let at = 0; at < g.ids.length; at += full) {
      const n = Math.min(full, g.ids.length - at);
      const data = new Int8Array(n * pd);
      for (let r = 0; r < n; r++) data.set(g.rows[at + r]!, r * pd);
      put(newKey(), { model: g.model, dim: g.dim, ids: g.ids.slice(at, at + n), scales: Float32Array.from(g.scales.slice(at, at + n)), data });
      stats.written++;
    }
  }
  if (stillDead.size) {
    put(newKey(), { dead: [...stillDead] });
    stats.written++;
  }
  return stats;
}
