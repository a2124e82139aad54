/// <reference lib="dom" />
// Library sync (issue 18) in real Chromium: two browser profiles (contexts) on one real backend.
// An import in A appears in B with its thumbnails; ratings, tags and deletes go both ways; A's
// site data cleared and reloaded gets the whole library back, originals included. And the server
// SIGKILLed while it holds part of an original, then restarted: the sync completes by itself.
//
// Needs no vite preview: run with E2E_NO_SERVER=1. E2E_SYNC_PORT moves the backend.
import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePng } from './fixtures';
import { png } from '../../scripts/lib/fixtures.mjs';
import { tinyBackend } from './tiny-backend';

// no models needed: an empty models folder keeps the start fast
const server = tinyBackend({ port: Number(process.env.E2E_SYNC_PORT ?? 8103), name: 'sync', env: { ATELIER_MODELS: 'real', ATELIER_MODELS_DIR: mkdtempSync(join(tmpdir(), 'atelier-e2e-sync-models-')) } });
const BASE = server.base;

test.describe.configure({ mode: 'serial', timeout: 240_000 });
test.beforeAll(async () => {
  test.setTimeout(180_000);
  await server.start();
});
test.afterAll(() => server.kill());

type Rec = { id: string; name: string; rating: number; tags: { name: string; source: string }[]; thumbHash?: string };
type Lib = { getState(): { status: string; byId: Map<string, Rec> }; cull(a: unknown, ids: string[]): Promise<void>; editRecord(id: string, fn: (r: Rec) => Rec): Promise<void>; deleteImages(ids: string[]): Promise<void> };

async function ready(page: Page) {
  await page.waitForFunction(() => (window as unknown as { __atelier?: { library: Lib } }).__atelier?.library.getState().status === 'ready');
}

function records(page: Page): Promise<Rec[]> {
  return page.evaluate(() => [...(window as unknown as { __atelier: { library: Lib } }).__atelier.library.getState().byId.values()].map((r) => ({ id: r.id, name: r.name, rating: r.rating, tags: r.tags })));
}

function count(page: Page, db: string, store: string): Promise<number> {
  return page.evaluate(
    ([dbName, storeName]) =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open(dbName);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction(storeName, 'readonly').objectStore(storeName).count();
          tx.onsuccess = () => {
            resolve(tx.result);
            open.result.close();
          };
        };
      }),
    [db, store] as const,
  );
}

/** A PNG of noise: it does not compress, so its size is about width x height x 3. */
const noisePng = (w: number, h: number, seed: number): Buffer => png(w, h, seed, {}, { smooth: false });

const byName = (recs: Rec[], name: string) => recs.find((r) => r.name === name)!;

