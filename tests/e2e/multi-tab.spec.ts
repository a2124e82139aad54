/// <reference lib="dom" />
// Two tabs of the app, one analysis queue: in real Chromium against the REAL backend with
// ATELIER_MODELS=tiny (like ai.spec.ts, on its own port, serving the built UI). Tab A leads and
// runs the queue; images imported in tab B are forwarded to A, B's panel shows A's progress, and
// when A closes mid-queue B takes over and finishes. Every image is sent for analysis once and
// analysed once. Run twice: with Web Locks (127.0.0.1 is a secure context) and without them, as
// on plain http over a LAN address (the localStorage lease).
//
// Needs no vite preview: run with E2E_NO_SERVER=1. E2E_MT_PORT moves the backend; E2E_MT_UI_DIR
// (or E2E_AI_UI_DIR) serves another build than dist/.
import { expect, test, type BrowserContext, type Page, type Route } from '@playwright/test';
import { makePng } from './fixtures';
import { tinyBackend } from './tiny-backend';

const server = tinyBackend({ port: Number(process.env.E2E_MT_PORT ?? 8099), uiDir: process.env.E2E_MT_UI_DIR ?? process.env.E2E_AI_UI_DIR, name: 'tabs' });
const BASE = server.base;
const N = 24;

test.describe.configure({ mode: 'serial', timeout: 300_000 });
test.beforeAll(async () => {
  test.setTimeout(180_000);
  await server.start();
});
test.afterAll(() => server.kill());

// Each run's own pixels (`seed`): the backend keeps the library (sync), so a later run's fresh
// browser pulls the earlier run's images, and an import of the same bytes would be a duplicate.
const pngs = (n: number, prefix: string, seed: number) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: makePng(96 + i * 4, 72, i + seed) }));

async function importFiles(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await page.getByTestId('import-dismiss').click().catch(() => undefined);
}

/** The library opened (without Web Locks its orphan sweep now waits before removing anything). */
async function libraryReady(page: Page) {
  await page.waitForFunction(() => (window as unknown as { __atelier?: { library: { getState(): { status: string } } } }).__atelier?.library.getState().status === 'ready');
}

async function openAnalysisPanel(page: Page) {
  if (await page.getByTestId('analysis-panel').isVisible()) return;
  await page.getByTestId('analysis-indicator').click();
  await expect(page.getByTestId('analysis-panel')).toBeVisible();
}

/** Every value of an IndexedDB object store, read with the raw API in the page. */
function readStore<T>(page: Page, db: string, store: string): Promise<T[]> {
  return page.evaluate(
    ([dbName, storeName]) =>
      new Promise<T[]>((resolveAll, reject) => {
        const open = indexedDB.open(dbName);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction(storeName, 'readonly').objectStore(storeName).getAll();
          all.onsuccess = () => {
            resolveAll(all.result as T[]);
            open.result.close();
          };
          all.onerror = () => reject(all.error);
        };
      }),
    [db, store] as const,
  );
}

/** Whether this page holds the queue's leadership (the Web Lock, or the localStorage lease). */
function leads(page: Page, mode: 'locks' | 'lease'): Promise<boolean> {
  return page.evaluate(async (m) => {
    if (m === 'locks') return !!(await navigator.locks.query()).held?.some((l) => l.name === 'atelier-analysis-queue' && l.clientId);
    const lease = JSON.parse(localStorage.getItem('atelier-analysis-queue.leader') ?? 'null') as { until: number } | null;
    return !!lease && lease.until > Date.now();
  }, mode);
}

interface Traffic {
  /** images this tab sent to /v1/analyze/batch */
  sent: number;
  /** results the backend delivered to this tab */
  delivered: number;
  requests: number;
  held: Route[];
}

/**
 * Watches the tab's analysis requests (they go to the backend through route.fetch). With
 * holdAfter, the requests after the first `holdAfter` are held, never answered: a slow backend,
 * so that the tab can be closed in the middle of the queue.
 */
async function watch(page: Page, holdAfter = Infinity): Promise<Traffic> {
  const t: Traffic = { sent: 0, delivered: 0, requests: 0, held: [] };
  await page.route('**/v1/analyze/batch', async (route) => {
    const images = (route.request().postDataJSON() as { images: string[] }).images.length;
    t.sent += images;
    if (++t.requests > holdAfter) {
      t.held.push(route);
      return;
    }
    const res = await route.fetch();
    const json = (await res.json()) as { data: { error?: unknown }[] };
    t.delivered += json.data.filter((d) => !d.error).length;
    await route.fulfill({ response: res, json });
  });
  return t;
}

