import { createStore, type UseStore } from 'idb-keyval';

// idb-keyval gives one object store per database, so each store is its own database. A record
// is "committed" when its `meta` entry exists: blobs are written first and removed again if the
// meta write fails (see records.ts), so a reader never meets a half-written image.
export const DB_NAMES = {
  meta: ['atelier-meta', 'meta'],
  thumbs: ['atelier-thumbs', 'thumbs'],
  originals: ['atelier-originals', 'originals'],
} as const;

export interface Stores {
  /** ImageRecord by id */
  meta: UseStore;
  /** thumbnail Blob (WebP/JPEG) by id */
  thumbs: UseStore;
  /** original file Blob by id */
  originals: UseStore;
}

let defaults: Stores | undefined;

export function defaultStores(): Stores {
  defaults ??= {
    meta: createStore(...DB_NAMES.meta),
    thumbs: createStore(...DB_NAMES.thumbs),
    originals: createStore(...DB_NAMES.originals),
  };
  return defaults;
}
