import { useSyncExternalStore } from 'react';
import { batcher } from '@/lib/batcher';
import { emit, on } from '@/lib/db/events';
import { sameToTheEye } from '@/lib/db/fields';
import { editRecords } from '@/lib/db/library-api';
import { deleteImages, getOriginals, loadAllRecordsPaged, sweepOrphans } from '@/lib/db/records';
import { blobWrites } from '@/lib/db/sweep-marker';
import { idleTask } from '@/lib/idle';
import { loadHead, saveHead } from '@/lib/db/head-cache';
import { forgetThumbs } from '@/lib/db/thumb-urls';
import { requestPersistence, storageInfo, type StorageInfo } from '@/lib/db/storage';
import { nsfwToggle, type NsfwMark } from '@/lib/db/nsfw';
import type { ImageRecord } from '@/lib/db/schema';
import { settings } from '@/lib/api/config';
import { applyCull, type CullAction } from '../utils/culling';
import { buildExportZip } from '../utils/export-zip';
import type { ImportItem, ImportProgress } from '../utils/import-pipeline';
import { DEFAULT_QUERY, buildView, filterView, filterViewAt, isFiltered, patchView, tagCountsIdle, warmView, type Query, type SortedView } from '../utils/search';
import { clickSelect, EMPTY_SELECTION, moveFocus, pruneSelection, selectAll, type Selection } from '../utils/selection';
import { createImporter } from './importer';
import { loadUiPreferences, saveUiPreference } from './ui-preferences';

/** Built-in views plus the colleague's slots (see src/app/App.tsx). */
export type View = 'grid' | 'loupe' | 'status' | 'settings';

/**
 * Rearranges the filtered order before the grid shows it (set by the app: near-duplicate stacks
 * collapse into their cover, a search by meaning ranks by similarity). `withoutText` is the order
 * with every filter but the search words (a ranking may bring images the words do not match).
 * `order` keeps the sort order of the library's sorted view, and `at` says where each of its
 * images stands there; `view` describes that view: the same object for as long as the positions
 * it gives hold (one per sorted view), so an arranger may keep what it works out from it (stacks
 * keep where their members stand) and then look images up by position, not by id.
 * `ranked`: the order is not the sort order (the cached first screen is then left alone).
 */
export type Arranger = (input: { order: string[]; query: Query; withoutText: () => string[]; at: Int32Array; view: ViewPlaces }) => { order: string[]; ranked?: boolean };

/** The library's sorted view as an arranger sees it: how many images, and where one stands. */
export interface ViewPlaces {
  size: number;
  positionOf: (id: string) => number | undefined;
}

export interface Notice {
  kind: 'error' | 'info';
  text: string;
}

export interface LibraryState {
  /** 'partial': only the cached first screen is shown while the full library loads */
  status: 'loading' | 'partial' | 'ready' | 'error';
  /** records read so far during the initial load */
  loaded: number;
  byId: ReadonlyMap<string, ImageRecord>;
  /** ids in display order after filter + sort */
  order: readonly string[];
  query: Query;
  /** the search box (query.text follows it, debounced) */
  searchText: string;
  selection: Selection;
  view: View;
  slideshow: boolean;
  thumbSize: number;
  showNsfw: boolean;
  infoOpen: boolean;
  importProgress: ImportProgress | null;
  storage: StorageInfo | null;
  notice: Notice | null;
  topTags: { name: string; count: number }[];
  /** last query latency in ms (shown to curious users, read by the benchmark) */
  queryMs: number;
  /** the NSFW threshold setting (applied to stored detector scores; see lib/db/nsfw.ts) */
  nsfwThreshold: number;
}

