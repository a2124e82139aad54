// Near-duplicate stacks for the app: computed from the library's records (pHash pairs and
// embedding similarities from the search worker), rebuilt in the background when images come,
// go or change what stacks them, and applied to the grid's order through the library's arranger.
import type { ImageRecord } from '@/lib/db/schema';
import { phashWords } from '@/lib/workers/phash';
import type { VectorCall } from '@/lib/vectors/client';
import type { EmbeddingModel } from '@/lib/vectors/embedding-model';
import { browserStorage } from '@/lib/browser-storage';
import { EMPTY_INDEX, NOTHING_SHOWN, burstCandidates, collapse, exactEdges, groupStacks, seriesEdges, type Edge, type InView, type Shown, type Stack, type StackIndex } from '../stacks/compute';
import { BURST_MIN_COSINE, REENCODED_MAX_DISTANCE } from '../stacks/tiers';

export interface StackState {
  index: StackIndex;
  /** what the current order shows of each stack: the cell's count, the image standing for it */
  shown: Shown;
  expanded: ReadonlySet<string>;
  enabled: boolean;
  computing: boolean;
  /** ms the last rebuild took (the benchmark reads it) */
  lastMs: number;
}

/** The last stacks, kept for the next start: the grid shows them collapsed from its first paint. */
export interface StackCache {
  load(): Promise<Stack[] | undefined>;
  save(stacks: Stack[]): Promise<void>;
}

export interface StackDeps {
  index: VectorCall;
  cache?: StackCache;
  records: () => Iterable<ImageRecord>;
  embeddingModel: () => Promise<EmbeddingModel>;
  /** the order must be computed again (the library's rearrange) */
  onChange: () => void;
}

export interface CellStack {
  key: string;
  /** images of the stack the filters show */
  count: number;
  expanded: boolean;
  /** the image standing for the stack (it carries the count) */
  head: boolean;
}

const PREF = 'atelier.stacks';

/** What stacks an image: when none of it changed, an edit (a rating, a tag) rebuilds nothing. */
const signature = (r: ImageRecord) => `${r.hash}|${r.phash ?? ''}|${r.takenAt ?? ''}|${r.camera ?? ''}|${r.stack ?? ''}|${r.origin}|${r.params?.prompt ?? ''}|${r.params?.seed ?? ''}|${r.params?.model ?? ''}`;