test('two browsers share one library through the server, and a cleared browser gets it back', async ({ browser }) => {
  const ctxA = await browser.newContext();
  const ctxB = await browser.newContext();
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  for (const p of [a, b]) {
    await p.goto(BASE);
    await ready(p);
  }

  // import in A: B gets the records with their thumbnails
  const files = [0, 1, 2].map((i) => ({ name: `sync-${i}.png`, mimeType: 'image/png', buffer: makePng(120 + i * 8, 90, i + 5) }));
  await a.locator('[data-testid="file-input"]').first().setInputFiles(files);
  await expect.poll(async () => (await records(b)).length, { timeout: 45_000 }).toBe(3);
  expect(await count(b, 'atelier-thumbs', 'thumbs')).toBe(3);
  await expect(b.locator('[data-testid="sync-indicator"]')).toHaveAttribute('data-phase', 'synced', { timeout: 30_000 });
  await expect(a.locator('[data-testid="sync-indicator"]')).toHaveAttribute('data-phase', 'synced', { timeout: 30_000 });

  // edits both ways: a rating in B, tags in A, on the same record (different fields both survive)
  const first = byName(await records(b), 'sync-0.png');
  await b.evaluate((id) => (window as unknown as { __atelier: { library: Lib } }).__atelier.library.cull({ type: 'rate', rating: 4 }, [id]), first.id);
  await a.evaluate((id) => (window as unknown as { __atelier: { library: Lib } }).__atelier.library.editRecord(id, (r) => ({ ...r, tags: [...r.tags, { name: 'harbour', score: null, source: 'user' }] })), first.id);
  for (const p of [a, b]) {
    await expect.poll(async () => { const r = byName(await records(p), 'sync-0.png'); return [r.rating, r.tags.map((t) => t.name)]; }, { timeout: 45_000 }).toEqual([4, ['harbour']]);
  }

  // a delete in B disappears from A, and stays deleted
  const gone = byName(await records(b), 'sync-2.png');
  await b.evaluate((id) => (window as unknown as { __atelier: { library: Lib } }).__atelier.library.deleteImages([id]), gone.id);
  await expect.poll(async () => (await records(a)).map((r) => r.name).sort(), { timeout: 45_000 }).toEqual(['sync-0.png', 'sync-1.png']);
  await expect(a.locator('[data-testid="sync-indicator"]')).toHaveAttribute('data-phase', 'synced', { timeout: 60_000 });
  const summary = await (await fetch(`${BASE}/v1/library`)).json() as { records: number; deleted: number };
  expect(summary).toMatchObject({ records: 2, deleted: 1 });

  // A's site data cleared (as "Clear browsing data" does), then reloaded: everything comes back
  const cdp = await ctxA.newCDPSession(a);
  await cdp.send('Storage.clearDataForOrigin', { origin: BASE, storageTypes: 'all' });
  await a.reload();
  await ready(a);
  await expect.poll(async () => (await records(a)).map((r) => [r.name, r.rating, r.tags.map((t) => t.name)]).sort(), { timeout: 45_000 }).toEqual([
    ['sync-0.png', 4, ['harbour']],
    ['sync-1.png', 0, []],
  ]);
  expect(await count(a, 'atelier-thumbs', 'thumbs')).toBe(2);
  // originals: the newest ones come down in the background (the default "recent")
  await expect.poll(() => count(a, 'atelier-originals', 'originals'), { timeout: 45_000 }).toBe(2);
  await a.screenshot({ path: 'test-results/sync-restored.png' });
  // the indicator and the settings, on a desktop and a phone
  await b.evaluate(() => (window as unknown as { __atelier: { library: { setView(v: string): void } } }).__atelier.library.setView('settings'));
  await expect(b.getByTestId('sync-settings')).toBeVisible();
  await b.getByTestId('sync-settings').scrollIntoViewIfNeeded();
  await b.screenshot({ path: 'test-results/sync-settings-1440.png' });
  await b.setViewportSize({ width: 390, height: 844 });
  await b.getByTestId('sync-settings').scrollIntoViewIfNeeded();
  await b.screenshot({ path: 'test-results/sync-settings-390.png' });
  await b.evaluate(() => (window as unknown as { __atelier: { library: { setView(v: string): void } } }).__atelier.library.setView('grid'));
  await expect(b.getByTestId('sync-indicator')).toBeVisible();
  await b.screenshot({ path: 'test-results/sync-grid-390.png' });
  await ctxA.close();
  await ctxB.close();
});