export function createLibraryStore() {
  const prefs = loadUiPreferences();
  let state: LibraryState = {
    status: 'loading',
    loaded: 0,
    byId: new Map(),
    order: [],
    query: { ...DEFAULT_QUERY, ...prefs.sort },
    searchText: '',
    selection: EMPTY_SELECTION,
    view: 'grid',
    slideshow: false,
    thumbSize: prefs.thumbSize,
    showNsfw: prefs.showNsfw,
    infoOpen: prefs.infoOpen,
    importProgress: null,
    storage: null,
    notice: null,
    topTags: [],
    queryMs: 0,
    nsfwThreshold: settings.get().nsfwThreshold,
  };
  const listeners = new Set<() => void>();
  const set = (patch: Partial<LibraryState>) => {
    state = { ...state, ...patch };
    listeners.forEach((l) => l());
  };

  // records sorted by the current sort key, reused across keystrokes and filter changes
  let view: { v: SortedView; byId: ReadonlyMap<string, ImageRecord> } | null = null;
  let stopWarming = () => {};
  const viewFor = (byId: ReadonlyMap<string, ImageRecord>, q: Query): SortedView => {
    if (!view || view.v.sort !== q.sort || view.v.desc !== q.desc || view.byId !== byId) {
      view = { v: buildView([...byId.values()], q.sort, q.desc), byId };
      stopWarming();
      stopWarming = warmView(view.v);
    }
    return view.v;
  };
  /** Edits that leave every sort field as it was keep the view (patched in place). */
  const carryView = (prev: ReadonlyMap<string, ImageRecord>, next: ReadonlyMap<string, ImageRecord>, changed: ImageRecord[]) => {
    if (view && view.byId === prev && patchView(view.v, changed)) view = { v: view.v, byId: next };
  };

  // While the loupe is open, edits do not reorder the images: rating an image while sorted by
  // rating (or filtered by it) keeps it where it is, and → still goes to the image that was next.
  // The order catches up when the loupe closes.
  let orderStale = false;
  let arranger: Arranger | null = null;
  // one ViewPlaces per sorted view: the arranger may keep what it works out from it (stacks do)
  const places = new WeakMap<SortedView, ViewPlaces>();
  const placesOf = (v: SortedView) => {
    let p = places.get(v);
    if (!p) places.set(v, (p = { size: v.ids.length, positionOf: (id: string) => v.index.get(id) }));
    return p;
  };
  const requery = (byId = state.byId, query = state.query): Partial<LibraryState> => {
    orderStale = false;
    const t = performance.now();
    const v = viewFor(byId, query);
    const filtered = filterViewAt(v, query, state.nsfwThreshold);
    let order = filtered.ids;
    let ranked = false;
    if (arranger) ({ order, ranked = false } = arranger({ order, at: filtered.at, view: placesOf(v), query, withoutText: () => filterView(v, { ...query, text: '' }, state.nsfwThreshold) }));
    const queryMs = performance.now() - t;
    if (state.status === 'ready' && !ranked && !isFiltered(query)) saveHead(order.slice(0, 400).map((id) => byId.get(id)!), byId.size, undefined, { sort: query.sort, desc: query.desc });
    // (a set of 100k ids costs several ms: made only when something is selected)
    const sel = state.selection;
    const selection = sel.ids.size || sel.anchor || sel.focus ? pruneSelection(sel, new Set(order)) : sel;
    return { order, queryMs, selection };
  };
  settings.subscribe(() => {
    const t = settings.get().nsfwThreshold;
    if (t === state.nsfwThreshold) return;
    state = { ...state, nsfwThreshold: t };
    set(requery());
  });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((r) => (markReady = r));

  // Tag suggestions are counted in idle time: a burst of edits or analysis results recounts once.
  let tagTimer: ReturnType<typeof setTimeout> | undefined;
  let stopCounting = () => {};
  const refreshTags = () => {
    clearTimeout(tagTimer);
    stopCounting();
    tagTimer = setTimeout(() => {
      stopCounting = tagCountsIdle([...state.byId.values()], (topTags) => set({ topTags }));
    }, 300);
  };

  const merge = (all: ImageRecord[]) => {
    // Sync stamps every record it pushes or pulls back (the thumbnail's hash, field stamps): a
    // write that changes nothing on screen would otherwise re-sort, re-render the grid, save the
    // head cache and recount the tags, batch after batch, while the user scrolls. `byId` holds
    // what the UI shows; whoever needs the bookkeeping reads the record from IndexedDB.
    // A coalesced batch can hold one record twice (two quick edits: rating, then flag): its
    // latest version is the one to compare and keep (compared alone, the latest could equal the
    // optimistic state and be dropped while the earlier one overwrote it).
    const latest = new Map<string, ImageRecord>();
    for (const r of all) latest.set(r.id, r);
    const records = [...latest.values()].filter((r) => {
      const shown = state.byId.get(r.id);
      return !shown || !sameToTheEye(shown, r);
    });
    if (!records.length) return;
    const byId = new Map(state.byId);
    const edits = records.every((r) => state.byId.has(r.id));
    for (const r of records) byId.set(r.id, r);
    carryView(state.byId, byId, records);
    if (edits && state.view === 'loupe') {
      orderStale = true;
      set({ byId });
    } else set({ byId, ...requery(byId) });
    refreshTags();
  };
  const remove = (ids: string[]) => {
    const byId = new Map(state.byId);
    for (const id of ids) byId.delete(id);
    set({ byId, ...requery(byId) });
    refreshTags();
  };
  // events from elsewhere (analysis results, generated images, imports) arrive in bursts:
  // coalesce them so 100k-record re-queries run at most every 50 ms
  const pending = batcher<ImageRecord>(merge, { waitMs: 50 });
  const flushPending = pending.flush;
  const mergeSoon = (records: ImageRecord[]) => pending.push(...records);
  on('added', mergeSoon);
  on('updated', mergeSoon);
  on('removed', (ids) => {
    flushPending();
    remove(ids);
  });

  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  let loading: Promise<void> | null = null;

  /** Culling and deletes act on the selection when the focused image is part of it, else on the focused image. */
  const targets = (): string[] => {
    const { ids, focus } = state.selection;
    if (focus && !ids.has(focus)) return [focus];
    return [...ids];
  };

  const importer = createImporter({
    whenReady: () => ready,
    records: () => state.byId.values(),
    onProgress: (importProgress) => set({ importProgress }),
    onBusy: () => set({ notice: { kind: 'info', text: 'An import is already running; wait for it or cancel it first.' } }),
    onEnd: (progress) => {
      set({ importProgress: progress });
      if (progress.quotaError) set({ notice: { kind: 'error', text: progress.quotaError } });
      void api.refreshStorage();
    },
  });

  const api = {
    getState: () => state,
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },

    /** Idempotent (React StrictMode mounts twice in development). */
    load(): Promise<void> {
      loading ??= api.loadNow();
      return loading;
    },
    async loadNow() {
      try {
        performance.mark?.('atelier:load-start');
        const head = await loadHead();
        const q = state.query;
        const headFits = head && (head.sort ?? 'added') === q.sort && (head.desc ?? true) === q.desc;
        if (head && headFits && head.records.length && state.status === 'loading') {
          const byId = new Map(head.records.map((r) => [r.id, r]));
          set({ status: 'partial', byId, order: head.records.map((r) => r.id), loaded: 0 });
          performance.mark?.('atelier:head');
          // let the first screen and its thumbnails paint before the bulk read takes the main thread
          await new Promise((r) => setTimeout(r, 150));
        }
        const full = loadAllRecordsPaged((loaded) => set({ loaded }));
        const records = await full;
        const byId = new Map(records.map((r) => [r.id, r]));
        state = { ...state, status: 'ready' };
        set({ byId, loaded: records.length, ...requery(byId) });
        if (!records.length) saveHead([], 0, 0);
        markReady();
        performance.mark?.('atelier:ready');
        refreshTags();
        // In idle time, and only when a write may have been cut short (or weekly): drop blobs an
        // interrupted import left without their record.
        if (blobWrites().needed()) {
          idleTask(() => {
            const started = Date.now();
            void sweepOrphans().then(() => blobWrites().swept(started), (err: unknown) => console.warn('orphan sweep failed', err));
            return true;
          }, { timeoutMs: 5_000 });
        }
      } catch (err) {
        set({ status: 'error', notice: { kind: 'error', text: `Could not open the library: ${(err as Error).message}` } });
      }
      void requestPersistence().then(() => api.refreshStorage());
    },

    async refreshStorage() {
      set({ storage: await storageInfo() });
    },

    /** Installs (or removes) the arranger; the order is computed again at once. */
    setArranger(fn: Arranger | null) {
      arranger = fn;
      api.rearrange();
    },
    /** The arranger's inputs changed (stacks recomputed, a ranking arrived): order again. */
    rearrange() {
      if (state.status === 'loading') return;
      flushPending();
      set(requery());
    },

    setQuery(patch: Partial<Query>) {
      flushPending();
      const query = { ...state.query, ...patch };
      if (query.sort !== state.query.sort || query.desc !== state.query.desc) saveUiPreference.sort(query);
      set({ query, ...requery(state.byId, query) });
    },
    setSearchText(text: string) {
      set({ searchText: text });
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => api.setQuery({ text }), 150);
    },
    /** Applies the search box now (Enter), skipping the debounce. */
    flushSearch() {
      clearTimeout(searchTimer);
      if (state.query.text !== state.searchText) api.setQuery({ text: state.searchText });
    },
    resetFilters() {
      clearTimeout(searchTimer);
      const query = { ...DEFAULT_QUERY, sort: state.query.sort, desc: state.query.desc };
      set({ searchText: '', query, ...requery(state.byId, query) });
    },

    click(id: string, mods: { shift?: boolean; toggle?: boolean } = {}) {
      set({ selection: clickSelect(state.selection, state.order, id, mods) });
    },
    focus(id: string) {
      set({ selection: { ids: new Set([id]), anchor: id, focus: id } });
    },
    move(delta: number, extend = false) {
      set({ selection: moveFocus(state.selection, state.order, delta, extend) });
    },
    selectAll() {
      set({ selection: selectAll(state.order, state.selection.focus) });
    },
    clearSelection() {
      set({ selection: EMPTY_SELECTION });
    },

    /** N: flips what the focused image shows (NSFW or safe) for it and the rest of the selection. */
    toggleNsfwMark() {
      const focus = state.selection.focus ? state.byId.get(state.selection.focus) : undefined;
      if (!focus) return Promise.resolve();
      return api.cull({ type: 'nsfw', value: nsfwToggle(focus, state.nsfwThreshold) });
    },
    /** The info panel's choice: safe, NSFW, or undefined for the detector's verdict. */
    setNsfwMark(value: NsfwMark | undefined) {
      return api.cull({ type: 'nsfw', value });
    },

    /** Acts on the selection (or the focused image; see targets), or on `ids` when given. */
    async cull(action: CullAction, ids: readonly string[] = targets()) {
      const recs = ids.map((id) => state.byId.get(id)).filter((r): r is ImageRecord => !!r);
      const changed = applyCull(recs, action);
      if (!changed.length) return;
      merge(changed); // optimistic: the grid updates before the disk write lands
      try {
        // applied to each record as stored now, field-wise (lib/db/fields.ts): a tag edit or an
        // analysis result that lands meanwhile survives
        await editRecords(changed.map((r) => r.id), (r) => applyCull([r], action)[0] ?? r);
      } catch (err) {
        merge(recs);
        set({ notice: { kind: 'error', text: (err as Error).message } });
      }
    },
    /** Edits one record (tags, caption): `fn` is applied to the record as stored now. */
    async editRecord(id: string, fn: (rec: ImageRecord) => ImageRecord) {
      const rec = state.byId.get(id);
      if (rec) merge([fn(rec)]);
      try {
        await editRecords([id], fn);
      } catch (err) {
        if (rec) merge([rec]);
        set({ notice: { kind: 'error', text: (err as Error).message } });
      }
    },

    setView(view: View) {
      set({ view, slideshow: false });
      if (view !== 'loupe' && orderStale) set(requery());
    },
    setSlideshow(on: boolean) {
      set({ slideshow: on });
    },
    setThumbSize(px: number) {
      saveUiPreference.thumbSize(px);
      set({ thumbSize: px });
    },
    toggleNsfw() {
      saveUiPreference.showNsfw(!state.showNsfw);
      set({ showNsfw: !state.showNsfw });
    },
    toggleInfo() {
      saveUiPreference.infoOpen(!state.infoOpen);
      set({ infoOpen: !state.infoOpen });
    },
    notify(notice: Notice | null) {
      set({ notice });
    },

    /** Resolves once the whole library is in memory. */
    whenReady: () => ready,

    importItems: (items: ImportItem[]) => importer.run(items),
    cancelImport() {
      importer.cancel();
    },
    dismissImport() {
      if (!importer.running()) set({ importProgress: null });
    },

    /** ids the delete confirmation is about */
    deleteTargets: targets,
    async deleteImages(ids: string[]) {
      const order = state.order;
      const focus = state.selection.focus;
      await deleteImages(ids);
      forgetThumbs(ids);
      emit('removed', ids);
      // keep the user's place: focus the image after the deleted one
      if (focus && ids.includes(focus)) {
        const after = order.slice(order.indexOf(focus)).find((id) => !ids.includes(id)) ?? state.order[state.order.length - 1];
        if (after) api.focus(after);
        else set({ view: 'grid' });
      }
      set({ notice: { kind: 'info', text: `Deleted ${ids.length} image${ids.length === 1 ? '' : 's'}.` } });
      void api.refreshStorage();
    },

    /** Zips originals + XMP sidecars of the selection; returns the zip (the caller downloads it). */
    async exportZip(ids: string[]): Promise<Blob> {
      const blobs = await getOriginals(ids); // from the server when only it has them (sync)
      const items = await Promise.all(
        ids.map(async (id, i) => {
          const record = state.byId.get(id);
          const blob = blobs[i];
          return record && blob ? { record, original: new Uint8Array(await blob.arrayBuffer()) } : null;
        }),
      );
      const zip = buildExportZip(items.filter((x): x is NonNullable<typeof x> => x !== null));
      return new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
    },
  };
  return api;
}

export type LibraryStore = ReturnType<typeof createLibraryStore>;

export const library = createLibraryStore();

/** Subscribe a component to one slice of the library; the selector must return stable values. */
export function useLibrary<T>(selector: (s: LibraryState) => T): T {
  return useSyncExternalStore(library.subscribe, () => selector(library.getState()));
}
