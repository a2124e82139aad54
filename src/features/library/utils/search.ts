import type { Flag, ImageRecord, Origin, Rating } from '@/lib/db/schema';
import { DEFAULT_NSFW_THRESHOLD, isNsfw } from '@/lib/db/nsfw';
import { idleForEach, idleTask } from '@/lib/idle';

export type SortKey = 'added' | 'taken' | 'rating' | 'name';
export const SORT_KEYS: readonly SortKey[] = ['added', 'taken', 'rating', 'name'];

export interface Query {
  text: string;
  minRating: Rating;
  flag: 'any' | Flag | 'not-rejected';
  /** all of these tags (case-insensitive) */
  tags: string[];
  origin: 'any' | Origin;
  analysed: 'any' | 'yes' | 'no';
  nsfw: 'any' | 'safe' | 'nsfw';
  sort: SortKey;
  desc: boolean;
}

export const DEFAULT_QUERY: Query = {
  text: '', minRating: 0, flag: 'any', tags: [], origin: 'any', analysed: 'any', nsfw: 'any', sort: 'added', desc: true,
};

export function isFiltered(q: Query): boolean {
  return q.text.trim() !== '' || q.minRating > 0 || q.flag !== 'any' || q.tags.length > 0 || q.origin !== 'any' || q.analysed !== 'any' || q.nsfw !== 'any';
}

// Haystacks are cached per record object: records are immutable, so an edit makes a new object
// and the stale entry is collected with the old one.
const haystacks = new WeakMap<ImageRecord, string>();

export function haystack(r: ImageRecord): string {
  let h = haystacks.get(r);
  if (h === undefined) {
    const p = r.params;
    h = [r.name, r.path, r.caption, r.analysis?.caption, r.camera, p?.prompt, p?.negativePrompt, p?.sampler, p?.model, ...r.tags.map((t) => t.name)]
      .filter(Boolean)
      .join('\n')
      .toLowerCase();
    haystacks.set(r, h);
  }
  return h;
}

/** `nsfwThreshold`: the user's setting, applied to the detector's stored score (see lib/db/nsfw.ts). */
export function matches(r: ImageRecord, q: Query, tokens: string[], tags: string[], nsfwThreshold = DEFAULT_NSFW_THRESHOLD): boolean {
  if (r.rating < q.minRating) return false;
  if (q.flag === 'not-rejected' ? r.flag === 'reject' : q.flag !== 'any' && r.flag !== q.flag) return false;
  if (q.origin !== 'any' && r.origin !== q.origin) return false;
  if (q.analysed !== 'any' && (r.analysis !== undefined) !== (q.analysed === 'yes')) return false;
  if (q.nsfw !== 'any' && isNsfw(r, nsfwThreshold) !== (q.nsfw === 'nsfw')) return false;
  if (tags.length) {
    const have = new Set(r.tags.map((t) => t.name.toLowerCase()));
    if (!tags.every((t) => have.has(t))) return false;
  }
  if (tokens.length) {
    const h = haystack(r);
    if (!tokens.every((t) => h.includes(t))) return false;
  }
  return true;
}

export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter(Boolean);
}

function comparator(sort: SortKey, desc: boolean): (a: ImageRecord, b: ImageRecord) => number {
  const dir = desc ? -1 : 1;
  const tie = (a: ImageRecord, b: ImageRecord) => (a.addedAt - b.addedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) * dir;
  switch (sort) {
    case 'added':
      return tie;
    case 'taken':
      // images without a capture date sort by when they were added
      return (a, b) => ((a.takenAt ?? a.addedAt) - (b.takenAt ?? b.addedAt)) * dir || tie(a, b);
    case 'rating':
      return (a, b) => (a.rating - b.rating) * dir || tie(a, b);
    case 'name': {
      const coll = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
      return (a, b) => coll.compare(a.name, b.name) * dir || tie(a, b);
    }
  }
}

/** Filter + sort; returns ids in display order. */
export function runQuery(records: Iterable<ImageRecord>, q: Query, nsfwThreshold = DEFAULT_NSFW_THRESHOLD): string[] {
  return filterView(buildView([...records], q.sort, q.desc), q, nsfwThreshold);
}

/**
 * All records in the order of one sort key, with their search haystacks in parallel arrays.
 * The store keeps one between queries: a keystroke is then one linear scan over strings,
 * with no sort, no Map lookups and no allocation per record.
 */
export interface SortedView {
  sort: SortKey;
  desc: boolean;
  ids: string[];
  recs: ImageRecord[];
  /** lower-cased haystacks, filled lazily (and in idle slices by warmView) */
  hays: (string | undefined)[];
  index: Map<string, number>;
}

