// Near-duplicate stacks as plain functions over records: the edges of each tier, their union into
// stacks, the cover, and the collapsed grid order. The pHash pairs and embedding similarities come
// from the search worker (stack-store.ts); everything here is synchronous and unit-tested.
import type { ImageRecord } from '@/lib/db/schema';
import { BURST_WINDOW_MS, SEED_FAMILY, TIER_RANK, type Tier } from './tiers';

export type StackRecord = Pick<ImageRecord, 'id' | 'hash' | 'addedAt' | 'origin' | 'rating' | 'flag' | 'width' | 'height' | 'bytes'> &
  Partial<Pick<ImageRecord, 'phash' | 'takenAt' | 'camera' | 'params' | 'stack'>>;

export interface Edge {
  a: number;
  b: number;
  tier: Tier;
}

export interface Stack {
  /** stable while its members are: the smallest member id */
  key: string;
  /** the cover first, then by capture (or import) time */
  ids: string[];
  cover: string;
  tier: Tier;
}

export interface StackIndex {
  stacks: ReadonlyMap<string, Stack>;
  /** image id -> its stack's key */
  of: ReadonlyMap<string, string>;
}

export const EMPTY_INDEX: StackIndex = { stacks: new Map(), of: new Map() };

/** What a collapsed order shows of each stack: how many members, and which one stands for it. */
export interface Shown {
  /** members the order shows (0 for a stack it does not collapse) */
  count(key: string): number;
  /** the image standing for the stack */
  head(key: string): string | undefined;
}

export const NOTHING_SHOWN: Shown = { count: () => 0, head: () => undefined };

function shownByMaps(counts: ReadonlyMap<string, number>, heads: ReadonlyMap<string, string>): Shown {
  return { count: (key) => counts.get(key) ?? 0, head: (key) => heads.get(key) };
}

const free = (r: StackRecord) => r.stack !== 'alone';

/** The same bytes (the import skips these, but sync and generation can bring them). */
export function exactEdges(recs: readonly StackRecord[]): Edge[] {
  const first = new Map<string, number>();
  const out: Edge[] = [];
  recs.forEach((r, i) => {
    if (!free(r) || !r.hash) return;
    const j = first.get(r.hash);
    if (j === undefined) first.set(r.hash, i);
    else out.push({ a: j, b: i, tier: 'exact' });
  });
  return out;
}

/** Generated images (ours, or A1111 / ComfyUI files with their parameters) of one prompt, model
 * and size whose seeds run close together. */
export function seriesEdges(recs: readonly StackRecord[]): Edge[] {
  const groups = new Map<string, { i: number; seed: number }[]>();
  recs.forEach((r, i) => {
    const p = r.params;
    if (!free(r) || !p?.prompt || p.seed === undefined) return;
    const key = [p.prompt.trim().toLowerCase(), (p.negativePrompt ?? '').trim().toLowerCase(), p.model ?? '', p.width ?? r.width, p.height ?? r.height].join('\u0000');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push({ i, seed: p.seed });
  });
  const out: Edge[] = [];
  for (const g of groups.values()) {
    g.sort((x, y) => x.seed - y.seed);
    for (let k = 1; k < g.length; k++) if (g[k]!.seed - g[k - 1]!.seed <= SEED_FAMILY) out.push({ a: g[k - 1]!.i, b: g[k]!.i, tier: 'burst' });
  }
  return out;
}

/** Photo pairs from one camera within the burst window, flat index pairs: to be checked against
 * their embeddings. */
export function burstCandidates(recs: readonly StackRecord[], windowMs = BURST_WINDOW_MS): Int32Array {
  const byCamera = new Map<string, number[]>();
  const at = new Float64Array(recs.length);
  recs.forEach((r, i) => {
    if (!free(r) || r.takenAt === undefined || r.origin === 'generated' || r.params) return;
    at[i] = r.takenAt;
    const key = r.camera ?? '';
    let l = byCamera.get(key);
    if (!l) byCamera.set(key, (l = []));
    l.push(i);
  });
  const AHEAD = 8;
  let out = new Int32Array(1024);
  let n = 0;
  for (const list of byCamera.values()) {
    const l = Int32Array.from(list).sort((x, y) => at[x]! - at[y]!);
    for (let k = 0; k < l.length; k++) {
      // a long burst is a chain: each photo against the next few is enough to join them all
      for (let m = k + 1; m < l.length && m <= k + AHEAD && at[l[m]!]! - at[l[k]!]! <= windowMs; m++) {
        if (n + 2 > out.length) {
          const grown = new Int32Array(out.length * 2);
          grown.set(out);
          out = grown;
        }
        out[n++] = l[k]!;
        out[n++] = l[m]!;
      }
    }
  }
  return out.slice(0, n);
}

