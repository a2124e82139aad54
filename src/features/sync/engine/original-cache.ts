// Originals on this device are a cache of the server's once they are uploaded: when the site's
// storage passes HIGH of its quota, the least recently opened ones (then the oldest) are removed
// until it is under LOW. An original still waiting for its upload (in the outbox or the upload
// queue) is never removed: the server does not have it yet.
import { createStore, delMany, getMany, keys, set, type UseStore } from 'idb-keyval';
import type { ImageRecord } from '@/lib/db/schema';
import type { Stores } from '@/lib/db/stores';
import { outboxDb, uploadsDb } from './outbox';

export const HIGH = 0.8;
export const LOW = 0.7;

let accessStore: UseStore | undefined;
const accessDb = () => (accessStore ??= createStore('atelier-sync-access', 'access'));

/** Notes that an original was read now (the loupe, an export, a remix). */
export function touchOriginal(id: string): void {
  void set(id, Date.now(), accessDb()).catch(() => undefined);
}

export interface CacheEntry {
  id: string;
  bytes: number;
  /** last read, epoch ms (0: never read on this device) */
  lastUsed: number;
  addedAt: number;
}

/** Which originals to remove to free `bytes`: least recently used first, then the oldest. */
export function chooseEvictions(entries: readonly CacheEntry[], bytes: number): string[] {
  const order = [...entries].sort((a, b) => a.lastUsed - b.lastUsed || a.addedAt - b.addedAt);
  const out: string[] = [];
  let freed = 0;
  for (const e of order) {
    if (freed >= bytes) break;
    out.push(e.id);
    freed += e.bytes;
  }
  return out;
}

/** Removes uploaded originals while storage is past HIGH of the quota. Returns how many. */
export async function evictOriginals(stores: Stores, estimate: () => Promise<StorageEstimate | undefined> = async () => globalThis.navigator?.storage?.estimate?.()): Promise<number> {
  const est = await estimate();
  if (!est?.quota || !est.usage || est.usage <= HIGH * est.quota) return 0;
  const [have, waitingPush, waitingUpload] = await Promise.all([keys<string>(stores.originals), keys<string>(outboxDb()), keys<string>(uploadsDb())]);
  const waiting = new Set([...waitingPush, ...waitingUpload]);
  const ids = have.filter((id) => !waiting.has(id));
  const [blobs, recs, used] = await Promise.all([getMany<Blob | undefined>(ids, stores.originals), getMany<ImageRecord | undefined>(ids, stores.meta), getMany<number | undefined>(ids, accessDb())]);
  const entries = ids.map((id, i) => ({ id, bytes: blobs[i]?.size ?? 0, lastUsed: used[i] ?? 0, addedAt: recs[i]?.addedAt ?? 0 }));
  const gone = chooseEvictions(entries, est.usage - LOW * est.quota);
  await delMany(gone, stores.originals);
  await delMany(gone, accessDb());
  return gone.length;
}
