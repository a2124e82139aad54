// Search by meaning and find-similar, as plain logic (the search strip and the grid only render it).
//
// The library filters and sorts; this store's arrange() runs after it (the library's arranger):
// - words only (no embeddings model, the user chose words, or nothing typed): the order as it is;
// - a text query: the text is embedded by the backend (POST /v1/embeddings), the search worker
//   ranks every vector against it, and the result is the word matches (they matched what was
//   typed: first) then the closest images, each group by similarity, within the other filters;
// - find similar: the images closest to the mean vector of the chosen ones, those first.
// A ranking arrives asynchronously: the word results show at once, the ranked ones replace them.
import { createEmbeddings, toApiError } from '@/lib/api';
import type { VectorCall } from '@/lib/vectors/client';
import type { EmbeddingModel } from '@/lib/vectors/embedding-model';
import type { Ranked } from '@/lib/vectors/vector-index';

/** closest images a search by meaning shows, and how many more "Show more" adds */
export const PAGE = 200;

export interface SearchState {
  model: EmbeddingModel | null;
  /** the user switched search by meaning off */
  wordsOnly: boolean;
  phase: 'idle' | 'embedding' | 'ranking' | 'done' | 'error';
  error?: string;
  /** the query the ranking answers (text + filters), and the ranking */
  ranking: { key: string; text: string; ranked: Ranked; ms: number } | null;
  similar: { ids: string[]; label: string; ranked: Ranked | null; note?: string } | null;
  limit: number;
  /** images of the last arranged order that came from the ranking (the strip's count) */
  shown: number;
}

export interface SearchDeps {
  index: VectorCall;
  embeddingModel: (fresh?: boolean) => Promise<EmbeddingModel>;
  /** the order must be computed again (the library's rearrange) */
  onChange: () => void;
  /** the search box is cleared (find-similar replaces a text search) */
  clearText: () => void;
  embed?: (model: string, text: string, signal: AbortSignal) => Promise<Float32Array>;
}

export interface ArrangeInput {
  order: string[];
  text: string;
  /** filters other than the words are on (the ranking is then limited to what they let through) */
  filtered: boolean;
  withoutText: () => string[];
}

const defaultEmbed = async (model: string, text: string, signal: AbortSignal) => (await createEmbeddings({ model, input: text }, signal)).vectors[0]!;

export function createSearchStore(deps: SearchDeps) {
  const embed = deps.embed ?? defaultEmbed;
  let state: SearchState = { model: null, wordsOnly: false, phase: 'idle', ranking: null, similar: null, limit: PAGE, shown: 0 };
  const listeners = new Set<() => void>();
  const set = (patch: Partial<SearchState>, reorder = false) => {
    state = { ...state, ...patch };
    listeners.forEach((l) => l());
    if (reorder) deps.onChange();
  };
  let ctrl: AbortController | null = null;
  let wanted = '';

  async function refreshModel(fresh = false): Promise<EmbeddingModel> {
    const model = await deps.embeddingModel(fresh);
    if (model.state === 'ready') await deps.index({ op: 'open', model: model.id });
    // a model that became ready (or went away) changes what a pending search shows
    if (JSON.stringify(model) !== JSON.stringify(state.model)) set({ model }, true);
    return model;
  }

  async function rank(key: string, text: string, allow: string[] | undefined): Promise<void> {
    ctrl?.abort();
    const c = (ctrl = new AbortController());
    wanted = key;
    try {
      const model = await refreshModel();
      if (model.state !== 'ready' || wanted !== key) return;
      const t = performance.now();
      set({ phase: 'embedding', error: undefined });
      const vector = await embed(model.id, text, c.signal);
      if (wanted !== key) return;
      set({ phase: 'ranking' });
      const ranked = await deps.index({ op: 'query', vector, k: state.limit, ...(allow ? { allow } : {}) });
      if (wanted !== key) return;
      set({ phase: 'done', ranking: { key, text, ranked, ms: performance.now() - t } }, true);
    } catch (err) {
      if (c.signal.aborted || wanted !== key) return;
      set({ phase: 'error', error: toApiError(err).message });
    }
  }

  /** Word matches first, then the ranked images the filters let through; each group by similarity. */
  function combine(words: string[], ranked: Ranked, allowed: () => Set<string>): string[] {
    const sim = new Map(ranked.ids.map((id, i) => [id, ranked.scores[i]!]));
    const inWords = new Set(words);
    const byScore = (a: string, b: string) => (sim.get(b) ?? -2) - (sim.get(a) ?? -2);
    // a stable sort: word matches without a vector keep the library's order, after the rest
    const first = [...words].sort(byScore);
    const ok = allowed();
    const rest = ranked.ids.filter((id) => !inWords.has(id) && ok.has(id));
    return [...first, ...rest];
  }

  const api = {
    getState: () => state,
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    refreshModel,

    /** The library's arranger step for search (stacks collapse afterwards). */
    arrange({ order, text, filtered, withoutText }: ArrangeInput): { order: string[]; ranked: boolean } {
      const q = text.trim();
      if (state.similar) {
        if (q) {
          // typing a new search leaves find-similar
          state = { ...state, similar: null };
        } else {
          const { ids, ranked } = state.similar;
          const ok = new Set(withoutText());
          const out = [...ids.filter((id) => ok.has(id)), ...(ranked?.ids ?? []).filter((id) => ok.has(id))];
          state = { ...state, shown: out.length };
          return { order: out, ranked: true };
        }
      }
      if (!q || state.wordsOnly || state.model?.state !== 'ready') {
        if (q && state.model === null) void refreshModel();
        return { order, ranked: false };
      }
      let allowList: string[] | undefined;
      const key = `${q}\u0000${filtered ? (allowList = withoutText()).length : 'all'}\u0000${state.limit}`;
      if (state.ranking?.key !== key) {
        if (wanted !== key) void rank(key, q, filtered ? allowList : undefined);
        return { order, ranked: false };
      }
      let base: string[] | undefined = allowList;
      const out = combine(order, state.ranking.ranked, () => new Set((base ??= withoutText())));
      state = { ...state, shown: out.length };
      return { order: out, ranked: true };
    },

    /** Rank the library by likeness to these images (the loupe's or the selection's). */
    async findSimilar(ids: string[], label: string): Promise<void> {
      ctrl?.abort();
      wanted = '';
      deps.clearText();
      const model = await refreshModel(true);
      if (model.state !== 'ready') {
        set({ similar: { ids, label, ranked: null, note: 'no-model' } }, true);
        return;
      }
      const missing = await deps.index({ op: 'missing', model: model.id, ids });
      if (missing.length === ids.length) {
        set({ similar: { ids, label, ranked: null, note: 'not-indexed' } }, true);
        return;
      }
      const ranked = await deps.index({ op: 'similar', ids, k: state.limit });
      set({ similar: { ids, label, ranked } }, true);
    },
    clearSimilar(): void {
      if (state.similar) set({ similar: null }, true);
    },
    setWordsOnly(wordsOnly: boolean): void {
      set({ wordsOnly }, true);
    },
    /** Show PAGE more of the closest images. */
    showMore(): void {
      set({ limit: state.limit + PAGE, ranking: null }, true);
      if (state.similar) void api.findSimilar(state.similar.ids, state.similar.label);
    },
  };
  return api;
}

export type SearchStore = ReturnType<typeof createSearchStore>;