/** The image to keep: picked, then rated, then the most pixels, then the most bytes, then the oldest. */
export function bestOf<T extends StackRecord>(recs: readonly T[]): T {
  return [...recs].sort(
    (a, b) =>
      Number(b.flag === 'pick') - Number(a.flag === 'pick') ||
      Number(a.flag === 'reject') - Number(b.flag === 'reject') ||
      b.rating - a.rating ||
      b.width * b.height - a.width * a.height ||
      b.bytes - a.bytes ||
      a.addedAt - b.addedAt ||
      (a.id < b.id ? -1 : 1),
  )[0]!;
}

/** Union of the edges into stacks of two or more; the user's cover wins, else the best image. */
export function groupStacks(recs: readonly StackRecord[], edges: readonly Edge[]): StackIndex {
  const parent = Int32Array.from(recs, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const tierOf = new Map<number, Tier>();
  for (const e of edges) {
    const ra = find(e.a);
    const rb = find(e.b);
    const t = [tierOf.get(ra), tierOf.get(rb)].reduce<Tier>((w, x) => (x && TIER_RANK[x] > TIER_RANK[w] ? x : w), e.tier);
    if (ra !== rb) parent[ra] = rb;
    tierOf.set(rb, t);
  }
  const members = new Map<number, number[]>();
  for (const e of edges) for (const i of [e.a, e.b]) {
    const root = find(i);
    let m = members.get(root);
    if (!m) members.set(root, (m = []));
    if (!m.includes(i)) m.push(i);
  }
  const stacks = new Map<string, Stack>();
  const of = new Map<string, string>();
  for (const [root, idx] of members) {
    if (idx.length < 2) continue;
    const rs = idx.map((i) => recs[i]!);
    const cover = rs.find((r) => r.stack === 'cover') ?? bestOf(rs);
    const rest = rs.filter((r) => r !== cover).sort((a, b) => (a.takenAt ?? a.addedAt) - (b.takenAt ?? b.addedAt) || (a.id < b.id ? -1 : 1));
    const ids = [cover.id, ...rest.map((r) => r.id)];
    const key = ids.reduce((m, id) => (id < m ? id : m));
    stacks.set(key, { key, ids, cover: cover.id, tier: tierOf.get(root) ?? 'burst' });
    for (const id of ids) of.set(id, key);
  }
  return { stacks, of };
}

/** Where an order's images stand in the library's sorted view (see the library's Arranger). */
export interface InView {
  /** the view: the same object while its positions hold */
  view: { size: number; positionOf: (id: string) => number | undefined };
  /** each image's place in the view, aligned with the order (which keeps the view's order) */
  at: Int32Array;
}

/**
 * The grid's order with stacks collapsed: where a stack's first member appears, its cover stands
 * for the members the filters let through (or the first of them, if the filters hide the cover;
 * in a ranked order, the member that ranked highest); an expanded stack shows them all there,
 * cover first. Everything else keeps its place. One pass over the order. When the order keeps the
 * library's sorted view and `inView` says where each image stands there, the pass looks each one
 * up by position in a typed array (collapseInView), not by id in a Map: the common case.
 */
export function collapse(
  order: readonly string[],
  index: StackIndex,
  expanded: ReadonlySet<string>,
  { ranked = false, inView }: { ranked?: boolean; inView?: InView } = {},
): { order: string[]; shown: Shown } {
  const counts = new Map<string, number>();
  /** the image that stands for each stack (its cover, or the first member the filters show) */
  const heads = new Map<string, string>();
  if (index.of.size === 0) return { order: order as string[], shown: NOTHING_SHOWN };
  if (inView && !ranked && inView.at.length === order.length) return collapseInView(order, index, expanded, inView);
  // One pass: each stack takes a place where its first member stands; its members the filters let
  // through are gathered; then each place gets the image standing for the stack.
  const out: string[] = [];
  const places = new Map<string, { at: number; members: string[] }>();
  for (const id of order) {
    const key = index.of.get(id);
    if (key === undefined) {
      out.push(id);
      continue;
    }
    const p = places.get(key);
    if (p) p.members.push(id);
    else {
      places.set(key, { at: out.length, members: [id] });
      out.push(id);
    }
  }
  let opened: Map<number, string[]> | undefined;
  for (const [key, { at, members }] of places) {
    if (members.length < 2) continue;
    const stack = index.stacks.get(key)!;
    // a ranked order shows the member that ranked highest; otherwise the cover leads
    const visible = ranked ? members : members.length === stack.ids.length ? stack.ids : stack.ids.filter((m) => members.includes(m));
    counts.set(key, visible.length);
    heads.set(key, visible[0]!);
    out[at] = visible[0]!;
    if (expanded.has(key)) (opened ??= new Map()).set(at, visible);
  }
  if (!opened) return { order: out, shown: shownByMaps(counts, heads) };
  // an open stack shows all its members at its place
  const withOpen: string[] = [];
  for (let i = 0; i < out.length; i++) {
    const open = opened.get(i);
    if (open) for (const m of open) withOpen.push(m);
    else withOpen.push(out[i]!);
  }
  return { order: withOpen, shown: shownByMaps(counts, heads) };
}

/**
 * What a stack index looks like in one sorted view, worked out once per index and view: each
 * stack's number (the order of `index.stacks`), where its members stand (flat, in the order of
 * the stacks and their `ids`; -1 for an image the view lacks), and for each place in the view the
 * number + 1 of the stack standing there (0: none).
 */
interface Placed {
  view: InView['view'];
  keys: string[];
  /** stack n's members are ids[n]; their places are at[first[n]] to at[first[n + 1] - 1] */
  ids: (readonly string[])[];
  first: Int32Array;
  at: Int32Array;
  stackAt: Int32Array;
  numberOf: Map<string, number>;
}

const placedMemo = new WeakMap<StackIndex, Placed>();

function placed(index: StackIndex, view: InView['view']): Placed {
  const known = placedMemo.get(index);
  if (known?.view === view) return known;
  const stacks = [...index.stacks.values()];
  const first = new Int32Array(stacks.length + 1);
  for (let n = 0; n < stacks.length; n++) first[n + 1] = first[n]! + stacks[n]!.ids.length;
  const at = new Int32Array(first[stacks.length]!);
  const stackAt = new Int32Array(view.size);
  let k = 0;
  for (let n = 0; n < stacks.length; n++)
    for (const id of stacks[n]!.ids) {
      const p = view.positionOf(id) ?? -1;
      at[k++] = p;
      if (p >= 0 && p < view.size) stackAt[p] = n + 1;
    }
  const keys = stacks.map((s) => s.key);
  const numberOf = known?.numberOf ?? new Map(keys.map((key, n) => [key, n]));
  const entry: Placed = { view, keys, ids: stacks.map((s) => s.ids), first, at, stackAt, numberOf };
  placedMemo.set(index, entry);
  return entry;
}

/**
 * collapse() of an order that keeps the sorted view's order, each image's place given: one pass
 * looks each place up in a typed array (whose stack stands there), and only the stacks the order
 * holds two members of are looked at again. At 100,000 images with 5,000 stacks ~1.5 ms, and
 * ~0.5 ms for a search's 16,000 hits; with a Map lookup per image, 8 and 5 ms in Chromium.
 */
function collapseInView(order: readonly string[], index: StackIndex, expanded: ReadonlySet<string>, { view, at: placeOf }: InView): { order: string[]; shown: Shown } {
  const p = placed(index, view);
  const n = p.keys.length;
  const counts = new Int32Array(n);
  // where in `out` each stack stands, + 1
  const standsAt = new Int32Array(n);
  // the places the order holds (a member of a stack may be filtered out)
  const held = new Uint8Array(view.size);
  const touched: number[] = [];
  const out: string[] = [];
  for (let i = 0; i < order.length; i++) {
    const place = placeOf[i]!;
    const s = p.stackAt[place] ?? 0;
    if (s === 0) {
      out.push(order[i]!);
      continue;
    }
    held[place] = 1;
    const seenBefore = counts[s - 1]!;
    counts[s - 1] = seenBefore + 1;
    if (seenBefore === 0) {
      standsAt[s - 1] = out.length + 1;
      touched.push(s - 1);
      out.push(order[i]!);
    }
  }
  const heads = new Array<string | undefined>(n);
  let opened: Map<number, string[]> | undefined;
  for (const s of touched) {
    if (counts[s]! < 2) continue;
    // the members the order holds, in the stack's order (the cover first)
    const ids = p.ids[s]!;
    const from = p.first[s]!;
    let head: string | undefined;
    const isHeld = (j: number) => {
      const place = p.at[from + j]!;
      return place >= 0 && held[place] === 1;
    };
    for (let j = 0; j < ids.length && head === undefined; j++) if (isHeld(j)) head = ids[j];
    heads[s] = head;
    out[standsAt[s]! - 1] = head!;
    if (expanded.size > 0 && expanded.has(p.keys[s]!)) (opened ??= new Map()).set(standsAt[s]! - 1, ids.filter((_, j) => isHeld(j)));
  }
  const shown: Shown = {
    count: (key) => {
      const s = p.numberOf.get(key);
      return s === undefined || counts[s]! < 2 ? 0 : counts[s]!;
    },
    head: (key) => {
      const s = p.numberOf.get(key);
      return s === undefined || counts[s]! < 2 ? undefined : heads[s];
    },
  };
  if (!opened) return { order: out, shown };
  const withOpen: string[] = [];
  for (let i = 0; i < out.length; i++) {
    const open = opened.get(i);
    if (open) for (const m of open) withOpen.push(m);
    else withOpen.push(out[i]!);
  }
  return { order: withOpen, shown };
}
