// What this device still has to tell the server, kept in IndexedDB so a reload or a crash loses
// none of it. Every tab records its own writes here (library events: added, updated, removed);
// the leading tab's engine drains it. Writes that sync itself makes (pulled changes) are made
// `quietly` and not recorded: they came from the server.
import { createStore, delMany, entries as idbEntries, setMany, type UseStore } from 'idb-keyval';
import { on } from '@/lib/db/events';
import { hlc } from '@/lib/db/hlc';
import { readInOrder } from '@/lib/db/sorted-reads';

export interface OutboxEntry {
  /** a deletion's stamp; absent: the record changed (push it as stored) */
  deleted?: string;
  /** changes on every write: an entry rewritten during a push is kept for the next one */
  token: number;
}

let outboxStore: UseStore | undefined;
let uploadStore: UseStore | undefined;
export const outboxDb = () => (outboxStore ??= createStore('atelier-sync-outbox', 'outbox'));
/** originals still to upload: record id -> SHA-256 */
export const uploadsDb = () => (uploadStore ??= createStore('atelier-sync-uploads', 'uploads'));

let quiet = 0;
let token = Date.now();

/** Runs `fn` without recording the library writes it makes (sync's own writes). */
export async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  quiet++;
  try {
    return await fn();
  } finally {
    quiet--;
  }
}

/**
 * Ids per transaction when many are written or removed at once (a first sync marks the whole
 * library): issuing thousands of requests is one task long enough to drop frames; a transaction
 * per chunk is a short task each.
 */
export const WRITE_CHUNK = 500;

/** Runs `fn` over `items` a chunk at a time, one after the other. */
export async function inChunks<T>(items: readonly T[], fn: (chunk: T[]) => Promise<void>, size = WRITE_CHUNK): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

export async function markChanged(ids: readonly string[]): Promise<void> {
  await inChunks(ids, (chunk) => setMany(chunk.map((id) => [id, { token: ++token } satisfies OutboxEntry]), outboxDb()));
}

export async function markDeleted(ids: readonly string[], stamp: string): Promise<void> {
  if (ids.length) await setMany(ids.map((id) => [id, { deleted: stamp, token: ++token } satisfies OutboxEntry]), outboxDb());
}

/** The first `limit` entries (all by default): a push reads one batch, not the whole outbox again per batch. */
export async function readOutbox(limit?: number): Promise<[string, OutboxEntry][]> {
  if (limit === undefined) return idbEntries<string, OutboxEntry>(outboxDb());
  return outboxDb()('readonly', (store) => {
    const keysReq = store.getAllKeys(null, limit);
    const valuesReq = store.getAll(null, limit);
    return new Promise<[string, OutboxEntry][]>((resolve, reject) => {
      // one transaction: both lists are of the same entries, in key order
      store.transaction.oncomplete = () => resolve((keysReq.result as string[]).map((k, i) => [k, valuesReq.result[i] as OutboxEntry]));
      store.transaction.onerror = () => reject(store.transaction.error);
    });
  });
}

/** Removes entries that were pushed, unless they were written again meanwhile. */
export async function settle(pushed: readonly [string, OutboxEntry][]): Promise<void> {
  const ids = pushed.map(([id]) => id);
  await outboxDb()('readwrite', (store) => {
    // (a batch read off the outbox is in key order: read back in a request or two, sorted-reads.ts)
    readInOrder<OutboxEntry>(store, ids, (now, i) => {
      if (now?.token === pushed[i]![1].token) store.delete(ids[i]!);
    });
    return new Promise<void>((resolve, reject) => {
      store.transaction.oncomplete = () => resolve();
      store.transaction.onerror = () => reject(store.transaction.error);
    });
  });
}

export async function dropOutbox(ids: readonly string[]): Promise<void> {
  await delMany([...ids], outboxDb());
}

/**
 * Records this tab's library writes in the outbox; `nudge` tells the leading tab. Returns the
 * unsubscribe. Deletions are stamped now: the delete is an edit like any other.
 */
export function watchLibrary(nudge: () => void): () => void {
  const changed = (recs: { id: string }[]) => {
    if (quiet) return;
    void markChanged(recs.map((r) => r.id)).then(nudge, (err: unknown) => console.warn('sync outbox write failed', err));
  };
  const offs = [
    on('added', changed),
    on('updated', changed),
    on('removed', (ids) => {
      if (quiet) return;
      void markDeleted(ids, hlc().now()).then(nudge, (err: unknown) => console.warn('sync outbox write failed', err));
    }),
  ];
  return () => offs.forEach((off) => off());
}
