// The analysis queue's persistence in a Map (tests inspect and tamper with it); the app uses
// IndexedDB (features/analysis/queue/idb-persistence.ts).
import type { QueueItem, QueuePersistence } from '@/features/analysis/queue/types';

/** In memory, structured-cloned like IndexedDB: what the tests read back is what was written. */
export function memoryPersistence(map = new Map<string, QueueItem>()): QueuePersistence & { map: Map<string, QueueItem> } {
  return {
    map,
    loadAll: async () => [...map.values()].map((it) => structuredClone(it)),
    putMany: async (items) => {
      for (const it of items) map.set(it.key, structuredClone(it));
    },
    deleteMany: async (keys) => {
      for (const k of keys) map.delete(k);
    },
  };
}
