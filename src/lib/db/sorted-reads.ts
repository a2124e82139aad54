// Reading many keys of one store: one request per key costs the calling thread (the page's main
// thread, where the grid scrolls) a round trip to the browser's IndexedDB each. A batch whose ids
// come in key order (a sync batch, read off the outbox in key order) usually lies in one key
// range of the store with few other keys between: one getAll over that range reads it whole.
import { promisifyRequest, type UseStore } from 'idb-keyval';

/** Below this many ids the requests saved do not matter. */
const MIN_RANGE = 16;

/**
 * Reads the values of `ids` inside a transaction and calls `done` with them in the order of
 * `ids` (undefined: absent), from a request's callback, so that `done` may go on using the
 * transaction. One getAll over their key range when the ids are ascending and the range holds at
 * most as many other keys as ids; else (or when the range holds more) one get per id.
 */
export function readInOrder<T>(store: IDBObjectStore, ids: readonly string[], done: (values: (T | undefined)[]) => void): void {
  const perKey = () => {
    const out: (T | undefined)[] = ids.map(() => undefined);
    let left = ids.length;
    if (!left) return done(out);
    ids.forEach((id, i) => {
      const req = store.get(id);
      req.onsuccess = () => {
        out[i] = req.result as T | undefined;
        if (--left === 0) done(out);
      };
    });
  };
  if (ids.length < MIN_RANGE || !ids.every((id, i) => i === 0 || ids[i - 1]! < id)) return perKey();
  const limit = ids.length * 2;
  const range = IDBKeyRange.bound(ids[0], ids[ids.length - 1]);
  const keysReq = store.getAllKeys(range, limit);
  const valuesReq = store.getAll(range, limit);
  valuesReq.onsuccess = () => {
    // (requests of one transaction complete in order: the keys are in)
    const found = keysReq.result as string[];
    if (found.length >= limit) return perKey(); // more keys in the range than read
    const byKey = new Map<string, T>();
    found.forEach((k, i) => byKey.set(k, valuesReq.result[i] as T));
    done(ids.map((id) => byKey.get(id)));
  };
}

/** readInOrder in a transaction of its own: getMany with fewer requests for ids in key order. */
export function getInOrder<T>(ids: readonly string[], useStore: UseStore): Promise<(T | undefined)[]> {
  return useStore('readonly', (store) => {
    let values: (T | undefined)[] = [];
    readInOrder<T>(store, ids, (v) => (values = v));
    return promisifyRequest(store.transaction).then(() => values);
  });
}
