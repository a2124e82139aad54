import { expect, test } from '@playwright/test';
import { seedLibrary } from '../../scripts/lib/seed.mjs';

// 40,000 images in one column of ~500 px rows is ~20 M px: taller than Chromium's maximum
// scroll height (~16.7 M px). The grid must still reach the very last image. (800 px wide: below
// 768 the phone layout caps thumbnails at 120 px; here the info panel leaves one 512 px column.)
test('reaches the last image of a library taller than the browser can scroll', async ({ page }) => {
  test.setTimeout(240_000);
  await page.setViewportSize({ width: 800, height: 800 });
  await page.goto('/');
  await page.waitForFunction(() => (window as unknown as { __atelier?: { library: { getState(): { status: string } } } }).__atelier?.library.getState().status === 'ready');
  await page.evaluate(seedLibrary, { n: 40_000, thumbs: false });
  await page.reload();
  await expect(page.getByTestId('counts')).toHaveAttribute('data-total', '40000', { timeout: 120_000 });
  await expect(page.locator('[data-testid="info-panel"][data-variant="side"]')).toBeVisible();
  // the thumbnail slider sits in the header from 1024 px up; the store is what it sets
  await page.evaluate(() => (window as unknown as { __atelier: { library: { setThumbSize(px: number): void } } }).__atelier.library.setThumbSize(400));
  const grid = page.getByTestId('grid');
  await expect.poll(async () => Number(await grid.getAttribute('data-segments'))).toBeGreaterThan(1);

  // drag the library-wide scrubber to the very bottom
  const scrubber = page.getByTestId('grid-scrubber');
  const box = (await scrubber.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + 5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height + 50, { steps: 5 });
  await page.mouse.up();
  await expect(page.locator('[data-testid="grid-cell"][data-name="IMG_039999.jpg"]')).toBeVisible(); // the oldest comes last
  const scroller = page.getByTestId('grid-scroller');
  const height = await scroller.evaluate((el) => el.scrollHeight);
  expect(height).toBeLessThan(16_000_000);

  // and scrolling by wheel from the middle keeps moving through segment boundaries
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.move(250, 400);
  const before = await page.locator('[data-testid="grid-cell"]').first().getAttribute('data-name');
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, 4000);
  await expect.poll(async () => page.locator('[data-testid="grid-cell"]').first().getAttribute('data-name')).not.toBe(before);
});
