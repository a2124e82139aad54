// The queue's own IndexedDB database (idb-keyval: one object store per database), apart from
// the library's stores so that clearing the queue can never touch an image.
import { createStore, delMany, setMany, values, type UseStore } from 'idb-keyval';
import type { QueueItem, QueuePersistence } from './types';

export function idbPersistence(store: UseStore = createStore('atelier-analysis-queue', 'items')): QueuePersistence {
  return {
    loadAll: () => values<QueueItem>(store),
    putMany: (items) => setMany(items.map((it) => [it.key, it]), store),
    deleteMany: (keys) => delMany(keys, store),
  };
}
