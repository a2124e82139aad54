/// <reference lib="dom" />
// Near-duplicate stacks, search by meaning and find similar, in Chromium.
//
// To know which image must rank first, the second test routes GET /v1/models and POST
// /v1/embeddings to answers made here and PLANTS the image vectors in the browser's IndexedDB
// (embeddings.spec.ts runs the same path against the real backend's tiny SigLIP) (the layout the indexing lane writes, lib/vectors/store.ts). Everything after
// that is the app's own code: the search worker, its WebAssembly kernel, the stacks, the UI.
import { expect, test, type Page } from '@playwright/test';
import { scenePng } from '../../scripts/lib/fixtures.mjs';
import { seedLibrary } from '../../scripts/lib/seed.mjs';

const cells = (page: Page) => page.getByTestId('grid-cell');
const cell = (page: Page, name: string) => page.locator(`[data-testid="grid-cell"][data-name="${name}"]`);

const a1111 = (seed: number) => `a red fox in fresh snow, golden hour
Negative prompt: blurry
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: ${seed}, Size: 320x240, Model: sdxl_base`;

/** The same picture as a JPEG at quality 70, encoded by the browser (a real re-encode). */
async function reencode(page: Page, png: Buffer): Promise<Buffer> {
  const b64 = await page.evaluate(async (src) => {
    const bytes = Uint8Array.from(atob(src), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    c.getContext('2d')!.drawImage(bmp, 0, 0);
    const out = new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.7 })).arrayBuffer());
    let s = '';
    out.forEach((b) => (s += String.fromCharCode(b)));
    return btoa(s);
  }, png.toString('base64'));
  return Buffer.from(b64, 'base64');
}

test('a re-encoded copy and a generated series collapse into stacks that expand, take a cover and keep the best', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-library')).toBeVisible();
  const scene = scenePng(480, 360, 11);
  const files = [
    { name: 'harbour.png', mimeType: 'image/png', buffer: scene },
    { name: 'harbour-q70.jpg', mimeType: 'image/jpeg', buffer: await reencode(page, scene) },
    { name: 'market.png', mimeType: 'image/png', buffer: scenePng(480, 360, 12) },
    { name: 'forest.png', mimeType: 'image/png', buffer: scenePng(360, 480, 13) },
    // three generations of one prompt, seeds 100-102: different pictures, one series
    ...[0, 1, 2].map((k) => ({ name: `fox-${k}.png`, mimeType: 'image/png', buffer: scenePng(320, 240, 20 + k, { parameters: a1111(100 + k) }) })),
  ];
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await expect(page.getByTestId('import-progress')).toHaveAttribute('data-imported', '7');
  await page.getByTestId('import-dismiss').click();

  // 7 images, 4 cells: the JPEG stacks with its PNG (pHash), the series with itself (prompt + seeds)
  await expect(cells(page)).toHaveCount(4);
  const series = page.locator('[data-testid="grid-cell"][data-stack-count="3"]');
  const copies = page.locator('[data-testid="grid-cell"][data-stack-count="2"]');
  await expect(series).toHaveCount(1);
  await expect(copies).toHaveCount(1);
  // the cover of the copies is the larger file of the same size: the lossless original
  await expect(copies).toHaveAttribute('data-name', 'harbour.png');
  await expect(cell(page, 'market.png')).toBeVisible();

  // expand in place: three cells of the series, the badge now closes it
  await series.getByTestId('stack-badge').click();
  await expect(cells(page)).toHaveCount(6);
  const seriesKey = await series.getAttribute('data-stack');
  await expect(page.locator(`[data-testid="grid-cell"][data-stack="${seriesKey}"]`)).toHaveCount(3);

  // choose another cover from the info panel; it then stands for the stack
  await cell(page, 'fox-2.png').click();
  await expect(page.getByTestId('stack-section')).toContainText('Stack of 3');
  await page.getByTestId('stack-cover').click();
  await page.getByTestId('stack-toggle').click();
  await expect(cells(page)).toHaveCount(4);
  await expect(page.locator('[data-testid="grid-cell"][data-stack-count="3"]')).toHaveAttribute('data-name', 'fox-2.png');

  // keep the best, reject the rest: a suggestion the user confirms; nothing is deleted
  await cell(page, 'fox-2.png').click();
  await page.getByTestId('stack-keep-best').click();
  const dialog = page.getByTestId('keep-best');
  await expect(dialog.getByTestId('keep-best-member')).toHaveCount(3);
  await dialog.getByTestId('keep-best-member').filter({ hasText: 'fox-0.png' }).click();
  await page.getByTestId('keep-best-confirm').click();
  await page.getByTestId('filters-toggle').click();
  await page.getByTestId('stack-duplicates').uncheck();
  await expect(cells(page)).toHaveCount(7);
  await expect(cell(page, 'fox-0.png')).toHaveAttribute('data-flag', 'none');
  await expect(cell(page, 'fox-1.png')).toHaveAttribute('data-flag', 'reject');
  await expect(cell(page, 'fox-2.png')).toHaveAttribute('data-flag', 'reject');

  // the choice of stacking survives a reload
  await page.reload();
  await expect(cells(page)).toHaveCount(7);
  await page.getByTestId('filters-toggle').click();
  await page.getByTestId('stack-duplicates').check();
  await expect(cells(page)).toHaveCount(4);
});

