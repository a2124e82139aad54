import { clear, delMany, get, getMany, keys, promisifyRequest, setMany, values } from 'idb-keyval';
import type { ImageRecord } from './schema';
import { readRecord } from './stored';
import { defaultStores, type Stores } from './stores';
import { StorageQuotaError, isQuotaError } from './errors';
import { blobWrites } from './sweep-marker';
import { readInOrder } from './sorted-reads';

export interface NewImage {
  record: ImageRecord;
  original: Blob;
  thumb: Blob;
}

/**
 * Commit one image: originals, then thumbs, then meta (the commit marker). Any failure removes
 * whatever was written, so no half-written record survives; quota failures become
 * StorageQuotaError with a message for the user.
 */
export async function putImage(img: NewImage, stores: Stores = defaultStores()): Promise<void> {
  await putImages([img], stores);
}

// Blob writes and their commit run under one Web Lock (shared by every tab of the origin), and so
// does the orphan sweep: the sweep can never mistake an in-flight import's blobs for orphans.
// navigator.locks exists only in secure contexts (https, localhost): on plain http over a LAN
// address a promise chain serialises this tab's writes, and the sweep waits (see sweepOrphans).
const WRITE_LOCK = 'atelier-library-write';
let localChain: Promise<unknown> = Promise.resolve();

function webLocks(): LockManager | undefined {
  return (globalThis.navigator as Navigator | undefined)?.locks;
}

async function withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = webLocks();
  if (locks) return await locks.request(WRITE_LOCK, fn);
  const run = localChain.then(fn, fn);
  localChain = run.catch(() => undefined);
  return run;
}

/** Commit several images with one transaction per store (bulk import, seeding). */
export async function putImages(imgs: NewImage[], stores: Stores = defaultStores()): Promise<void> {
  if (imgs.length === 0) return;
  const ids = imgs.map((i) => i.record.id);
  await withWriteLock(async () => {
    // A page that dies before end() leaves the marker: the next start-up sweeps (sweep-marker.ts).
    blobWrites().begin();
    try {
      await setMany(imgs.map((i) => [i.record.id, i.original]), stores.originals);
      await setMany(imgs.map((i) => [i.record.id, i.thumb]), stores.thumbs);
      await setMany(imgs.map((i) => [i.record.id, i.record]), stores.meta);
    } catch (err) {
      await Promise.allSettled([delMany(ids, stores.originals), delMany(ids, stores.thumbs), delMany(ids, stores.meta)]);
      throw isQuotaError(err) ? new StorageQuotaError(err) : err;
    } finally {
      blobWrites().end();
    }
  });
}

/**
 * Remove blobs whose record was never committed: a page closed or crashed between the blob
 * writes and the meta write of putImages(). Returns how many blobs were removed.
 *
 * Without Web Locks another tab's import cannot be excluded, so the blobs found without a record
 * are only candidates: after `settleMs` (far longer than one commit takes) the ones that still
 * have no record are removed, and an import that was in flight has committed meanwhile.
 */
export async function sweepOrphans(stores: Stores = defaultStores(), { settleMs = 30_000 }: { settleMs?: number } = {}): Promise<number> {
  const orphans = async () => {
    const committed = new Set(await keys(stores.meta));
    const [thumbKeys, originalKeys] = await Promise.all([keys(stores.thumbs), keys(stores.originals)]);
    return { thumbs: thumbKeys.filter((k) => !committed.has(k)), originals: originalKeys.filter((k) => !committed.has(k)) };
  };
  let candidates: Set<IDBValidKey> | undefined;
  if (!webLocks()) {
    const first = await orphans();
    if (first.thumbs.length + first.originals.length === 0) return 0;
    candidates = new Set([...first.thumbs, ...first.originals]);
    await new Promise((r) => setTimeout(r, settleMs));
  }
  return withWriteLock(async () => {
    const found = await orphans();
    const thumbs = candidates ? found.thumbs.filter((k) => candidates.has(k)) : found.thumbs;
    const originals = candidates ? found.originals.filter((k) => candidates.has(k)) : found.originals;
    await Promise.all([delMany(thumbs, stores.thumbs), delMany(originals, stores.originals)]);
    return thumbs.length + originals.length;
  });
}

/** Write changed records in ONE transaction (culling a whole selection is one write). */
export async function putRecords(records: ImageRecord[], stores: Stores = defaultStores()): Promise<void> {
  if (records.length === 0) return;
  try {
    await setMany(records.map((r) => [r.id, r]), stores.meta);
  } catch (err) {
    throw isQuotaError(err) ? new StorageQuotaError(err) : err;
  }
}

/** Read-modify-write one record atomically; resolves to the new record (undefined if missing). */
export async function updateRecord(
  id: string,
  fn: (rec: ImageRecord) => ImageRecord,
  stores: Stores = defaultStores(),
): Promise<ImageRecord | undefined> {
  return (await updateRecords([id], fn, stores))[0];
}

/**
 * Read-modify-write several records in ONE transaction (an analysed batch): each is read and
 * written atomically, as updateRecord does for one. Missing ids give undefined and write nothing;
 * so does an `fn` that returns the very record it was given (nothing to change).
 */
export async function updateRecords(
  ids: readonly string[],
  fn: (rec: ImageRecord, index: number) => ImageRecord,
  stores: Stores = defaultStores(),
): Promise<(ImageRecord | undefined)[]> {
  const out: (ImageRecord | undefined)[] = ids.map(() => undefined);
  if (ids.length === 0) return out;
  try {
    await stores.meta('readwrite', (store) => {
      // (ids in key order, a sync batch's, are read a chunk per request: sorted-reads.ts)
      readInOrder<ImageRecord>(store, ids, (stored, i) => {
        if (!stored) return;
        const rec = readRecord(stored);
        out[i] = fn(rec, i);
        if (out[i] !== rec) store.put(out[i], ids[i]!);
      });
      return promisifyRequest(store.transaction);
    });
  } catch (err) {
    throw isQuotaError(err) ? new StorageQuotaError(err) : err;
  }
  return out;
}

