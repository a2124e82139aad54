/// <reference lib="dom" />
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { A1111, COMFY, corruptPng, makePng } from './fixtures';

const cell = (page: Page, name: string) => page.locator(`[data-testid="grid-cell"][data-name="${name}"]`);
const counts = (page: Page) => page.getByTestId('counts');

/** A real JPEG, encoded by the browser itself. */
async function browserJpeg(page: Page): Promise<Buffer> {
  const b64 = await page.evaluate(async () => {
    const c = new OffscreenCanvas(320, 200);
    const ctx = c.getContext('2d')!;
    const g = ctx.createLinearGradient(0, 0, 320, 200);
    g.addColorStop(0, '#0ea5e9');
    g.addColorStop(1, '#f59e0b');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, 320, 200);
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    bytes.forEach((b) => (s += String.fromCharCode(b)));
    return btoa(s);
  });
  return Buffer.from(b64, 'base64');
}

async function importFiles(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.locator('header [data-testid="file-input"]').setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
}

test('imports real files, culls with the keyboard, searches, persists across reload and exports a zip', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-library')).toBeVisible();

  const lighthouse = makePng(640, 480, 1, { parameters: A1111 });
  await importFiles(page, [
    { name: 'lighthouse.png', mimeType: 'image/png', buffer: lighthouse },
    { name: 'fox.png', mimeType: 'image/png', buffer: makePng(300, 400, 2, { prompt: COMFY, workflow: '{}' }) },
    { name: 'plain.png', mimeType: 'image/png', buffer: makePng(200, 200, 3) },
    { name: 'sky.jpg', mimeType: 'image/jpeg', buffer: await browserJpeg(page) },
    { name: 'lighthouse-copy.png', mimeType: 'image/png', buffer: lighthouse },
    { name: 'broken.png', mimeType: 'image/png', buffer: corruptPng() },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') },
  ]);

  // every file accounted for: 4 imported, a duplicate, a corrupt file and a text file skipped with reasons
  const progress = page.getByTestId('import-progress');
  await expect(progress).toHaveAttribute('data-imported', '4');
  await page.getByTestId('import-show-skipped').click();
  const skipped = page.getByTestId('import-skipped');
  await expect(skipped).toContainText('lighthouse-copy.png');
  await expect(skipped).toContainText('duplicate of lighthouse.png');
  await expect(skipped).toContainText('broken.png');
  await expect(skipped).toContainText('notes.txt');
  await page.getByTestId('import-dismiss').click();

  await expect(page.getByTestId('grid-cell')).toHaveCount(4);
  await expect(counts(page)).toHaveAttribute('data-shown', '4');
  await expect(counts(page)).toContainText('4 of 4');
  // thumbnails were made and decoded
  await expect(cell(page, 'sky.jpg').locator('img')).toHaveAttribute('data-loaded', '');
  expect(await cell(page, 'sky.jpg').locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);

  // loupe, with the A1111 parameters in the info panel
  await cell(page, 'lighthouse.png').click();
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
  await expect(page.getByTestId('info-prompt')).toContainText('a lighthouse on a cliff at dusk');
  await expect(page.getByTestId('info-params')).toContainText('juggernautXL_v9');

  // rate and pick with keys; navigate; reject the next one
  await page.keyboard.press('4');
  await page.keyboard.press('p');
  await expect(page.getByTestId('info-rating')).toHaveAttribute('data-rating', '4');
  await expect(page.getByTestId('info-flag')).toHaveAttribute('data-flag', 'pick');
  const first = await page.getByTestId('loupe').getAttribute('data-id');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('loupe')).not.toHaveAttribute('data-id', first!);
  const rejectedName = await page.getByTestId('loupe-name').textContent();
  await page.keyboard.press('x');
  await expect(page.getByTestId('info-flag')).toHaveAttribute('data-flag', 'reject');
  await page.keyboard.press('g');
  await expect(cell(page, 'lighthouse.png')).toHaveAttribute('data-rating', '4');

  // culling applies to the whole selection at once
  await cell(page, 'fox.png').click();
  await cell(page, 'plain.png').click({ modifiers: ['Control'] });
  await page.keyboard.press('2');
  await expect(cell(page, 'fox.png')).toHaveAttribute('data-rating', '2');
  await expect(cell(page, 'plain.png')).toHaveAttribute('data-rating', '2');

  // a user tag; shortcuts are off while typing
  await cell(page, 'sky.jpg').click();
  await page.getByTestId('tag-input').fill('5 harbour');
  await page.getByTestId('tag-input').press('Enter');
  await expect(cell(page, 'sky.jpg')).toHaveAttribute('data-rating', '0');
  await expect(page.getByTestId('tag-user')).toContainText('5 harbour');

  // search: prompt text, tags, ComfyUI prompt
  await page.getByTestId('search').fill('lighthouse dusk');
  await expect(counts(page)).toHaveAttribute('data-shown', '1');
  await expect(page.getByTestId('grid-cell')).toHaveCount(1);
  await page.getByTestId('search').fill('harbour');
  await expect(page.getByTestId('grid-cell')).toHaveCount(1);
  await page.getByTestId('search').fill('red fox');
  await expect(cell(page, 'fox.png')).toBeVisible();
  await expect(counts(page)).toContainText('1 of 4');

  // reload: everything persisted
  await page.reload();
  await expect(counts(page)).toHaveAttribute('data-total', '4');
  await expect(cell(page, 'lighthouse.png')).toHaveAttribute('data-rating', '4');
  await expect(cell(page, 'lighthouse.png')).toHaveAttribute('data-flag', 'pick');
  await expect(cell(page, rejectedName!.trim())).toHaveAttribute('data-flag', 'reject');
  await expect(cell(page, 'fox.png')).toHaveAttribute('data-rating', '2');
  await page.getByTestId('search').fill('harbour');
  await expect(page.getByTestId('grid-cell')).toHaveCount(1);
  await page.getByTestId('search').fill('');
  await expect(page.getByTestId('grid-cell')).toHaveCount(4);

  // export everything as a zip of originals + XMP sidecars
  await page.locator('main').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+a');
  await expect(page.getByTestId('selected-count')).toContainText('4 selected');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-selection').click()]);
  const files = unzipSync(new Uint8Array(readFileSync(await download.path())));
  expect(Object.keys(files).sort()).toEqual(['fox.png', 'fox.xmp', 'lighthouse.png', 'lighthouse.xmp', 'plain.png', 'plain.xmp', 'sky.jpg', 'sky.xmp']);
  expect(Buffer.from(files['lighthouse.png']!).equals(lighthouse)).toBe(true);
  expect(strFromU8(files['lighthouse.xmp']!)).toContain('xmp:Rating="4"');
  expect(strFromU8(files['sky.xmp']!)).toMatch(/<dc:subject>\s*<rdf:Bag>\s*<rdf:li>5 harbour<\/rdf:li>/);

  // delete with confirmation
  await cell(page, 'plain.png').click();
  await page.keyboard.press('Delete');
  await expect(page.getByTestId('confirm-delete')).toBeVisible();
  await page.getByTestId('confirm-delete-yes').click();
  await expect(counts(page)).toContainText('3 of 3');
  await page.reload();
  await expect(counts(page)).toHaveAttribute('data-total', '3');
});

test('shows every shortcut with ?, and Esc closes it', async ({ page }) => {
  await page.goto('/');
  await page.keyboard.press('?');
  await expect(page.getByTestId('help-overlay')).toContainText('Reject');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help-overlay')).toBeHidden();
});
