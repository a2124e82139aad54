import { afterEach, describe, expect, it, vi } from 'vitest';
import { clear } from 'idb-keyval';
import { on } from '@/lib/db/events';
import { putReplicas } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { defaultStores } from '@/lib/db/stores';
import type { LibraryChange, LibraryChangeOut } from '@/lib/api/types';

// The server, in memory: the feed of what was pushed (the protocol's shape; tests/e2e/sync.spec.ts
// runs the engine against the real one).
const server = vi.hoisted(() => ({
  feed: [] as { id: string; fields: Record<string, unknown>; stamps: Record<string, string> }[],
  thumbBatches: [] as number[],
  originalsAsked: 0,
  pulls: 0,
}));

vi.mock('../api/get-library', () => ({ getLibrary: async () => ({ object: 'library', epoch: 'e1', seq: server.feed.length, records: server.feed.length, deleted: 0, database: 'sqlite' }) }));
vi.mock('../api/push-changes', () => ({
  pushChanges: async ({ changes }: { changes: LibraryChange[] }) => {
    for (const c of changes) server.feed.push({ id: c.id, fields: c.fields as Record<string, unknown>, stamps: c.stamps as Record<string, string> });
    return { object: 'library.push', applied: changes.length, deleted: [] };
  },
}));
vi.mock('../api/pull-changes', () => ({
  pullChanges: async (since: string | null, limit: number) => {
    server.pulls++;
    const from = since ? Number(since.split('.')[1]) : 0;
    const page: LibraryChangeOut[] = server.feed.slice(from, from + limit).map((c, i) => ({ ...c, seq: from + i + 1, deleted: null }));
    const to = from + page.length;
    return { object: 'list', data: page, cursor: `e1.${to}`, has_more: to < server.feed.length };
  },
}));
vi.mock('../api/upload-blob-batch', () => ({
  uploadBlobBatch: async (blobs: unknown[]) => {
    server.thumbBatches.push(blobs.length);
    return { object: 'list', data: [], new: blobs.length };
  },
}));
vi.mock('../api/get-blob-batch', () => ({ getBlobBatch: async () => new Map() }));
vi.mock('@/lib/db/records', async (actual) => ({
  ...(await actual<typeof import('@/lib/db/records')>()),
  // this device has no originals and the server none either: asking costs a request each time
  getOriginal: async () => {
    server.originalsAsked++;
    return undefined;
  },
}));

// the engine keeps its cursor in localStorage (Node has none)
const kept = new Map<string, string>();
vi.stubGlobal('localStorage', {
  getItem: (k: string) => kept.get(k) ?? null,
  setItem: (k: string, v: string) => void kept.set(k, String(v)),
  removeItem: (k: string) => void kept.delete(k),
  clear: () => kept.clear(),
  key: (i: number) => [...kept.keys()][i] ?? null,
  get length() {
    return kept.size;
  },
});

const { createSyncEngine } = await import('./sync-engine');
const { createStateStore } = await import('./sync-state');
const { syncSettings } = await import('./sync-settings');
const { outboxDb, uploadsDb } = await import('./outbox');

const rec = (i: number): ImageRecord => ({ id: `r${String(i).padStart(4, '0')}`, hash: `h${i}`, name: `${i}.png`, mime: 'image/png', bytes: 1, width: 1, height: 1, addedAt: 1000 + i, origin: 'imported', rating: 0, flag: 'none', tags: [], thumbW: 1, thumbH: 1 });

const until = async (ok: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('sync engine, first sync of an existing library', () => {
  let stop = () => {};
  afterEach(() => stop());

  it('uploads a batch of thumbnails per request, writes nothing when its changes come back, and an idle poll does not look for originals again', async () => {
    const stores = defaultStores();
    await Promise.all([clear(stores.meta), clear(stores.thumbs), clear(stores.originals), clear(outboxDb()), clear(uploadsDb())]);
    localStorage.clear();
    await putReplicas(Array.from({ length: 250 }, (_, i) => ({ record: rec(i), thumb: new Blob([`thumb ${i}`], { type: 'image/webp' }) })), stores);
    syncSettings.set({ enabled: true, originals: 'all' });
    const updated: string[] = [];
    const off = on('updated', (rs) => updated.push(...rs.map((r) => r.id)));

    const state = createStateStore();
    const engine = createSyncEngine(state, 'c1', { pollMs: 30 });
    stop = () => {
      engine.stop();
      off();
    };
    engine.start();
    await until(() => state.get().phase === 'synced' && server.originalsAsked > 0);

    expect(server.thumbBatches).toEqual([200, 50]); // one request per pushed batch of records
    expect(server.feed.length).toBe(250);
    // the thumbnail hash was stamped once per record; the pull that brought the changes back wrote nothing
    expect(updated.length).toBe(250);
    expect(new Set(updated).size).toBe(250);
    expect(server.originalsAsked).toBe(250);
    expect(state.get().pending).toBe(0); // the originals queue emptied (none to upload here)
    const pulls = server.pulls;
    await until(() => server.pulls >= pulls + 3); // background polls
    expect(server.originalsAsked).toBe(250);
    expect(updated.length).toBe(250);
  });
});