export async function deleteImages(ids: string[], stores: Stores = defaultStores()): Promise<void> {
  // meta first: once it is gone the image is gone for every reader, blobs are then garbage
  await delMany(ids, stores.meta);
  await Promise.all([delMany(ids, stores.thumbs), delMany(ids, stores.originals)]);
}

export async function loadAllRecords(stores: Stores = defaultStores()): Promise<ImageRecord[]> {
  return (await values<ImageRecord>(stores.meta)).map(readRecord);
}

/**
 * Reads all records in key-ordered pages, yielding between pages, so a 100k library never
 * blocks the main thread for one long structured-clone.
 */
export async function loadAllRecordsPaged(onPage?: (loaded: number) => void, pageSize = 4000, stores: Stores = defaultStores()): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  let after: IDBValidKey | undefined;
  for (;;) {
    const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
    const [vals, keys] = await stores.meta('readonly', (store) =>
      Promise.all([promisify<ImageRecord[]>(store.getAll(range, pageSize)), promisify<IDBValidKey[]>(store.getAllKeys(range, pageSize))]),
    );
    for (const v of vals) out.push(readRecord(v));
    onPage?.(out.length);
    if (vals.length < pageSize) return out;
    after = keys[keys.length - 1];
    await new Promise((r) => setTimeout(r, 0));
  }
}

function promisify<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error);
  });
}

/** Whether this browser's library holds any record (one key read, whatever the library's size). */
export async function hasRecords(stores: Stores = defaultStores()): Promise<boolean> {
  return stores.meta('readonly', (store) => promisifyRequest(store.getAllKeys(null, 1))).then((k) => k.length > 0);
}

export async function getRecord(id: string, stores: Stores = defaultStores()): Promise<ImageRecord | undefined> {
  const rec = await get<ImageRecord>(id, stores.meta);
  return rec && readRecord(rec);
}

/**
 * Records that came from the server (sync): the thumbnail and the record, committed as putImages
 * commits (blob first, meta last), without an original; the original comes on demand
 * (setOriginalSource) or in the background, as the sync settings say.
 */
export async function putReplicas(entries: { record: ImageRecord; thumb?: Blob }[], stores: Stores = defaultStores()): Promise<void> {
  if (entries.length === 0) return;
  const ids = entries.map((e) => e.record.id);
  await withWriteLock(async () => {
    blobWrites().begin();
    try {
      await setMany(entries.flatMap((e) => (e.thumb ? [[e.record.id, e.thumb] as [string, Blob]] : [])), stores.thumbs);
      await setMany(entries.map((e) => [e.record.id, e.record]), stores.meta);
    } catch (err) {
      await Promise.allSettled([delMany(ids, stores.thumbs), delMany(ids, stores.meta)]);
      throw isQuotaError(err) ? new StorageQuotaError(err) : err;
    } finally {
      blobWrites().end();
    }
  });
}

/** Where an original that is not on this device comes from (sync installs it: the server). */
type OriginalSource = (rec: ImageRecord) => Promise<Blob | undefined>;
let originalSource: OriginalSource | undefined;
let onOriginalRead: ((id: string) => void) | undefined;
/** `onRead`: told of every original read (sync keeps the cache's least recently used order). */
export function setOriginalSource(fn: OriginalSource | undefined, onRead?: (id: string) => void): void {
  originalSource = fn;
  onOriginalRead = onRead;
}

/** Whether the original's bytes are on this device (not only on the server). */
export async function hasLocalOriginal(id: string, stores: Stores = defaultStores()): Promise<boolean> {
  return (await get<Blob>(id, stores.originals)) !== undefined;
}

/** Stores an original fetched from the server (a cache entry: sync may evict it again). */
export async function putOriginal(id: string, blob: Blob, stores: Stores = defaultStores()): Promise<void> {
  try {
    await setMany([[id, blob]], stores.originals);
  } catch (err) {
    throw isQuotaError(err) ? new StorageQuotaError(err) : err;
  }
}

/** The original: on this device, or else from the original source (kept here afterwards). */
export async function getOriginal(id: string, stores: Stores = defaultStores()): Promise<Blob | undefined> {
  const local = await get<Blob>(id, stores.originals);
  if (local || !originalSource) {
    if (local) onOriginalRead?.(id);
    return local;
  }
  const rec = await get<ImageRecord>(id, stores.meta);
  if (!rec) return undefined;
  const blob = await originalSource(rec);
  if (blob) {
    await putOriginal(id, blob, stores).catch(() => undefined); // no room: still shown once
    onOriginalRead?.(id);
  }
  return blob;
}

/** Originals of several images (export): each from this device or the original source. */
export function getOriginals(ids: readonly string[], stores: Stores = defaultStores()): Promise<(Blob | undefined)[]> {
  return Promise.all(ids.map((id) => getOriginal(id, stores)));
}

export function getThumbs(ids: string[], stores: Stores = defaultStores()): Promise<(Blob | undefined)[]> {
  return getMany<Blob | undefined>(ids, stores.thumbs);
}

export async function clearLibrary(stores: Stores = defaultStores()): Promise<void> {
  await Promise.all([clear(stores.meta), clear(stores.thumbs), clear(stores.originals)]);
}

