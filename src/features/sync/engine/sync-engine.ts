// The sync engine: runs in the leading tab only (leadership.ts). IndexedDB stays the replica
// the UI reads; the engine moves changes between it and the server (backend/atelier/library).
//
// One cycle, repeated every few seconds and at once when a tab records a change:
//   1. push: drain the outbox (outbox.ts). For each changed record its thumbnail goes to the
//      server first (a pulled record is never without one; a batch's thumbnails in one request), then the record with its per-field
//      HLC stamps; deletions as tombstones. The first sync against a server puts every local
//      record in the outbox: an existing library uploads itself.
//   2. pull: the change feed after the saved cursor. Each change is merged per field into the
//      local record (lib/db/fields.ts, the server's rule), new records are committed with their
//      thumbnail, tombstones delete. A cursor the server no longer knows (410: its database
//      was reset) starts over from nothing and pushes everything again.
//   3. originals: uploads in the background (resumable, 8 MB pieces, progress), then the
//      originals this device keeps by the settings (all / recent / on demand) come down, and
//      past 80% of the storage quota the least recently opened uploaded ones go
//      (original-cache.ts).
import { del, delMany, entries as idbEntries, getMany, keys, setMany } from 'idb-keyval';
import { ApiError } from '@/lib/api/errors';
import { browserStorage } from '@/lib/browser-storage';
import { emit } from '@/lib/db/events';
import { mergeFields } from '@/lib/db/fields';
import { hlc } from '@/lib/db/hlc';
import { deleteImages, getOriginal, putReplicas, updateRecords } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { defaultStores } from '@/lib/db/stores';
import { getInOrder } from '@/lib/db/sorted-reads';
import { forgetThumbs } from '@/lib/db/thumb-urls';
import { hashBlobs } from '@/lib/workers/hash-blobs';
import type { LibraryChange, LibraryChangeOut } from '@/lib/api/types';
import { getBlobBatch } from '../api/get-blob-batch';
import { getLibrary } from '../api/get-library';
import { pullChanges } from '../api/pull-changes';
import { pushChanges } from '../api/push-changes';
import { deletion, fromChange, stampsOf, toChange, withCreationStamp } from './changes';
import { evictOriginals } from './original-cache';
import { inChunks, markChanged, outboxDb, quietly, readOutbox, settle, uploadsDb } from './outbox';
import { RECENT_ORIGINALS, syncSettings } from './sync-settings';
import type { StateStore } from './sync-state';
import { pool, uploadBlob, uploadSmallBlobs } from './transfer';

const PUSH_BATCH = 200;
const FIRST_PAGE = 60; // the first page is small (about a screen): a fresh browser paints sooner
const PAGE = 500;
const THUMB_BATCH = 100;
export const CURSOR_KEY = 'atelier.sync.cursor';
export const SEEDED_KEY = 'atelier.sync.seeded';
export const EPOCH_KEY = 'atelier.sync.epoch';

const ls = {
  get: (k: string) => {
    try {
      return browserStorage()?.getItem(k) ?? null;
    } catch {
      return null;
    }
  },
  set: (k: string, v: string | null) => {
    try {
      if (v === null) browserStorage()?.removeItem(k);
      else browserStorage()?.setItem(k, v);
    } catch {
      /* full or private mode */
    }
  },
};

