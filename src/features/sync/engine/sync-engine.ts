// The sync engine: runs in the leading tab only (leadership.ts). IndexedDB stays the replica
// the UI reads; the engine moves changes between it and the server (backend/atelier/library).
//
// One cycle, repeated every few seconds and at once when a tab records a change:
//   1. push: drain the outbox (outbox.ts). For each changed record its thumbnail goes to the
//      server first (a pulled record is never without one), then the record with its per-field
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
import { del, entries as idbEntries, getMany, keys, set as idbSet } from 'idb-keyval';
import { ApiError } from '@/lib/api/errors';
import { browserStorage } from '@/lib/browser-storage';
import { emit } from '@/lib/db/events';
import { mergeFields } from '@/lib/db/fields';
import { hlc } from '@/lib/db/hlc';
import { deleteImages, getOriginal, putReplicas, updateRecords } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { defaultStores } from '@/lib/db/stores';
import { forgetThumbs } from '@/lib/db/thumb-urls';
import { hashBytes } from '@/lib/workers/hash';
import type { LibraryChange, LibraryChangeOut } from '@/lib/api/types';
import { getBlobBatch } from '../api/get-blob-batch';
import { getLibrary } from '../api/get-library';
import { pullChanges } from '../api/pull-changes';
import { pushChanges } from '../api/push-changes';
import { deletion, fromChange, stampsOf, toChange } from './changes';
import { evictOriginals } from './original-cache';
import { markChanged, outboxDb, quietly, readOutbox, settle, uploadsDb } from './outbox';
import { RECENT_ORIGINALS, syncSettings } from './sync-settings';
import type { StateStore } from './sync-state';
import { pool, uploadBlob } from './transfer';

const PUSH_BATCH = 200;
const FIRST_PAGE = 60; // the first page is small (about a screen): a fresh browser paints sooner
const PAGE = 500;
const PARALLEL = 6;
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

export function createSyncEngine(state: StateStore, clientId: string) {
  const stores = defaultStores();
  let running = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let failures = 0;

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
      const all = await readOutbox();
      if (!all.length) return;
      const batch = all.slice(0, PUSH_BATCH);
      const ids = batch.map(([id]) => id);
      const recs = await getMany<ImageRecord | undefined>(ids, stores.meta);
      const changes: LibraryChange[] = [];
      const withThumb: ImageRecord[] = [];
      batch.forEach(([id, entry], i) => {
        if (entry.deleted) changes.push(deletion(id, entry.deleted));
        else if (recs[i]) withThumb.push(recs[i]!);
      });
      // thumbnails first: a record the server has always has its thumbnail there
      const thumbs = await getMany<Blob | undefined>(withThumb.map((r) => r.id), stores.thumbs);
      const hashed = new Map<string, string>();
      await pool(withThumb.map((r, i) => [r, thumbs[i]] as const), PARALLEL, async ([r, thumb]) => {
        if (!thumb) return;
        const sha = r.thumbHash ?? (await hashBytes(new Uint8Array(await thumb.arrayBuffer())));
        await uploadBlob(sha, thumb);
        if (!r.thumbHash) hashed.set(r.id, sha);
      });
      if (hashed.size) {
        const ids2 = [...hashed.keys()];
        const stamp = hlc().now();
        const updated = await updateRecords(ids2, (r) => ({ ...r, thumbHash: hashed.get(r.id)!, stamps: { ...(r.stamps ?? {}), thumbHash: stamp } }), stores);
        for (const u of updated) if (u) withThumb.splice(withThumb.findIndex((r) => r.id === u.id), 1, u);
        await quietly(() => emit('updated', updated.filter((u): u is ImageRecord => !!u)));
      }
      for (const r of withThumb) changes.push(toChange(r, clientId));
      if (changes.length) {
        const res = await pushChanges({ client_id: clientId, changes });
        const mine = new Set(batch.filter(([, e]) => e.deleted).map(([id]) => id));
        const gone = res.deleted.filter((id) => !mine.has(id));
        if (gone.length) await removeLocal(gone);
      }
      // the originals follow in the background
      const stillHere = new Set((await getMany<ImageRecord | undefined>(withThumb.map((r) => r.id), stores.meta)).filter((r) => !!r).map((r) => r!.id));
      for (const r of withThumb) if (stillHere.has(r.id)) await idbSet(r.id, r.hash, uploadsDb());
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
      const out = await updateRecords([...merges.keys()], (r) => mergeFields(r, merges.get(r.id)!), stores);
      const changed = out.filter((r): r is ImageRecord => !!r);
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
      await putReplicas(fresh.map((record) => {
        const thumb = record.thumbHash ? thumbs.get(record.thumbHash) : undefined;
        return { record, ...(thumb ? { thumb } : {}) };
      }), stores);
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
    const blobs = await getMany<Blob | undefined>(todo.map(([id]) => id), stores.originals);
    const total = blobs.reduce((n, b) => n + (b?.size ?? 0), 0);
    let sent = 0;
    state.set({ upload: { sent, total } });
    await pool(todo.map((t, i) => [t, blobs[i]] as const), 2, async ([[id, sha], blob]) => {
      if (blob) await uploadBlob(sha, blob, (d) => state.set({ upload: { sent: (sent += d), total } }));
      await del(id, uploadsDb());
      state.set({ pending: await pendingCount() });
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
      const recs = (await getMany<ImageRecord | undefined>(missing, stores.meta)).filter((r): r is ImageRecord => !!r);
      const newest = (await getMany<ImageRecord | undefined>(metaKeys as string[], stores.meta)).filter((r): r is ImageRecord => !!r)
        .sort((a, b) => b.addedAt - a.addedAt).slice(0, RECENT_ORIGINALS).map((r) => r.id);
      const wanted = new Set(newest);
      missing = recs.filter((r) => wanted.has(r.id)).map((r) => r.id);
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
        await fetchOriginals();
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
      if (!stopped) timer = setTimeout(() => void cycle(), failures ? Math.min(60_000, 2_000 * 2 ** failures) : 5_000);
    }
  }

  return {
    /** Starts the loop (now, then every few seconds). */
    start() {
      stopped = false;
      void cycle();
    },
    /** Something changed locally (or the user pressed Retry): sync now. */
    nudge() {
      failures = 0;
      void cycle();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
