/// <reference lib="dom" />
// Issue 9, point 7 (browser): a reload in the middle of an import leaves no orphan blobs and no
// record without its thumbnail. The library keeps each image in three IndexedDB databases
// (src/lib/db/stores.ts): `meta` (the record, the commit marker), `thumbs` and `originals`
// (blobs by the same id). Writes cannot span databases atomically, so the invariant after any
// interruption is checked on the databases themselves, not only on what the grid shows.
import { expect, test, type Page } from '@playwright/test';
import { makePng } from './fixtures';

interface Keys {
  meta: string[];
  thumbs: string[];
  originals: string[];
}

/** Every key of the three library databases, read with the raw IndexedDB API. */
async function libraryKeys(page: Page): Promise<Keys> {
  return page.evaluate(async () => {
    const keys = (db: string, store: string) =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open(db);
        open.onupgradeneeded = () => open.result.createObjectStore(store); // not created yet: empty
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const conn = open.result;
          const req = conn.transaction(store, 'readonly').objectStore(store).getAllKeys();
          req.onsuccess = () => {
            resolve(req.result.map(String).sort());
            conn.close();
          };
          req.onerror = () => reject(req.error);
        };
      });
    return {
      meta: await keys('atelier-meta', 'meta'),
      thumbs: await keys('atelier-thumbs', 'thumbs'),
      originals: await keys('atelier-originals', 'originals'),
    };
  });
}

/** What breaks the invariant: records missing a blob, blobs missing their record. */
function problems(k: Keys) {
  const meta = new Set(k.meta);
  return {
    recordsWithoutThumb: k.meta.filter((id) => !k.thumbs.includes(id)),
    recordsWithoutOriginal: k.meta.filter((id) => !k.originals.includes(id)),
    orphanThumbs: k.thumbs.filter((id) => !meta.has(id)),
    orphanOriginals: k.originals.filter((id) => !meta.has(id)),
  };
}

const CLEAN = { recordsWithoutThumb: [], recordsWithoutOriginal: [], orphanThumbs: [], orphanOriginals: [] };

// records.ts writes originals, then thumbs, then meta (the commit marker), so an interruption can
// strand blobs but never a record; the library store sweeps such blobs after it opens
// (sweepOrphans, under the same Web Lock as imports). Both tests enforce that.
const ORPHAN_SWEEP = true;

/** Wait until the library has finished its initial load after a (re)load. */
async function libraryReady(page: Page) {
  await expect(page.locator('[data-testid="grid-cell"], [data-testid="empty-library"]').first()).toBeVisible();
}

test('a reload in the middle of an import leaves no orphan blobs and no record without its thumbnail', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-library')).toBeVisible();

  // Enough work that the import is still running when the first batch has been committed.
  const files = Array.from({ length: 60 }, (_, i) => ({ name: `shot-${String(i).padStart(3, '0')}.png`, mimeType: 'image/png', buffer: makePng(1600, 1200, i + 1) }));
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await page.waitForFunction(() => {
    const el = document.querySelector<HTMLElement>('[data-testid="import-progress"]');
    return !!el && Number(el.dataset.imported) > 0 && el.dataset.finished !== 'true';
  });
  const during = await libraryKeys(page);
  await page.reload(); // mid-import: the pipeline's in-flight batch dies with the page

  await libraryReady(page);
  // Every committed record has both blobs: the hard guarantee of the write order.
  const found = problems(await libraryKeys(page));
  expect(found.recordsWithoutThumb).toEqual([]);
  expect(found.recordsWithoutOriginal).toEqual([]);
  if (ORPHAN_SWEEP) {
    // A start-up repair may need a moment; then no blob may be left without its record.
    await expect.poll(async () => problems(await libraryKeys(page)), { timeout: 10_000 }).toEqual(CLEAN);
  } else if (found.orphanThumbs.length || found.orphanOriginals.length) {
    test.info().annotations.push({ type: 'known gap (issue 9)', description: `orphan blobs after the reload: ${JSON.stringify(found)}` });
  }
  const after = await libraryKeys(page);
  expect(after.meta.length).toBeGreaterThanOrEqual(during.meta.length); // committed records survive
  expect(after.meta.length).toBeLessThan(files.length); // the reload really interrupted the import
  // The grid shows exactly the committed records, each with a thumbnail that decodes.
  await expect(page.getByTestId('grid-cell')).not.toHaveCount(0);
  const shown = await page.getByTestId('grid-cell').count();
  expect(shown).toBeLessThanOrEqual(after.meta.length);
  await expect(page.locator('[data-testid="grid-cell"] img:not([data-loaded])')).toHaveCount(0);

  // Importing the same files again completes the library: nothing is stuck as a half-import.
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
  await expect.poll(async () => (await libraryKeys(page)).meta.length, { timeout: 10_000 }).toBe(files.length);
  const final = problems(await libraryKeys(page));
  expect(final.recordsWithoutThumb).toEqual([]);
  expect(final.recordsWithoutOriginal).toEqual([]);
  if (ORPHAN_SWEEP) expect(final).toEqual(CLEAN);
});

test('blobs left behind by a crash before the commit are swept when the library opens', async ({ page }) => {
  // Deterministic check of the sweep (see ORPHAN_SWEEP): a known failure until it lands; it then
  // turns red ("expected to fail, but passed") until ORPHAN_SWEEP is set to true.
  test.fail(!ORPHAN_SWEEP, 'known gap: no orphan-blob sweep in src/lib/db yet (issue 9)');
  await page.goto('/');
  await libraryReady(page);
  // A new profile sweeps once at its first start-up: let that finish before planting the orphans.
  await page.waitForFunction(() => localStorage.getItem('atelier.lastSweep') !== null);
  // The state a crash between the blob writes and the meta write leaves (records.ts writes
  // originals, then thumbs, then meta): blobs whose record was never committed.
  await page.evaluate(async () => {
    const put = (db: string, store: string, key: string, value: Blob) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(db);
        open.onupgradeneeded = () => open.result.createObjectStore(store);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction(store, 'readwrite');
          tx.objectStore(store).put(value, key);
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      });
    const blob = new Blob([new Uint8Array(4096)], { type: 'image/png' });
    await put('atelier-originals', 'originals', 'crashed-import-1', blob);
    await put('atelier-thumbs', 'thumbs', 'crashed-import-1', blob);
    await put('atelier-originals', 'originals', 'crashed-import-2', blob);
    // ...and the marker the crashed page's putImages set before its first blob and never removed
    // (src/lib/db/sweep-marker.ts): what tells the next start-up that a sweep is needed.
    localStorage.setItem('atelier.blobWrites.crashed-tab', String(Date.now()));
  });
  expect(problems(await libraryKeys(page)).orphanOriginals).toHaveLength(2);

  await page.reload();
  await libraryReady(page);
  await expect.poll(async () => problems(await libraryKeys(page)), { timeout: 10_000 }).toEqual(CLEAN);
  // the sweep settled the dead page's marker: the next start-up skips the sweep
  await expect.poll(() => page.evaluate(() => localStorage.getItem('atelier.blobWrites.crashed-tab'))).toBeNull();
});