export function buildView(records: ImageRecord[], sort: SortKey, desc: boolean): SortedView {
  const recs = [...records].sort(comparator(sort, desc));
  const ids = recs.map((r) => r.id);
  return { sort, desc, ids, recs, hays: new Array<string | undefined>(recs.length), index: new Map(ids.map((id, i) => [id, i])) };
}

/** The field a sort key reads: when it did not change, the view's order still holds. */
export function sortField(r: ImageRecord, sort: SortKey): string | number | undefined {
  return sort === 'added' ? r.addedAt : sort === 'taken' ? r.takenAt : sort === 'rating' ? r.rating : r.name;
}

/** Swaps edited records into the view in place; false when the order may have changed (rebuild). */
export function patchView(v: SortedView, changed: ImageRecord[]): boolean {
  for (const r of changed) {
    const i = v.index.get(r.id);
    if (i === undefined || sortField(v.recs[i]!, v.sort) !== sortField(r, v.sort)) return false;
  }
  for (const r of changed) {
    const i = v.index.get(r.id)!;
    v.recs[i] = r;
    v.hays[i] = undefined;
  }
  return true;
}

export function filterView(v: SortedView, q: Query, nsfwThreshold = DEFAULT_NSFW_THRESHOLD): string[] {
  return filterViewAt(v, q, nsfwThreshold).ids;
}

/** every position of a view, once per view (the unfiltered order's `at`) */
const everyPosition = new WeakMap<SortedView, Int32Array>();

/**
 * filterView, with where each image it keeps stands in the view (`at`, aligned with `ids`): an
 * arranger can then look things up by position instead of by id (no Map lookup per image). `at`
 * is shared: read it, never write it.
 */
export function filterViewAt(v: SortedView, q: Query, nsfwThreshold = DEFAULT_NSFW_THRESHOLD): { ids: string[]; at: Int32Array } {
  if (!isFiltered(q)) {
    let at = everyPosition.get(v);
    if (!at || at.length !== v.ids.length) everyPosition.set(v, (at = Int32Array.from(v.ids, (_, i) => i)));
    return { ids: v.ids.slice(), at };
  }
  const tokens = tokenize(q.text);
  const tags = q.tags.map((t) => t.toLowerCase());
  const other = q.minRating > 0 || q.flag !== 'any' || tags.length > 0 || q.origin !== 'any' || q.analysed !== 'any' || q.nsfw !== 'any';
  const { recs, hays, ids } = v;
  const out: string[] = [];
  const at = new Int32Array(recs.length);
  for (let i = 0; i < recs.length; i++) {
    if (tokens.length) {
      const h = hays[i] ?? (hays[i] = haystack(recs[i]!));
      let ok = true;
      for (const t of tokens) if (!h.includes(t)) { ok = false; break; }
      if (!ok) continue;
    }
    if (other && !matches(recs[i]!, q, [], tags, nsfwThreshold)) continue;
    at[out.length] = i;
    out.push(ids[i]!);
  }
  return { ids: out, at: at.subarray(0, out.length) };
}

/** Builds haystacks in idle slices, so the first search after a load is as fast as the rest
 * without the warming taking frames from a scroll. Returns a cancel function. */
export function warmView(v: SortedView, schedule = idleTask): () => void {
  return idleForEach(v.recs, (r, i) => (v.hays[i] ??= haystack(r)), undefined, schedule);
}

type TagCount = { name: string; count: number };
const countTags = (m: Map<string, number>, r: ImageRecord) => {
  for (const t of r.tags) m.set(t.name, (m.get(t.name) ?? 0) + 1);
};
const topTags = (m: Map<string, number>, limit: number): TagCount[] =>
  [...m].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name)).slice(0, limit);

/** Tag name -> count, most used first (for the tag filter's suggestions). */
export function tagCounts(records: Iterable<ImageRecord>, limit = 50): TagCount[] {
  const m = new Map<string, number>();
  for (const r of records) countTags(m, r);
  return topTags(m, limit);
}

/** tagCounts in idle slices (a 100k library takes tens of ms); calls `done` with the result.
 * Returns a cancel function. */
export function tagCountsIdle(records: readonly ImageRecord[], done: (tags: TagCount[]) => void, limit = 50, schedule = idleTask): () => void {
  const m = new Map<string, number>();
  return idleForEach(records, (r) => countTags(m, r), () => done(topTags(m, limit)), schedule);
}
