/// <reference lib="dom" />
// The smaller things a new user meets in the first hour (issue 15): NSFW by hand and by threshold,
// the sort that survives a reload, rating in the loupe under a rating sort, skipped files with
// their folders, labelled provider fields, the stars' wording and slideshow controls one can see.
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corruptPng, makePng } from './fixtures';

const cell = (page: Page, name: string) => page.locator(`[data-testid="grid-cell"][data-name="${name}"]`);

async function importPngs(page: Page, n: number) {
  await page.locator('header [data-testid="file-input"]').setInputFiles(
    Array.from({ length: n }, (_, i) => ({ name: `p${i}.png`, mimeType: 'image/png', buffer: makePng(120 + i, 90, i + 40) })),
  );
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('import-dismiss').click();
}

/** Writes results as the analysis queue would: detector scores for the named images. */
async function analyse(page: Page, scores: Record<string, number>) {
  await page.evaluate(async (scores) => {
    const lib = (window as unknown as { __atelier: { library: { getState(): { byId: Map<string, { name: string }> }; editRecord(id: string, fn: (r: object) => object): Promise<void> } } }).__atelier.library;
    for (const r of lib.getState().byId.values()) {
      const score = scores[r.name];
      if (score === undefined) continue;
      await lib.editRecord((r as unknown as { id: string }).id, (s) => ({ ...s, analysis: { caption: 'a test image', model: 'tiny-vlm', at: Date.now(), nsfw: { label: score >= 0.5 ? 'nsfw' : 'safe', score } } }));
    }
  }, scores);
}

test('NSFW: a per-image override (panel and N) and a threshold over the stored scores', async ({ page }) => {
  await page.goto('/');
  await importPngs(page, 3);
  await analyse(page, { 'p0.png': 0.62, 'p1.png': 0.91, 'p2.png': 0.05 });
  await expect(cell(page, 'p0.png')).toHaveAttribute('data-nsfw', 'true');
  await expect(cell(page, 'p1.png')).toHaveAttribute('data-nsfw', 'true');
  await expect(cell(page, 'p2.png')).not.toHaveAttribute('data-nsfw');

  // the info panel: the detector's verdict, and "Safe" wins over it
  await cell(page, 'p1.png').click();
  const control = page.getByTestId('nsfw-override');
  await expect(page.getByTestId('nsfw-detector')).toContainText('91%');
  await expect(control).toHaveAttribute('data-value', 'auto');
  await page.getByTestId('nsfw-safe').click();
  await expect(control).toHaveAttribute('data-value', 'safe');
  await expect(cell(page, 'p1.png')).not.toHaveAttribute('data-nsfw');

  // N flips the focused image; the help overlay says so
  await cell(page, 'p2.png').click();
  await page.keyboard.press('n');
  await expect(cell(page, 'p2.png')).toHaveAttribute('data-nsfw', 'true');
  await expect(control).toHaveAttribute('data-value', 'nsfw');
  await page.keyboard.press('?');
  await expect(page.getByTestId('help-overlay')).toContainText('Mark NSFW / safe');
  await page.keyboard.press('Escape');

  // kept across a reload
  await page.reload();
  await expect(cell(page, 'p1.png')).not.toHaveAttribute('data-nsfw');
  await expect(cell(page, 'p2.png')).toHaveAttribute('data-nsfw', 'true');

  // the threshold: 0.62 is no longer NSFW at 70%; overrides do not move
  await page.getByTestId('nav-settings').click();
  const slider = page.getByTestId('settings-nsfw-threshold');
  await slider.fill('0.7');
  await expect(page.getByTestId('settings-panel')).toContainText('NSFW threshold · 70%');
  await page.getByTestId('nav-grid').click();
  await expect(cell(page, 'p0.png')).not.toHaveAttribute('data-nsfw');
  await expect(cell(page, 'p2.png')).toHaveAttribute('data-nsfw', 'true');
  await page.getByTestId('filters-toggle').click();
  await page.getByTestId('filter-nsfw').selectOption('nsfw');
  await expect(page.getByTestId('counts')).toHaveAttribute('data-shown', '1');
});