/** `pollMs`: the background poll's interval when nothing happens. */
export function createSyncEngine(state: StateStore, clientId: string, { pollMs = 5_000 }: { pollMs?: number } = {}) {
  const stores = defaultStores();
  let running = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let failures = 0;
  // Which originals this device should hold changes only with the library or the settings: the
  // background poll every few seconds does not look again (reading every record, and asking the
  // server for originals it does not have, each time).
  let originalsDirty = true;

  async function pendingCount(): Promise<number> {
    const [outbox, uploads] = await Promise.all([keys(outboxDb()), keys(uploadsDb())]);
    return outbox.length + uploads.length;
  }

  async function push(): Promise<void> {
    if (!ls.get(SEEDED_KEY)) {
      await markChanged((await keys(stores.meta)) as string[]);
      ls.set(SEEDED_KEY, '1');
    }
    for (;;) {
      const batch = await readOutbox(PUSH_BATCH);
      if (!batch.length) return;
      originalsDirty = true;
      const ids = batch.map(([id]) => id);
      // (the batch is in key order: sorted-reads.ts reads it in a request or two)
      const recs = await getInOrder<ImageRecord>(ids, stores.meta);
      const changes: LibraryChange[] = [];
      const withThumb: ImageRecord[] = [];
      batch.forEach(([id, entry], i) => {
        if (entry.deleted) changes.push(deletion(id, entry.deleted));
        else if (recs[i]) withThumb.push(recs[i]!);
      });
      // thumbnails first: a record the server has always has its thumbnail there
      const thumbs = await getInOrder<Blob>(withThumb.map((r) => r.id), stores.thumbs);
      // (hashed in a worker: reading thumbnails' bytes would cost the main thread, the grid's)
      const unhashed = withThumb.flatMap((r, i) => (thumbs[i] && !r.thumbHash ? [[r.id, thumbs[i]!] as const] : []));
      const shas = await hashBlobs(unhashed.map(([, t]) => t));
      const hashed = new Map(unhashed.map(([id], i) => [id, shas[i]!]));
      const toSend: [string, Blob][] = withThumb.flatMap((r, i) => (thumbs[i] ? [[r.thumbHash ?? hashed.get(r.id)!, thumbs[i]!] as [string, Blob]] : []));
      // one request for the batch's thumbnails (a stored one is not written again)
      await uploadSmallBlobs(toSend);
      if (hashed.size) {
        const ids2 = [...hashed.keys()];
        const stamp = hlc().now();
        // (with its creation stamp: the pull that follows then finds nothing to write)
        const updated = await updateRecords(ids2, (r) => withCreationStamp({ ...r, thumbHash: hashed.get(r.id)!, stamps: { ...(r.stamps ?? {}), thumbHash: stamp } }, clientId), stores);
        for (const u of updated) if (u) withThumb.splice(withThumb.findIndex((r) => r.id === u.id), 1, u);
        await quietly(() => emit('updated', updated.filter((u): u is ImageRecord => !!u)));
      }
      for (const r of withThumb) changes.push(toChange(r, clientId));
      let res: { deleted: string[] } | undefined;
      if (changes.length) {
        res = await pushChanges({ client_id: clientId, changes });
        const mine = new Set(batch.filter(([, e]) => e.deleted).map(([id]) => id));
        const goneThere = res.deleted.filter((id) => !mine.has(id));
        if (goneThere.length) await removeLocal(goneThere);
      }
      // the originals follow in the background, queued in one transaction (one deleted meanwhile
      // has no original left: uploadOriginals drops its entry)
      const gone = new Set(res?.deleted ?? []);
      await setMany(withThumb.filter((r) => !gone.has(r.id)).map((r) => [r.id, r.hash]), uploadsDb());
      await settle(batch);
      state.set({ pending: await pendingCount() });
    }
  }

  async function removeLocal(ids: string[]): Promise<void> {
    await deleteImages(ids, stores);
    forgetThumbs(ids);
    await quietly(() => emit('removed', ids));
  }

  async function applyPage(changes: LibraryChangeOut[]): Promise<void> {
    if (changes.length) originalsDirty = true;
    for (const c of changes) for (const s of stampsOf(c)) hlc().receive(s);
    const ids = changes.map((c) => c.id);
    const local = await getMany<ImageRecord | undefined>(ids, stores.meta);
    const deletes: string[] = [];
    const merges = new Map<string, ImageRecord>();
    const fresh: ImageRecord[] = [];
    changes.forEach((c, i) => {
      const remote = fromChange(c);
      if (!remote) {
        if (local[i]) deletes.push(c.id);
      } else if (local[i]) merges.set(c.id, remote);
      else fresh.push(remote);
    });
    if (deletes.length) await removeLocal(deletes);
    if (merges.size) {
      // a change this device pushed comes back unchanged: only what the merge changed is news
      const changed: ImageRecord[] = [];
      await updateRecords([...merges.keys()], (r) => {
        const m = mergeFields(r, merges.get(r.id)!);
        if (m !== r) changed.push(m);
        return m;
      }, stores);
      if (changed.length) await quietly(() => emit('updated', changed));
    }
    if (fresh.length) {
      // thumbnails in batches of 100, a few in flight: one request per hundred, not per image
      const hashes = [...new Set(fresh.map((r) => r.thumbHash).filter((h): h is string => !!h))];
      const batches: string[][] = [];
      for (let i = 0; i < hashes.length; i += THUMB_BATCH) batches.push(hashes.slice(i, i + THUMB_BATCH));
      const thumbs = new Map<string, Blob>();
      await pool(batches, 3, async (b) => {
        for (const [sha, blob] of await getBlobBatch(b, 'image/webp')) thumbs.set(sha, blob);
      });
      const entries = fresh.map((record) => {
        const thumb = record.thumbHash ? thumbs.get(record.thumbHash) : undefined;
        return { record, ...(thumb ? { thumb } : {}) };
      });
      await putReplicas(entries, stores);
      await quietly(() => emit('thumbs', entries.flatMap((e) => (e.thumb ? [{ id: e.record.id, thumb: e.thumb }] : []))));
      await quietly(() => emit('added', fresh));
    }
  }

  async function pull(): Promise<void> {
    let cursor = ls.get(CURSOR_KEY);
    let reset = false;
    let first = !cursor;
    for (;;) {
      let page;
      try {
        page = await pullChanges(cursor, first ? FIRST_PAGE : PAGE);
      } catch (err) {
        if (err instanceof ApiError && err.status === 410 && !reset) {
          // the server's database is not the one this cursor came from: start over, and push
          // everything again (the server may have lost what this device gave it)
          reset = true;
          cursor = null;
          ls.set(CURSOR_KEY, null);
          ls.set(SEEDED_KEY, null);
          continue;
        }
        throw err;
      }
      first = false;
      await applyPage(page.data);
      cursor = page.cursor;
      ls.set(CURSOR_KEY, cursor);
      if (!page.has_more) break;
    }
    if (reset) await push();
  }

  async function uploadOriginals(): Promise<void> {
    const todo = await idbEntries<string, string>(uploadsDb());
    if (!todo.length) {
      state.set({ upload: null });
      return;
    }
    // (the queue is read in key order: sorted-reads.ts reads the originals a chunk per request)
    const blobs = await getInOrder<Blob>(todo.map(([id]) => id), stores.originals);
    // records without an original here (only on the server, evicted, deleted meanwhile) leave
    // the queue at once, in one transaction
    const none = todo.filter((_, i) => !blobs[i]).map(([id]) => id);
    await inChunks(none, (chunk) => delMany(chunk, uploadsDb()));
    const work = todo.flatMap((t, i) => (blobs[i] ? [[t, blobs[i]!] as const] : []));
    const total = work.reduce((n, [, b]) => n + b.size, 0);
    let sent = 0;
    // counted down as originals go up (not counted again per original: that reads both queues whole)
    let left = await pendingCount();
    state.set({ upload: { sent, total }, pending: left });
    await pool(work, 2, async ([[id, sha], blob]) => {
      await uploadBlob(sha, blob, (d) => state.set({ upload: { sent: (sent += d), total } }));
      await del(id, uploadsDb());
      state.set({ pending: (left = Math.max(0, left - 1)) });
    });
    state.set({ upload: null });
  }

  /** Originals this device keeps by the settings (on demand: none ahead of time). */
  async function fetchOriginals(): Promise<void> {
    const policy = syncSettings.get().originals;
    if (policy === 'ondemand') return;
    const [metaKeys, have] = await Promise.all([keys(stores.meta), keys(stores.originals)]);
    const present = new Set(have);
    let missing = metaKeys.filter((k) => !present.has(k)) as string[];
    if (!missing.length) return;
    if (policy === 'recent') {
      const wanted = new Set((await getMany<ImageRecord | undefined>(metaKeys as string[], stores.meta)).filter((r): r is ImageRecord => !!r)
        .sort((a, b) => b.addedAt - a.addedAt).slice(0, RECENT_ORIGINALS).map((r) => r.id));
      missing = missing.filter((id) => wanted.has(id));
    }
    await pool(missing, 2, async (id) => {
      await getOriginal(id, stores).catch(() => undefined);
    });
  }

  async function cycle(): Promise<void> {
    if (running) {
      again = true;
      return;
    }
    if (!syncSettings.get().enabled) {
      state.set({ phase: 'off' });
      return;
    }
    running = true;
    clearTimeout(timer);
    try {
      do {
        again = false;
        // Is there a library to sync with, and is it the one this device knows? A new epoch
        // means a new (reset or replaced) database: resync from nothing and push everything.
        const { epoch } = await getLibrary();
        if (ls.get(EPOCH_KEY) !== epoch) {
          ls.set(CURSOR_KEY, null);
          ls.set(SEEDED_KEY, null);
          ls.set(EPOCH_KEY, epoch);
        }
        // A background poll with nothing to push leaves "Synced" on screen: showing "Syncing" for
        // it would make the indicator blink every few seconds while nothing changes.
        const pending = await pendingCount();
        const shown = state.get();
        if (pending || shown.phase !== 'synced' || shown.lastSynced === null) state.set({ phase: 'syncing', pending });
        await push();
        await pull();
        state.set({ phase: (await pendingCount()) ? 'pending' : 'synced', error: null, lastSynced: Date.now() });
        await uploadOriginals();
        if (originalsDirty) {
          originalsDirty = false;
          try {
            await fetchOriginals();
          } catch (err) {
            originalsDirty = true;
            throw err;
          }
        }
        await evictOriginals(stores);
      } while (again && !stopped);
      failures = 0;
      state.set({ phase: (await pendingCount()) ? 'pending' : 'synced', pending: await pendingCount(), error: null });
    } catch (err) {
      failures++;
      const e = err instanceof ApiError ? err : new ApiError((err as Error).message);
      state.set({ phase: e.offline || e.status === 404 || e.status === undefined ? 'offline' : 'error', error: e.message, upload: null });
    } finally {
      running = false;
      if (!stopped) timer = setTimeout(() => void cycle(), failures ? Math.min(60_000, 2_000 * 2 ** failures) : pollMs);
    }
  }

  return {
    /** Starts the loop (now, then every few seconds). */
    start() {
      stopped = false;
      originalsDirty = true;
      void cycle();
    },
    /** Something changed locally, or the settings did (or the user pressed Retry): sync now. */
    nudge() {
      failures = 0;
      originalsDirty = true;
      void cycle();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
