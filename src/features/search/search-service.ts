// The search feature as the app runs it: one search store and one stack store per tab, bound to
// the library by the app (startSearch's deps: features never import each other).
import { useSyncExternalStore } from 'react';
import { createStore, get, set } from 'idb-keyval';
import { on } from '@/lib/db/events';
import type { ImageRecord } from '@/lib/db/schema';
import { idleTask } from '@/lib/idle';
import { vectorIndex } from '@/lib/vectors/client';
import { embeddingModel } from '@/lib/vectors/embedding-model';
import { NEWS_CHANNEL, type VectorNews } from '@/lib/vectors/protocol';
import { startBackfill } from './stacks/phash-backfill';
import { createSearchStore, type SearchState } from './stores/search-store';
import { createStackStore, type StackState } from './stores/stack-store';

export interface LibraryLink {
  records: () => Iterable<ImageRecord>;
  /** order the library again (its arranger runs) */
  rearrange: () => void;
  /** empty the search box */
  clearText: () => void;
}

let link: LibraryLink | null = null;

let cacheDb: ReturnType<typeof createStore> | undefined;
const cacheStore = () => (cacheDb ??= createStore('atelier-stacks', 'stacks'));

export const stacks = createStackStore({
  index: (req, transfer) => vectorIndex()(req, transfer),
  cache: { load: () => get('last', cacheStore()), save: (s) => set('last', s, cacheStore()) },
  records: () => link?.records() ?? [],
  embeddingModel: () => embeddingModel(),
  onChange: () => link?.rearrange(),
});

export const search = createSearchStore({
  index: (req, transfer) => vectorIndex()(req, transfer),
  embeddingModel: (fresh) => embeddingModel({ fresh: !!fresh }),
  onChange: () => link?.rearrange(),
  clearText: () => link?.clearText(),
});

/**
 * Binds the stores to the library once it is in memory: stacks computed in idle time and kept up
 * to date, deleted images' vectors dropped, older records given a perceptual hash.
 */
export function startSearch(l: LibraryLink): () => void {
  link = l;
  const offs = [
    on('added', () => stacks.rebuildSoon()),
    on('removed', (ids) => {
      stacks.forget(ids);
      stacks.rebuildSoon();
      void vectorIndex()({ op: 'remove', ids }).catch(() => undefined);
    }),
    on('updated', (recs) => stacks.noteUpdated(recs)),
  ];
  // new vectors (this tab's indexing lane or another's) can make bursts
  const news = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(NEWS_CHANNEL);
  if (news) news.onmessage = (e: MessageEvent<VectorNews>) => e.data.op === 'put' && stacks.rebuildSoon(5_000);
  void stacks.restore();
  // the last session's stacks are shown meanwhile; the rebuild waits for an idle moment (its main
  // thread part is ~0.2 s at 100k images), not for the user's first scroll
  const cancelIdle = idleTask(() => {
    void stacks.rebuild();
    void search.refreshModel();
    return true;
  }, { timeoutMs: 10_000 });
  const stopBackfill = startBackfill({ records: l.records });
  return () => {
    offs.forEach((off) => off());
    news?.close();
    cancelIdle();
    stopBackfill();
    link = null;
  };
}

export function useSearch<T>(selector: (s: SearchState) => T): T {
  return useSyncExternalStore(search.subscribe, () => selector(search.getState()));
}

export function useStacks<T>(selector: (s: StackState) => T): T {
  return useSyncExternalStore(stacks.subscribe, () => selector(stacks.getState()));
}
