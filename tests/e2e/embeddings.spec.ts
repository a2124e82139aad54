/// <reference lib="dom" />
// Search by meaning and find similar end to end against the REAL backend (ATELIER_MODELS=tiny: the
// tiny random-weight SigLIP, `tiny-embed`, served by POST /v1/embeddings). Nothing is planted or
// routed: the import, the analysis queue's indexing lane, the vectors in IndexedDB, the text query
// and the search worker are all the app's own. Random weights mean nothing semantically, so the
// expected order is computed here from the same backend: the query's vector (asked of
// /v1/embeddings directly) against the vectors the lane stored.
// A second backend with the real catalog and no models downloaded checks the "download" path.
// Ports: E2E_AI_PORT (the tiny backend) and E2E_FIRST_RUN_PORT (the empty one).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { makePng } from './fixtures';
import { tinyBackend } from './tiny-backend';

const server = tinyBackend({ port: Number(process.env.E2E_AI_PORT ?? 8097), uiDir: process.env.E2E_AI_UI_DIR, name: 'embed' });
const empty = mkdtempSync(join(tmpdir(), 'atelier-e2e-no-embed-'));
const bare = tinyBackend({
  port: Number(process.env.E2E_FIRST_RUN_PORT ?? 8096),
  name: 'no-embed',
  env: { ATELIER_MODELS: 'real', ATELIER_MODELS_DIR: join(empty, 'models'), HF_HOME: join(empty, 'hf'), HF_HUB_OFFLINE: '1' },
});

test.describe.configure({ mode: 'serial', timeout: 300_000 });
test.afterAll(async () => {
  await server.kill();
  await bare.kill();
});

const cells = (page: Page) => page.getByTestId('grid-cell');
const N = 8;
const pngs = Array.from({ length: N }, (_, i) => ({ name: `photo-${i}.png`, mimeType: 'image/png', buffer: makePng(120 + i * 8, 90, i + 31) }));

/** Every stored vector of `model`, dequantised, by record id (read in the page, as the worker reads them). */
async function storedVectors(page: Page, model: string): Promise<Record<string, number[]>> {
  return page.evaluate(async (model) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('atelier-vectors');
      req.onupgradeneeded = () => req.result.createObjectStore('segments');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = await new Promise<{ model?: string; dim?: number; ids?: string[]; scales?: Float32Array; data?: Int8Array }[]>((resolve, reject) => {
      const req = db.transaction('segments', 'readonly').objectStore('segments').getAll();
      req.onsuccess = () => resolve(req.result as never);
      req.onerror = () => reject(req.error);
    });
    db.close();
    const out: Record<string, number[]> = {};
    for (const s of all) {
      if (s.model !== model || !s.ids || !s.dim || !s.data || !s.scales) continue;
      const pd = s.data.length / s.ids.length;
      s.ids.forEach((id, r) => (out[id] = Array.from(s.data!.subarray(r * pd, r * pd + s.dim!), (x) => x * s.scales![r]!)));
    }
    return out;
  }, model);
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const rank = (q: number[], vectors: Record<string, number[]>) => Object.keys(vectors).sort((a, b) => dot(q, vectors[b]!) - dot(q, vectors[a]!));

test('import, analyse and index; a smart query ranks by the backend\'s vectors; find similar', async ({ page }) => {
  await server.start();
  await page.goto(server.base);
  await page.locator('header [data-testid="file-input"]').setInputFiles(pngs);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await page.getByTestId('import-dismiss').click().catch(() => undefined);

  // the analysis queue runs (captions), and its indexing lane embeds every image through /v1/embeddings
  await page.getByTestId('analysis-indicator').click();
  await expect(page.getByTestId('analysis-progress')).toHaveText(`${N} of ${N} analysed`, { timeout: 240_000 });
  await page.keyboard.press('Escape');
  await expect.poll(async () => Object.keys(await storedVectors(page, 'tiny-embed')).length, { timeout: 120_000 }).toBe(N);
  const vectors = await storedVectors(page, 'tiny-embed');
  for (const v of Object.values(vectors)) {
    expect(v).toHaveLength(32);
    expect(Math.hypot(...v)).toBeCloseTo(1, 2);
  }

  // a smart query: no image has these words, so the order is the backend's similarity
  const query = 'a dog on a beach';
  const res = await fetch(`${server.base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-embed', input: query, encoding_format: 'float' }) });
  const q = ((await res.json()) as { data: { embedding: number[] }[] }).data[0]!.embedding;
  const expected = rank(q, vectors);
  await page.getByTestId('search').fill(query);
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'meaning');
  await expect(page.getByTestId('search-phase')).toHaveAttribute('data-phase', 'done');
  await expect(cells(page)).toHaveCount(N);
  await expect(cells(page).nth(0)).toHaveAttribute('data-id', expected[0]!);
  await expect(cells(page).nth(1)).toHaveAttribute('data-id', expected[1]!);

  // find similar from the info panel: the image itself first, then its nearest stored neighbour
  await page.getByTestId('search').fill('');
  await expect(page.getByTestId('search-strip')).toHaveCount(0);
  const chosen = expected[N - 1]!;
  const near = rank(vectors[chosen]!, vectors);
  await page.locator(`[data-testid="grid-cell"][data-id="${chosen}"]`).click();
  await page.getByTestId('info-panel').getByTestId('find-similar').click();
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'similar');
  await expect(cells(page).nth(0)).toHaveAttribute('data-id', chosen);
  await expect(cells(page).nth(1)).toHaveAttribute('data-id', near[1]!);
  await page.screenshot({ path: test.info().outputPath('find-similar.png') });
});

test('with no embeddings model downloaded, word search works and smart search names the download', async ({ page }) => {
  await server.kill();
  await bare.start();
  await page.goto(bare.base);
  await page.locator('header [data-testid="file-input"]').setInputFiles(pngs.slice(0, 3));
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await page.getByTestId('import-dismiss').click().catch(() => undefined);
  await page.getByTestId('search').fill('photo-1');
  await expect(page.getByTestId('smart-search-hint')).toContainText('download siglip2-base');
  await expect(page.getByTestId('smart-search-download')).toBeVisible();
  await expect(page.getByTestId('grid')).toHaveAttribute('data-count', '1');
});