export function createStackStore(deps: StackDeps) {
  const storage = browserStorage();
  let state: StackState = { index: EMPTY_INDEX, shown: NOTHING_SHOWN, expanded: new Set(), enabled: storage?.getItem(PREF) !== '0', computing: false, lastMs: 0 };
  const listeners = new Set<() => void>();
  const emit = () => listeners.forEach((l) => l());
  const set = (patch: Partial<StackState>, reorder = false) => {
    state = { ...state, ...patch };
    emit();
    if (reorder) deps.onChange();
  };
  let seen = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let again = false;

  async function compute(): Promise<StackIndex> {
    const recs = [...deps.records()];
    const edges: Edge[] = [...exactEdges(recs), ...seriesEdges(recs)];
    // re-encoded copies: perceptual hashes within REENCODED_MAX_DISTANCE bits, found in the worker
    const words = new Uint32Array(recs.length * 2);
    const skip = new Uint8Array(recs.length);
    recs.forEach((r, i) => {
      if (!r.phash || r.stack === 'alone') skip[i] = 1;
      else [words[2 * i], words[2 * i + 1]] = phashWords(r.phash);
    });
    const near = await deps.index({ op: 'near', words, maxDistance: REENCODED_MAX_DISTANCE, skip }, [words.buffer, skip.buffer]);
    for (let k = 0; k < near.length; k += 2) edges.push({ a: near[k]!, b: near[k + 1]!, tier: 'reencoded' });
    // bursts: photos close in time whose embeddings agree (needs the embeddings model's vectors)
    const model = await deps.embeddingModel();
    const cands = model.state === 'ready' ? burstCandidates(recs) : null;
    if (model.state === 'ready' && cands?.length) {
      await deps.index({ op: 'open', model: model.id });
      // (not transferred: the pairs are read again below)
      const scores = await deps.index({ op: 'pairs', ids: recs.map((r) => r.id), pairs: cands });
      for (let k = 0; k < scores.length; k++) if (scores[k]! >= BURST_MIN_COSINE) edges.push({ a: cands[2 * k]!, b: cands[2 * k + 1]!, tier: 'burst' });
    }
    seen = new Map(recs.map((r) => [r.id, signature(r)]));
    return groupStacks(recs, edges);
  }

  const api = {
    getState: () => state,
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },

    /** Compute the stacks again now (coalesced: one rebuild at a time, one more after it). */
    rebuild(): Promise<void> {
      if (running) {
        again = true;
        return running;
      }
      set({ computing: true });
      const t = performance.now();
      running = compute()
        .then((index) => {
          set({ index, computing: false, lastMs: performance.now() - t }, true);
          void deps.cache?.save([...index.stacks.values()]).catch(() => undefined);
        })
        .catch((err: unknown) => {
          console.warn('near-duplicate stacks could not be computed', err);
          set({ computing: false });
        })
        .finally(() => {
          running = null;
          if (again) {
            again = false;
            void api.rebuild();
          }
        });
      return running;
    },
    /**
     * The stacks of the last session, for the images still here, until the rebuild answers: a
     * library that was collapsed does not open uncollapsed and then jump.
     */
    async restore(): Promise<void> {
      const cached = await deps.cache?.load().catch(() => undefined);
      if (!cached?.length || state.index.stacks.size) return;
      const present = new Set<string>();
      for (const r of deps.records()) present.add(r.id);
      const stacks = new Map<string, Stack>();
      const of = new Map<string, string>();
      for (const s of cached) {
        const ids = s.ids.filter((id) => present.has(id));
        if (ids.length < 2) continue;
        const stack = { ...s, ids, cover: ids.includes(s.cover) ? s.cover : ids[0]! };
        stacks.set(s.key, stack);
        for (const id of ids) of.set(id, s.key);
      }
      if (stacks.size && !state.index.stacks.size) set({ index: { stacks, of } }, true);
    },
    /** Rebuild after a quiet moment (imports and analysis results come in bursts). */
    rebuildSoon(delayMs = 1500): void {
      clearTimeout(timer);
      timer = setTimeout(() => void api.rebuild(), delayMs);
    },
    /** Records changed: rebuild only when something that stacks them did. */
    noteUpdated(recs: readonly ImageRecord[]): void {
      if (recs.some((r) => seen.has(r.id) && seen.get(r.id) !== signature(r))) api.rebuildSoon(300);
    },

    /** Images left the library: out of their stacks at once (the rebuild follows). */
    forget(ids: readonly string[]): void {
      const keys = new Set(ids.map((id) => state.index.of.get(id)).filter((k): k is string => k !== undefined));
      if (!keys.size) return;
      const gone = new Set(ids);
      const stacks = new Map(state.index.stacks);
      const of = new Map(state.index.of);
      for (const key of keys) {
        const s = stacks.get(key)!;
        const left = s.ids.filter((id) => !gone.has(id));
        for (const id of s.ids) if (gone.has(id) || left.length < 2) of.delete(id);
        if (left.length < 2) stacks.delete(key);
        else stacks.set(key, { ...s, ids: left, cover: gone.has(s.cover) ? left[0]! : s.cover });
      }
      state = { ...state, index: { stacks, of } };
    },

    /**
     * The library's arranger step: collapse the stacks in the filtered (or ranked) order.
     * `inView`: where the order's images stand in the library's sorted view (when the order keeps it).
     */
    arrange(order: string[], opts: { ranked?: boolean; inView?: InView } = {}): string[] {
      if (!state.enabled || state.index.of.size === 0) return order;
      const out = collapse(order, state.index, state.expanded, opts);
      state = { ...state, shown: out.shown };
      emit();
      return out.order;
    },

    stackOf(id: string): Stack | undefined {
      const key = state.index.of.get(id);
      return key === undefined ? undefined : state.index.stacks.get(key);
    },
    /** What a grid cell shows: the count on the image standing for a stack, a mark on an open one's. */
    cell(id: string): CellStack | undefined {
      const key = state.index.of.get(id);
      if (key === undefined || !state.enabled) return undefined;
      const count = state.shown.count(key);
      if (count < 2) return undefined;
      return { key, count, expanded: state.expanded.has(key), head: state.shown.head(key) === id };
    },
    toggle(key: string): void {
      const expanded = new Set(state.expanded);
      if (!expanded.delete(key)) expanded.add(key);
      set({ expanded }, true);
    },
    setEnabled(enabled: boolean): void {
      try {
        storage?.setItem(PREF, enabled ? '1' : '0');
      } catch {
        /* not remembered */
      }
      set({ enabled }, true);
    },
  };
  return api;
}

export type StackStore = ReturnType<typeof createStackStore>;