test('the sort survives a reload, and rating in the loupe under a rating sort keeps the image in place', async ({ page }) => {
  await page.goto('/');
  await importPngs(page, 5);
  await page.getByTestId('sort').selectOption('rating');
  await page.reload();
  await expect(page.getByTestId('grid-cell').first()).toBeVisible();
  await expect(page.getByTestId('sort')).toHaveValue('rating');

  const names = await page.getByTestId('grid-cell').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
  await cell(page, names[2]!).dblclick();
  await expect(page.getByTestId('loupe')).toBeVisible();
  await expect(page.getByTestId('loupe-counter')).toHaveText('3 / 5');
  await page.keyboard.press('5');
  await expect(page.getByTestId('info-rating')).toHaveAttribute('data-rating', '5');
  await page.waitForTimeout(200); // the write's event comes back too
  await expect(page.getByTestId('loupe-name')).toHaveText(names[2]!);
  await expect(page.getByTestId('loupe-counter')).toHaveText('3 / 5');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('loupe-name')).toHaveText(names[3]!);
  // the grid shows the new order
  await page.keyboard.press('g');
  await expect(page.getByTestId('grid-cell').first()).toHaveAttribute('data-name', names[2]!);
});

test('skipped files say which folder they were in', async ({ page }) => {
  const root = mkdtempSync(join(tmpdir(), 'atelier-folder-'));
  const png = makePng(80, 60, 7);
  mkdirSync(join(root, 'trip/day1'), { recursive: true });
  mkdirSync(join(root, 'trip/day2'), { recursive: true });
  writeFileSync(join(root, 'trip/day1/beach.png'), png);
  writeFileSync(join(root, 'trip/day2/beach.png'), png);
  writeFileSync(join(root, 'trip/day2/broken.png'), corruptPng());
  await page.goto('/');
  await page.locator('[data-testid="folder-input"]').first().setInputFiles(join(root, 'trip'));
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('import-show-skipped').click();
  const skipped = page.getByTestId('import-skipped');
  await expect(skipped.getByTestId('import-skipped-file')).toHaveCount(2);
  // the corrupt file's folder, and which copy of the duplicate was kept (the browser picks the order)
  await expect(skipped.getByTestId('import-skipped-file').filter({ hasText: 'broken.png' })).toContainText('in trip/day2/');
  const dup = skipped.getByTestId('import-skipped-file').filter({ hasText: 'beach.png' });
  const [, day] = (await dup.textContent())!.match(/in trip\/day(\d)\//)!;
  await expect(dup).toContainText(`duplicate of trip/day${day === '1' ? 2 : 1}/beach.png`);
});

test('provider fields carry labels; the rating filter reads "at least 1 star"; slideshow controls show', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('add-provider').click();
  const row = page.getByTestId('provider-row');
  for (const label of ['Name', 'Used for', 'Base URL', 'Model', 'API key (optional)']) await expect(row.getByText(label, { exact: true })).toBeVisible();
  await row.getByLabel('Base URL').fill('http://192.168.1.5:11434/v1');
  await expect(row.getByLabel('Base URL')).toHaveValue('http://192.168.1.5:11434/v1');

  await page.getByTestId('nav-grid').click();
  await importPngs(page, 3);
  await page.getByTestId('filters-toggle').click();
  await expect(page.getByRole('button', { name: 'at least 1 star', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'at least 2 stars', exact: true })).toBeVisible();

  await page.getByTestId('grid-cell').first().click();
  await page.keyboard.press('s');
  const controls = page.getByTestId('slideshow-controls');
  await expect(controls).toBeVisible();
  const opacity = () => controls.evaluate((el) => Number(getComputedStyle(el).opacity));
  await expect.poll(opacity).toBeGreaterThan(0.95);
  // out of the way while it plays, back on a mouse move
  await expect.poll(opacity, { timeout: 6_000 }).toBeLessThan(0.05);
  await page.mouse.move(400, 300);
  await page.mouse.move(420, 320);
  await expect.poll(opacity).toBeGreaterThan(0.95);
  await page.getByTestId('slideshow-close').click();
  await expect(page.getByTestId('slideshow')).toHaveCount(0);
});