for (const mode of ['locks', 'lease'] as const) {
  test(`${mode}: images imported in a follower tab are analysed once by the leader; closing the leader mid-queue hands over`, async ({ context }: { context: BrowserContext }) => {
    if (mode === 'lease') {
      // As on http://192.168.x.y: no navigator.locks outside a secure context.
      await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined }));
    }

    // Tab A opens first and leads. Its first batch goes through, the rest it sends are held.
    const a = await context.newPage();
    const A = await watch(a, 1);
    await a.goto(BASE);
    await expect.poll(() => leads(a, mode), { timeout: 30_000 }).toBe(true);
    if (mode === 'lease') expect(await a.evaluate(() => 'locks' in navigator && navigator.locks)).toBeFalsy();

    // Tab B follows. The images are imported there.
    const b = await context.newPage();
    const B = await watch(b);
    await b.goto(BASE);
    await libraryReady(b);
    await importFiles(b, pngs(N, `tabs-${mode}`, mode === 'locks' ? 31 : 131));

    // A runs them: its first batch is analysed, its next request hangs; B sent nothing and shows A's progress.
    // (With an idle backend two calls go out at once: the second can be held before the first returns.)
    await expect.poll(() => A.held.length > 0 && A.delivered > 0, { timeout: 180_000 }).toBe(true);
    expect(A.delivered).toBeLessThan(N);
    await openAnalysisPanel(b);
    await expect(b.getByTestId('analysis-panel')).toHaveAttribute('data-role', 'follower');
    await expect(b.getByTestId('analysis-elsewhere')).toBeVisible();
    await expect(b.getByTestId('analysis-progress')).toHaveText(`${A.delivered} of ${N} analysed`);
    await openAnalysisPanel(a);
    await expect(a.getByTestId('analysis-panel')).toHaveAttribute('data-role', 'leader');
    await expect(a.getByTestId('analysis-elsewhere')).toHaveCount(0);
    await expect(a.getByTestId('analysis-progress')).toHaveText(`${A.delivered} of ${N} analysed`);
    expect(B.requests).toBe(0);

    // A closes in the middle of the queue (its held requests die with it); B takes over.
    const doneByA = A.delivered;
    await a.close();
    await expect(b.getByTestId('analysis-panel')).toHaveAttribute('data-role', 'leader', { timeout: 30_000 });
    await expect(b.getByTestId('analysis-elsewhere')).toHaveCount(0);
    await expect(b.getByTestId('analysis-progress')).toHaveText(`${N} of ${N} analysed`, { timeout: 240_000 });
    await expect(b.getByTestId('analysis-failures')).toHaveCount(0);

    // Each image analysed exactly once: B sent exactly what A had not finished, and nothing was delivered twice.
    expect(A.delivered).toBe(doneByA);
    expect(B.sent).toBe(N - doneByA);
    expect(A.delivered + B.delivered).toBe(N);
    const recs = await readStore<{ id: string; name: string; analysis?: { caption: string } }>(b, 'atelier-meta', 'meta');
    const mine = recs.filter((r) => r.name.startsWith(`tabs-${mode}-`));
    expect(mine).toHaveLength(N);
    for (const r of mine) expect(r.analysis, r.name).toBeTruthy();
    // B's library in memory (its grid, its search) has every result, those A wrote too.
    const analysedInMemory = () =>
      b.evaluate((prefix) => {
        const lib = (window as unknown as { __atelier: { library: { getState(): { byId: Map<string, { name: string; analysis?: unknown }> } } } }).__atelier.library;
        return [...lib.getState().byId.values()].filter((r) => r.analysis && r.name.startsWith(prefix)).length;
      }, `tabs-${mode}-`);
    await expect.poll(analysedInMemory).toBe(N);
    // One queue item per record (enqueued once, not once per tab), every one done.
    const items = await readStore<{ recordId: string; state: string }>(b, 'atelier-analysis-queue', 'items');
    expect(items.map((it) => it.recordId).sort()).toEqual(mine.map((r) => r.id).sort());
    expect(items.every((it) => it.state === 'done')).toBe(true);
  });
}
