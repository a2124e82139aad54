// Reading many keys of one store: one request per key costs the calling thread (the page's main
// thread, where the grid scrolls) a round trip to the browser's IndexedDB each. A batch whose ids
// come in key order (a sync batch, read off the outbox in key order; a pulled page of this
// device's own changes) usually lies in one key range of the store with few other keys between:
// a getAll over that range reads it with one request. The ids go in chunks of RANGE_CHUNK: each
// chunk's values arrive in a task of their own, so whatever the caller does with them (a merge
// per record) stays a short task, not one long enough to drop a frame.
import { promisifyRequest, type UseStore } from 'idb-keyval';

/** Below this many ids the requests saved do not matter. */
const MIN_RANGE = 16;
export const RANGE_CHUNK = 64;

/**
 * Reads the values of `ids` inside a transaction: `each(value, index)` for every id (undefined:
 * absent), from request callbacks, so it may go on using the transaction (a put); `done` after
 * the last. A chunk of ascending ids is read with one getAll over its key range when the range
 * holds at most as many other keys as ids; else (or when the range holds more) one get per id.
 */
export function readInOrder<T>(store: IDBObjectStore, ids: readonly string[], each: (value: T | undefined, index: number) => void, done: () => void = () => {}): void {
  let left = ids.length;
  if (!left) return done();
  const got = (value: T | undefined, i: number) => {
    each(value, i);
    if (--left === 0) done();
  };
  const perKey = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const req = store.get(ids[i]!);
      req.onsuccess = () => got(req.result as T | undefined, i);
    }
  };
  for (let from = 0; from < ids.length; from += RANGE_CHUNK) {
    const to = Math.min(ids.length, from + RANGE_CHUNK);
    let ascending = to - from >= MIN_RANGE;
    for (let i = from + 1; ascending && i < to; i++) ascending = ids[i - 1]! < ids[i]!;
    if (!ascending) {
      perKey(from, to);
      continue;
    }
    const limit = (to - from) * 2;
    const range = IDBKeyRange.bound(ids[from], ids[to - 1]);
    const keysReq = store.getAllKeys(range, limit);
    const valuesReq = store.getAll(range, limit);
    valuesReq.onsuccess = () => {
      // (requests of one transaction complete in order: the keys are in)
      const found = keysReq.result as string[];
      if (found.length >= limit) return perKey(from, to); // more keys in the range than read
      const byKey = new Map<string, T>();
      found.forEach((k, i) => byKey.set(k, valuesReq.result[i] as T));
      for (let i = from; i < to; i++) got(byKey.get(ids[i]!), i);
    };
  }
}

/** readInOrder in a transaction of its own: getMany with fewer requests for ids in key order. */
export function getInOrder<T>(ids: readonly string[], useStore: UseStore): Promise<(T | undefined)[]> {
  return useStore('readonly', (store) => {
    const values: (T | undefined)[] = ids.map(() => undefined);
    readInOrder<T>(store, ids, (v, i) => (values[i] = v));
    return promisifyRequest(store.transaction).then(() => values);
  });
}
