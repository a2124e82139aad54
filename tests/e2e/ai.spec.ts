/// <reference lib="dom" />
// The AI features end to end, in real Chromium against the REAL backend with ATELIER_MODELS=tiny.
// The spec starts its own backend (it must kill and restart it), serving the built UI from dist/.
// Set E2E_AI_PORT to move it (E2E_AI_UI_DIR to serve another build); the tiny models are built on first start (models/tiny) and reused.
import { expect, test, type Page, type Response } from '@playwright/test';
import { makePng } from './fixtures';
import { syncOff, tinyBackend } from './tiny-backend';

const server = tinyBackend({ port: Number(process.env.E2E_AI_PORT ?? 8097), uiDir: process.env.E2E_AI_UI_DIR, name: 'ai' });
const BASE = server.base;
const startBackend = () => server.start();
const killBackend = () => server.kill();

test.describe.configure({ mode: 'serial', timeout: 420_000 });
test.beforeAll(async () => {
  test.setTimeout(180_000);
  await startBackend();
});
test.afterAll(killBackend);
// Each test starts from an empty library in a fresh browser: the backend's library (sync) stays out.
test.beforeEach(({ context }) => syncOff(context));


const pngs = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${i}.png`, mimeType: 'image/png', buffer: makePng(96 + i * 4, 72, i + 11) }));

async function importFiles(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await page.getByTestId('import-dismiss').click().catch(() => undefined);
}

/** Counts analysis results the backend delivered (items without an error), per page. */
function countResults(page: Page): { delivered: number } {
  const counter = { delivered: 0 };
  page.on('response', (res: Response) => {
    if (!res.url().endsWith('/v1/analyze/batch') || res.status() !== 200) return;
    res
      .json()
      .then((body: { data: { error?: unknown }[] }) => (counter.delivered += body.data.filter((d) => !d.error).length))
      .catch(() => undefined); // the backend died mid-response: nothing was delivered
  });
  return counter;
}

/** Records as the library stored them (IndexedDB), read in the page. */
async function records(page: Page): Promise<{ id: string; name: string; analysis?: { caption: string; at: number }; tags: { name: string }[]; origin: string; lineage?: { action: string }; nsfwOverride?: string }[]> {
  return page.evaluate(
    () =>
      new Promise((resolveAll, reject) => {
        const open = indexedDB.open('atelier-meta');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('meta', 'readonly');
          const all = tx.objectStore('meta').getAll();
          all.onsuccess = () => resolveAll(all.result);
          all.onerror = () => reject(all.error);
        };
      }),
  );
}

async function openAnalysisPanel(page: Page) {
  if (await page.getByTestId('analysis-panel').isVisible()) return;
  await page.getByTestId('analysis-indicator').click();
  await expect(page.getByTestId('analysis-panel')).toBeVisible();
}

async function waitAnalysed(page: Page, n: number, timeout = 300_000) {
  await openAnalysisPanel(page);
  await expect(page.getByTestId('analysis-progress')).toHaveText(`${n} of ${n} analysed`, { timeout });
}

test('import, then auto-analysis finishes and captions and tags are visible and searchable', async ({ page }) => {
  const counter = countResults(page);
  await page.goto(BASE);
  await importFiles(page, pngs(5, 'walk'));
  await waitAnalysed(page, 5);
  await page.keyboard.press('Escape');

  const recs = await records(page);
  expect(recs).toHaveLength(5);
  for (const r of recs) expect(r.analysis?.caption, r.name).toBeTruthy();
  expect(counter.delivered).toBe(5);

  // The caption is on the image in the info panel (tiny random models write noise, so compare with the stored text).
  const first = recs.find((r) => r.name === 'walk-0.png')!;
  await page.locator('[data-testid="grid-cell"][data-name="walk-0.png"]').click();
  await expect(page.getByTestId('caption-input')).toHaveValue(first.analysis!.caption);
  const tagged = recs.find((r) => r.tags.length > 0);
  if (tagged) await expect(page.locator(`[data-testid="grid-cell"][data-name="${tagged.name}"]`)).toBeVisible();

  // Searchable at once: a word of a caption finds its image.
  const word = recs.flatMap((r) => r.analysis!.caption.match(/[a-z0-9]{3,}/gi) ?? [])[0];
  test.skip(!word, 'the tiny model produced no searchable word this time');
  await page.getByTestId('search').fill(word!);
  // This backend serves the tiny SigLIP, so the search is by meaning too (every image ranked after
  // the word matches): switch to words only, which this test is about.
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'meaning');
  await page.getByTestId('search-meaning-toggle').uncheck();
  await expect(page.getByTestId('search-strip')).toHaveAttribute('data-mode', 'words');
  await expect(page.getByTestId('counts')).not.toHaveAttribute('data-shown', '0');
  await expect(page.getByTestId('counts')).not.toHaveAttribute('data-shown', '5');
});

/** Import one image, open it in the loupe and open the prompt modal on it ("Enhance / remix"). */
async function openPromptOnImport(page: Page, prefix: string) {
  await page.goto(BASE);
  await importFiles(page, pngs(1, prefix));
  await page.locator(`[data-testid="grid-cell"][data-name="${prefix}-0.png"]`).click();
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
  await page.getByTestId('info-enhance').click();
}

test('generate, then find the new image at the top of the grid with its parameters', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('new-image').click();
  await page.getByTestId('prompt-input').fill('a lighthouse at dusk');
  await page.getByTestId('negative-input').fill('blurry');
  await page.getByTestId('seed-input').fill('1234');
  await page.getByTestId('prompt-submit').click();
  await expect(page.getByTestId('generation-job').first()).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await page.keyboard.press('Escape');

  const cell = page.getByTestId('grid-cell').first();
  await cell.click();
  await expect(page.getByTestId('info-prompt')).toContainText('a lighthouse at dusk');
  await expect(page.getByTestId('info-params')).toContainText('tiny-sdxl');
  await expect(page.getByTestId('info-params')).toContainText('1234');
  await expect(page.getByTestId('info-params')).toContainText('blurry');
});

test('enhance from the loupe and see the lineage', async ({ page }) => {
  await openPromptOnImport(page, 'source');
  await expect(page.getByTestId('prompt-modal')).toBeVisible();
  await expect(page.getByTestId('prompt-modes').getByRole('radio', { name: 'Enhance' })).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('prompt-input').fill('sharper, more detail');
  // The tiny model defaults to 2 steps; at strength 0.3 img2img needs at least 4 (the backend says so).
  await page.getByTestId('steps').fill('8');
  await page.getByTestId('prompt-submit').click();
  const job = page.getByTestId('generation-job').first();
  await expect(job).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await job.getByRole('button', { name: 'Open' }).click();

  await expect(page.getByTestId('info-lineage')).toContainText('enhance');
  await expect(page.getByTestId('lineage-source')).toContainText('source-0.png');
  await expect(page.getByTestId('info-params')).toContainText('Strength');
});

test('Remix adds no style unless picked, Variations makes 4, and Reuse parameters on a Remix result reopens Remix', async ({ page }) => {
  await openPromptOnImport(page, 'remix-src');
  const modes = page.getByTestId('prompt-modes');
  await modes.getByRole('radio', { name: 'Variations' }).click();
  await expect(page.getByTestId('count-select')).toHaveValue('4');
  await modes.getByRole('radio', { name: 'Remix' }).click();
  await expect(page.getByTestId('style').getByRole('radio', { name: 'No style' })).toHaveAttribute('aria-checked', 'true');
  await page.getByTestId('prompt-input').fill('a fox in the snow');
  await page.getByTestId('steps').fill('8');
  await page.getByTestId('strength').fill('0.8');
  const sent = page.waitForRequest((r) => r.url().endsWith('/v1/jobs') && r.method() === 'POST');
  await page.getByTestId('prompt-submit').click();
  expect(((await sent).postDataJSON() as { prompt: string }).prompt).toBe('a fox in the snow');
  const job = page.getByTestId('generation-job').first();
  await expect(job).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await job.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('info-lineage')).toContainText('remix');

  await page.getByRole('button', { name: 'Reuse parameters' }).click();
  await expect(page.getByTestId('prompt-modal')).toContainText('Remix · remix-src-0.png');
  await expect(modes.getByRole('radio', { name: 'Remix' })).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('strength')).toHaveValue('0.8');
  await expect(page.getByTestId('prompt-input')).toHaveValue('a fox in the snow');
  await page.keyboard.press('Escape');
});

/** Records, in the page, every value `attr` takes on the elements matching `selector`. */
async function recordAttr(page: Page, selector: string, attr: string): Promise<() => Promise<(string | null)[]>> {
  await page.evaluate(
    ([sel, name]) => {
      const seen: (string | null)[] = [];
      (window as unknown as { __seen: (string | null)[] }).__seen = seen;
      const look = () => document.querySelectorAll(sel!).forEach((el) => {
        const v = el.getAttribute(name!);
        if (seen.at(-1) !== v) seen.push(v);
      });
      look();
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: [name!] });
    },
    [selector, attr],
  );
  return () => page.evaluate(() => (window as unknown as { __seen: (string | null)[] }).__seen);
}

/** No generation job runs or waits (analysis of earlier tests' images may still run in the background). */
async function backendIdle(page: Page): Promise<boolean> {
  type Job = { kind: string } | null;
  const status = (await (await page.request.get(`${BASE}/v1/status`)).json()) as { queue: { running: Job; queued: Job[] } };
  return [status.queue.running, ...status.queue.queued].every((j) => j === null || j.kind !== 'generate');
}

// 768x768 x 4 makes one step of the tiny model take seconds on a CPU, as a real model's step does on a GPU.
test('cancel a job: Cancelling… until the backend stops, then cancelled, and nothing added', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('new-image').click();
  await page.getByTestId('prompt-input').fill('a very long job');
  await page.getByTestId('size').getByRole('radio', { name: 'S', exact: true }).click();
  await page.getByTestId('steps').fill('60');
  await page.getByTestId('count-select').selectOption('4');
  await page.getByTestId('prompt-submit').click();
  const job = page.getByTestId('generation-job').first();
  // Step 0 arrives when denoising begins: the phase says so, not "Loading the model…".
  await expect(job).toHaveAttribute('data-phase', 'running', { timeout: 60_000 });
  await expect(job.getByTestId('generation-job-phase')).toHaveText(/^Step \d+ of 60$/);
  const phases = await recordAttr(page, '[data-testid="generation-job"]', 'data-phase');
  await job.getByTestId('generation-cancel').click();
  await expect(job).toHaveAttribute('data-phase', 'cancelled', { timeout: 60_000 });
  expect(await phases()).toEqual(expect.arrayContaining(['cancelling', 'cancelled']));
  expect((await phases()).indexOf('cancelling')).toBeLessThan((await phases()).indexOf('cancelled'));
  // "Cancelled" is shown once the backend confirmed it: the worker is free by then.
  await expect.poll(() => backendIdle(page), { timeout: 2_000 }).toBe(true);
  await page.keyboard.press('Escape');
  expect((await records(page)).filter((r) => r.origin === 'generated')).toHaveLength(0);
});

test("the Status page's Cancel shows Cancelling… until the backend confirms", async ({ page }) => {
  const created = await page.request.post(`${BASE}/v1/jobs`, { data: { model: 'tiny-sdxl', prompt: 'long', width: 768, height: 768, n: 4, steps: 60 } });
  const id = ((await created.json()) as { id: string }).id;
  await page.goto(BASE);
  await page.getByTestId('nav-status').click();
  const row = page.getByTestId('status-job').first();
  await expect(row).toContainText(/step \d+ of 60/, { timeout: 60_000 });
  const seen = await recordAttr(page, '[data-testid="status-job"]', 'data-cancelling');
  await row.getByTestId('status-job-cancel').click();
  await expect(page.getByTestId('status-jobs')).toContainText('Nothing running.', { timeout: 30_000 });
  expect(await seen()).toContain('true');
  expect(((await (await page.request.get(`${BASE}/v1/jobs/${id}`)).json()) as { status: string }).status).toBe('cancelled');
});

/** More images than one analysis call takes, so that a queue can be caught half-way. */
const QUEUE_N = 40;

test('reload in the middle of the queue and see it resume', async ({ page }) => {
  const counter = countResults(page);
  await page.goto(BASE);
  await importFiles(page, pngs(QUEUE_N, 'reload'));
  await openAnalysisPanel(page);
  // Wait until some, not all, are done: more images than one batch takes (16 once the speed is known).
  await expect(page.getByTestId('analysis-progress')).toHaveText(new RegExp(`^[1-9]\\d* of ${QUEUE_N} analysed$`), { timeout: 180_000 });
  expect((await page.getByTestId('analysis-progress').textContent())?.startsWith(`${QUEUE_N} of`)).toBe(false);
  await page.reload();
  await waitAnalysed(page, QUEUE_N);
  const recs = await records(page);
  expect(recs.filter((r) => r.analysis)).toHaveLength(QUEUE_N);
  // Results of requests cut by the reload were never delivered; every delivered one was applied once.
  expect(counter.delivered).toBe(QUEUE_N);
});

test('kill and restart the backend in the middle of the queue: every image analysed exactly once', async ({ page }) => {
  const counter = countResults(page);
  await page.goto(BASE);
  await importFiles(page, pngs(QUEUE_N, 'crash'));
  await openAnalysisPanel(page);
  await expect(page.getByTestId('analysis-progress')).toHaveText(new RegExp(`^[1-9]\\d* of ${QUEUE_N} analysed$`), { timeout: 180_000 });

  await killBackend();
  await expect(page.getByTestId('analysis-state')).toHaveText('Backend offline', { timeout: 30_000 });
  await startBackend();
  // No click: the queue finds the backend again by itself.
  await waitAnalysed(page, QUEUE_N);

  const recs = await records(page);
  expect(recs.filter((r) => r.analysis)).toHaveLength(QUEUE_N);
  expect(counter.delivered).toBe(QUEUE_N);
  await expect(page.getByTestId('analysis-failures')).toHaveCount(0);
});

// --- Running work once the modal is closed, the Status page's models and history (issue 15) ---

test('a job shows in the jobs indicator after the modal closes, opens from there, stays in the history, and is analysed', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('new-image').click();
  await page.getByTestId('prompt-input').fill('a harbour at night');
  await page.getByTestId('steps').fill('40');
  await page.getByTestId('prompt-submit').click();
  await expect(page.getByTestId('generation-job').first()).toHaveAttribute('data-phase', /submitting|queued|loading|running/);
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('prompt-modal')).toHaveCount(0);

  // the status bar tells that something runs, and how far it is
  const indicator = page.getByTestId('jobs-indicator');
  await expect(indicator).toBeVisible();
  await indicator.click();
  const popover = page.getByTestId('jobs-popover');
  await expect(popover.getByTestId('generation-job').first()).toContainText('a harbour at night');
  await expect(popover.getByTestId('generation-job').first()).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
  await expect(indicator).toHaveAttribute('data-active', '0');
  await expect(indicator).toContainText('1 done');
  await popover.getByRole('button', { name: 'Open' }).click();
  await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
  await expect(page.getByTestId('info-prompt')).toContainText('a harbour at night');

  // the Status page keeps the job after a reload
  await page.reload();
  await page.getByTestId('nav-status').click();
  const entry = page.getByTestId('job-history-entry').first();
  await expect(entry).toHaveAttribute('data-outcome', 'done');
  await expect(entry).toContainText('a harbour at night');

  // generated images are analysed like imports (the setting is on by default)
  await expect.poll(async () => (await records(page)).find((r) => r.origin === 'generated')?.analysis?.caption, { timeout: 180_000 }).toBeTruthy();
});

test('the Status page loads a model on demand', async ({ page }) => {
  await page.goto(BASE);
  await page.getByTestId('nav-status').click();
  await page.evaluate(() => fetch('/v1/model/unload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }));
  const row = page.getByTestId('status-model-row').filter({ hasText: 'tiny-vlm' });
  await expect(row).toContainText('on disk', { timeout: 15_000 });
  await row.getByTestId('load-model').click();
  await expect(row).not.toContainText('on disk', { timeout: 60_000 });
  await expect(row.getByRole('button', { name: 'Unload' })).toBeVisible();
  await expect(page.getByTestId('status-error')).toHaveCount(0);
});

test('an image marked NSFW by hand stays marked when it is analysed again', async ({ page }) => {
  await page.goto(BASE);
  await importFiles(page, pngs(1, 'mark'));
  await waitAnalysed(page, 1);
  await page.keyboard.press('Escape');
  const cell = page.locator('[data-testid="grid-cell"][data-name="mark-0.png"]');
  await expect(cell).not.toHaveAttribute('data-nsfw'); // NudeNet finds nothing in a gradient
  await cell.click();
  await page.keyboard.press('n');
  await expect(cell).toHaveAttribute('data-nsfw', 'true');
  const before = (await records(page)).find((r) => r.name === 'mark-0.png')!.analysis!.at;
  await page.getByTestId('analyze-selection').click();
  await expect.poll(async () => (await records(page)).find((r) => r.name === 'mark-0.png')!.analysis!.at, { timeout: 120_000 }).toBeGreaterThan(before);
  expect((await records(page)).find((r) => r.name === 'mark-0.png')).toMatchObject({ nsfwOverride: 'nsfw' });
  await expect(cell).toHaveAttribute('data-nsfw', 'true');
});