test('the server killed mid-upload and restarted: the sync completes, every original verifies, nothing doubles', async ({ browser }) => {
  const N = 40;
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // Uploads throttled (DevTools network emulation) to ~3 MB/s, so an original's PUT takes about a
  // second and the kill below lands inside one's body, not between two requests.
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 3 * 1024 * 1024 });
  const ranges: string[] = [];
  page.on('request', (r) => {
    const range = r.method() === 'PUT' ? r.headers()['content-range'] : undefined;
    if (range) ranges.push(range);
  });
  await page.goto(BASE);
  await ready(page);
  const before = (await (await fetch(`${BASE}/v1/library`)).json()) as { records: number };
  // noise does not compress: ~2.5 MB originals, ~100 MB in all
  const dir = mkdtempSync(join(tmpdir(), 'atelier-e2e-noise-'));
  const files = Array.from({ length: N }, (_, i) => {
    const path = join(dir, `noise-${i}.png`);
    writeFileSync(path, noisePng(1600, 1200, 100 + i));
    return path;
  });
  await page.locator('[data-testid="file-input"]').first().setInputFiles(files);
  const indicator = page.locator('[data-testid="sync-indicator"]');
  await expect(indicator).toContainText('Uploading', { timeout: 60_000 });
  // SIGKILL while the server holds part of an original (uploads/<sha>.part; thumbnails are far
  // smaller), an upload in flight
  const uploads = join(server.dataDir, 'library', 'uploads');
  const partial = () => (existsSync(uploads) ? readdirSync(uploads).filter((f) => f.endsWith('.part') && statSync(join(uploads, f)).size > 256 * 1024) : []);
  await expect.poll(() => partial().length, { timeout: 60_000, intervals: [20] }).toBeGreaterThan(0);
  await server.kill();
  const cut = partial();
  expect(cut.length).toBeGreaterThan(0);
  await expect(indicator).toHaveAttribute('data-phase', /offline|error/, { timeout: 60_000 });
  await server.start();
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // No click: the engine finds the server again by itself.
  await expect(indicator).toHaveAttribute('data-phase', 'synced', { timeout: 120_000 });
  await expect(indicator).toHaveAttribute('data-pending', '0');
  // the cut uploads resumed where the server's part ended (a Content-Range not from byte 0), and
  // no part is left over
  expect(ranges.filter((r) => !r.startsWith('bytes 0-')).length).toBeGreaterThanOrEqual(1);
  expect(partial()).toEqual([]);

  const summary = (await (await fetch(`${BASE}/v1/library`)).json()) as { records: number };
  expect(summary.records).toBe(before.records + N);
  const recs = await page.evaluate(() => [...(window as unknown as { __atelier: { library: { getState(): { byId: Map<string, { name: string; hash: string }> } } } }).__atelier.library.getState().byId.values()].filter((r) => r.name.startsWith('noise-')).map((r) => r.hash));
  expect(new Set(recs).size).toBe(N);
  const { createHash } = await import('node:crypto');
  for (const hash of recs) {
    const r = await fetch(`${BASE}/v1/library/blobs/${hash}`);
    expect(r.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')).toBe(hash);
  }
  await ctx.close();
});

test('without Web Locks (plain http on a LAN address) one tab of a browser runs the sync engine, and another takes over when it closes', async ({ browser }) => {
  const ctx = await browser.newContext();
  // As on http://192.168.x.y: no navigator.locks outside a secure context.
  await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined }));
  // the engine pulls the change feed on every cycle (every 5 s, and at once when it starts)
  const pulls = new Map<Page, number>();
  const open = async () => {
    const p = await ctx.newPage();
    pulls.set(p, 0);
    p.on('request', (r) => r.url().includes('/v1/library/changes') && pulls.set(p, pulls.get(p)! + 1));
    await p.goto(BASE);
    await ready(p);
    return p;
  };
  const pages = [await open(), await open(), await open()];
  expect(await pages[0]!.evaluate(() => 'locks' in navigator && navigator.locks)).toBeFalsy();
  await expect.poll(() => pages.filter((p) => pulls.get(p)! > 0).length, { timeout: 30_000 }).toBe(1);
  // two more cycles: still one tab
  const leader = pages.find((p) => pulls.get(p)! > 0)!;
  const seen = pulls.get(leader)!;
  await expect.poll(() => pulls.get(leader)!, { timeout: 30_000 }).toBeGreaterThanOrEqual(seen + 2);
  expect(pages.filter((p) => pulls.get(p)! > 0)).toEqual([leader]);
  expect(await leader.evaluate(() => JSON.parse(localStorage.getItem('atelier-sync.leader') ?? 'null'))).toMatchObject({ until: expect.any(Number) });

  // the leader closes (pagehide frees its lease): one of the others starts its engine
  await leader.close({ runBeforeUnload: true });
  const rest = pages.filter((p) => p !== leader);
  await expect.poll(() => rest.filter((p) => pulls.get(p)! > 0).length, { timeout: 30_000 }).toBe(1);
  const next = rest.find((p) => pulls.get(p)! > 0)!;
  const base = pulls.get(next)!;
  await expect.poll(() => pulls.get(next)!, { timeout: 30_000 }).toBeGreaterThanOrEqual(base + 2);
  expect(rest.filter((p) => pulls.get(p)! > 0)).toEqual([next]);
  await ctx.close();
});