const DIM = 64;
const axis = (k: number, tilt = 0) => Array.from({ length: DIM }, (_, i) => (i === k ? 1 : i === k + 1 ? tilt : 0.01));

/** Writes vectors the way the indexing lane stores them (int8 rows + a scale, one segment). */
async function plantVectors(page: Page, model: string, vectors: Record<string, number[]>) {
  await page.evaluate(async ({ model, vectors, dim }) => {
    const ids = Object.keys(vectors);
    const data = new Int8Array(ids.length * dim);
    const scales = new Float32Array(ids.length);
    ids.forEach((id, r) => {
      const v = vectors[id]!;
      const norm = Math.hypot(...v);
      const max = Math.max(...v.map((x) => Math.abs(x / norm)));
      scales[r] = max / 127;
      v.forEach((x, i) => (data[r * dim + i] = Math.round(x / norm / scales[r]!)));
    });
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('atelier-vectors');
      req.onupgradeneeded = () => req.result.createObjectStore('segments');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('segments', 'readwrite');
      tx.objectStore('segments').put({ model, dim, ids, scales, data }, `planted-${Date.now()}`);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, { model, vectors, dim: DIM });
}

async function routeEmbeddings(page: Page, { downloaded }: { downloaded: boolean }) {
  await page.route('**/v1/models', (route) => route.fulfill({ json: { object: 'list', data: [{ id: 'siglip-test', object: 'model', created: 0, owned_by: 'atelier', type: 'embeddings', family: 'siglip', description: 'test', aliases: [], downloaded, loaded: false, size_bytes: 375_000_000 }] } }));
  await page.route('**/v1/embeddings', async (route) => {
    const body = route.request().postDataJSON() as { input: string | string[] };
    const text = Array.isArray(body.input) ? body.input[0]! : body.input;
    // "a dog on a beach" points where the planted dog photo is
    const v = Float32Array.from(text.includes('dog') ? axis(3) : axis(40));
    await route.fulfill({ json: { object: 'list', model: 'siglip-test', data: [{ object: 'embedding', index: 0, embedding: Buffer.from(v.buffer).toString('base64') }], usage: { prompt_tokens: 4, total_tokens: 4 } } });
  });
}

test('search by meaning and find similar rank planted vectors first; a burst of alike photos stacks', async ({ page }) => {
  await routeEmbeddings(page, { downloaded: true });
  await page.goto('/');
  await page.waitForFunction(() => (window as unknown as { __atelier?: { library: { getState(): { status: string } } } }).__atelier?.library.getState().status === 'ready');
  // twelve photos, 1.5 s apart from one camera ('seed-0000000' newest); vectors planted for them:
  // seed-0000003 is "the dog", seed-0000007 its look-alike, 0000005 and 0000006 a burst (alike)
  await page.evaluate(seedLibrary, { n: 12 });
  const vectors: Record<string, number[]> = {};
  for (let k = 0; k < 12; k++) vectors[`seed-${String(k).padStart(7, '0')}`] = axis(10 + k * 3);
  vectors['seed-0000003'] = axis(3);
  vectors['seed-0000007'] = axis(3, 0.5);
  vectors['seed-0000005'] = axis(50, 0.1);
  vectors['seed-0000006'] = axis(50, 0.15);
  await plantVectors(page, 'siglip-test', vectors);
  await page.reload();
  await expect(cells(page).first()).toBeVisible();

  // the burst: one cell with a count of 2 (embedding similarity within the capture window)
  await expect(page.locator('[data-testid="grid-cell"][data-stack-count="2"]')).toHaveCount(1);
  await expect(cells(page)).toHaveCount(11);

  // a smart query: no image has these words; the planted dog comes first, its look-alike second
  await page.getByTestId('search').fill('a dog on a beach');
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'meaning');
  await expect(page.getByTestId('search-phase')).toHaveAttribute('data-phase', 'done');
  await expect(cells(page).nth(0)).toHaveAttribute('data-id', 'seed-0000003');
  await expect(cells(page).nth(1)).toHaveAttribute('data-id', 'seed-0000007');

  // find similar from the info panel: the image first, then the closest
  await page.getByTestId('search').fill('');
  await expect(page.getByTestId('search-strip')).toHaveCount(0);
  await page.locator('[data-testid="grid-cell"][data-id="seed-0000007"]').click();
  await page.getByTestId('info-panel').getByTestId('find-similar').click();
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'similar');
  await expect(cells(page).nth(0)).toHaveAttribute('data-id', 'seed-0000007');
  await expect(cells(page).nth(1)).toHaveAttribute('data-id', 'seed-0000003');
  await page.getByTestId('similar-close').click();
  await expect(cells(page)).toHaveCount(11);
});

test('without an embeddings model, search is by words and says what to download', async ({ page }) => {
  await routeEmbeddings(page, { downloaded: false });
  await page.goto('/');
  await page.waitForFunction(() => (window as unknown as { __atelier?: { library: { getState(): { status: string } } } }).__atelier?.library.getState().status === 'ready');
  await page.evaluate(seedLibrary, { n: 30 });
  await page.reload();
  await expect(cells(page).first()).toBeVisible();
  await page.getByTestId('search').fill('harbour');
  await expect(page.getByTestId('smart-search-hint')).toContainText('To search by meaning, download siglip-test');
  await expect(page.getByTestId('smart-search-download')).toBeVisible();
  // the word search works as before
  await expect(page.getByTestId('grid')).toHaveAttribute('data-count', '6');
});
