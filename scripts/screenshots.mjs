// Screenshots of the main screens for a visual check: node scripts/screenshots.mjs [baseURL] [outDir]
// Against a backend (e.g. ATELIER_MODELS=tiny make start) it adds the prompt window, the jobs
// indicator and the Status page; docs/screenshots/ are picked from these.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { png, A1111_PARAMS, COMFY_PROMPT } from './lib/fixtures.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:4173';
const out = process.argv[3] ?? 'test-results/screenshots';
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
page.on('pageerror', (e) => console.error('pageerror', e.stack));
page.on('console', (m) => m.type() === 'error' && console.error('console', m.text()));
await page.goto(base);
await page.getByTestId('empty-library').waitFor();
await page.screenshot({ path: `${out}/01-empty.png` });

const files = [];
for (let i = 0; i < 36; i++) {
  const w = [640, 480, 800, 512][i % 4];
  const h = [480, 640, 450, 512][i % 4];
  const text = i === 0 ? { parameters: A1111_PARAMS } : i === 1 ? { prompt: COMFY_PROMPT } : {};
  files.push({ name: `IMG_${String(1000 + i)}.png`, mimeType: 'image/png', buffer: png(w, h, i, text) });
}
files.push({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG\r\n\x1a\nnot really') });
await page.locator('header [data-testid=file-input]').setInputFiles(files);
await page.locator('[data-testid="import-progress"][data-finished="true"]').waitFor({ timeout: 60_000 });
await page.getByTestId('import-show-skipped').click();
await page.waitForTimeout(500);
await page.screenshot({ path: `${out}/02-grid-import.png` });
await page.getByTestId('import-dismiss').click();

const cells = page.getByTestId('grid-cell');
await cells.nth(0).click();
await page.keyboard.press('4');
await page.keyboard.press('p');
await cells.nth(2).click({ modifiers: ['Shift'] });
await page.keyboard.press('3');
await cells.nth(5).click({ modifiers: ['Control'] });
await page.keyboard.press('x');
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}/03-grid-selection.png` });

await page.getByTestId('filters-toggle').click();
await page.getByTestId('search').fill('IMG_10');
await page.waitForTimeout(400);
await page.screenshot({ path: `${out}/04-filters.png` });
await page.getByTestId('filters-reset').click();

await page.locator('[data-name="IMG_1000.png"]').dblclick();
await page.locator('[data-testid="loupe"][data-loaded="true"]').waitFor();
await page.screenshot({ path: `${out}/05-loupe.png` });
await page.keyboard.press('?');
await page.waitForTimeout(200);
await page.screenshot({ path: `${out}/06-help.png` });
await page.keyboard.press('Escape');
await page.keyboard.press('g');
await page.getByTestId('thumb-size').fill('120');
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}/07-small-thumbs.png` });

// an analysed image marked NSFW is blurred in the grid; tags show their source
await page.evaluate(() => {
  const lib = window.__atelier.library;
  const [a, b] = lib.getState().order.slice(3, 5).map((id) => lib.getState().byId.get(id));
  void lib.editRecord(a.id, (r) => ({ ...r, analysis: { caption: 'a dusky harbour with moored boats', model: 'moondream2', at: Date.now(), nsfw: { label: 'nsfw', score: 0.91 } }, tags: [{ name: 'harbour', source: 'ai', score: 0.93 }, { name: 'boats', source: 'ai', score: 0.8 }, { name: 'trip-2024', score: null, source: 'user' }] }));
  void lib.editRecord(b.id, (r) => ({ ...r, analysis: { caption: 'green hills under a blue sky', model: 'moondream2', at: Date.now() }, tags: [{ name: 'hills', score: null, source: 'ai' }] }));
  lib.focus(a.id);
});
await page.getByTestId('thumb-size').fill('200');
await page.waitForTimeout(500);
await page.screenshot({ path: `${out}/08-nsfw-tags.png` });

await page.keyboard.press('Enter');
await page.locator('[data-testid="loupe"][data-loaded="true"]').waitFor();
await page.getByTestId('zoom-100').click();
await page.waitForTimeout(300);
await page.screenshot({ path: `${out}/09-loupe-100.png` });
await page.keyboard.press('s');
await page.waitForTimeout(1200);
await page.screenshot({ path: `${out}/10-slideshow.png` });
await page.keyboard.press('Escape');
await page.keyboard.press('g');

// With a backend (the real one, or ATELIER_MODELS=tiny): a generation job, the prompt window, the
// jobs indicator and the Status page with its models and job history.
const backend = await page.evaluate(() => fetch('/v1/models').then((r) => r.ok, () => false));
if (backend) {
  await page.getByTestId('new-image').click();
  await page.getByTestId('prompt-input').fill('a lighthouse on a cliff at dusk, volumetric light');
  await page.waitForTimeout(600);
  await page.screenshot({ path: `${out}/11-prompt.png` });
  await page.getByTestId('prompt-submit').click();
  await page.locator('[data-testid="generation-job"][data-phase="done"]').first().waitFor({ timeout: 120_000 });
  await page.keyboard.press('Escape');
  await page.getByTestId('jobs-indicator').click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}/12-jobs.png` });
  await page.keyboard.press('Escape');
  await page.getByTestId('nav-status').click();
  await page.getByTestId('status-models').waitFor();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${out}/13-status.png` });
  await page.getByTestId('nav-grid').click();
}

// The same library on a phone (390x844, touch): grid, loupe with the culling bar, details sheet.
// (a page of the same context, so it sees the same IndexedDB; touch and size set over DevTools)
const phone = await context.newPage();
const cdp = await context.newCDPSession(phone);
await phone.setViewportSize({ width: 390, height: 844 });
await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
await phone.goto(base);
await phone.getByTestId('grid-cell').first().waitFor();
await phone.waitForTimeout(800);
await phone.screenshot({ path: `${out}/14-phone-grid.png` });
await phone.getByTestId('grid-cell').nth(5).dblclick();
await phone.locator('[data-testid="loupe"][data-loaded="true"]').waitFor();
await phone.screenshot({ path: `${out}/15-phone-loupe.png` });
await phone.getByTestId('loupe-info').click();
await phone.waitForTimeout(400);
await phone.screenshot({ path: `${out}/16-phone-details.png` });
await browser.close();
console.log('screenshots in', out);
