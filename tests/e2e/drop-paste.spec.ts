/// <reference lib="dom" />
import { expect, test } from '@playwright/test';
import { makePng } from './fixtures';

test('imports dropped and pasted files, and the loupe zooms with the wheel', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('empty-library')).toBeVisible();
  const b64 = [makePng(400, 300, 5), makePng(300, 300, 6), makePng(320, 240, 7)].map((b) => b.toString('base64'));

  // drag-and-drop two files onto the window
  await page.evaluate(([a, b]) => {
    const file = (s: string, name: string) => new File([Uint8Array.from(atob(s), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
    const dt = new DataTransfer();
    dt.items.add(file(a!, 'dropped-1.png'));
    dt.items.add(file(b!, 'dropped-2.png'));
    for (const type of ['dragenter', 'dragover', 'drop']) window.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, b64);
  await expect(page.getByTestId('grid-cell')).toHaveCount(2);
  await page.getByTestId('import-dismiss').click();

  // paste an image from the clipboard
  await page.evaluate(([, , c]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(c!), (ch) => ch.charCodeAt(0))], 'image.png', { type: 'image/png' }));
    window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, b64);
  await expect(page.getByTestId('grid-cell')).toHaveCount(3);
  await expect(page.locator('[data-testid="grid-cell"][data-name^="pasted-"]')).toHaveCount(1);

  // loupe: wheel zooms at the cursor, double-click returns to fit
  await page.locator('[data-testid="grid-cell"][data-name="dropped-1.png"]').dblclick();
  await expect(page.locator('[data-testid="loupe"][data-loaded="true"]')).toBeVisible();
  const fitLevel = await page.getByTestId('zoom-level').textContent();
  const canvas = page.getByTestId('loupe-canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -400);
  await expect(page.getByTestId('zoom-level')).not.toHaveText(fitLevel!);
  await canvas.dblclick();
  await expect(page.getByTestId('zoom-level')).toHaveText(fitLevel!);
  await page.getByTestId('zoom-100').click();
  await expect(page.getByTestId('zoom-level')).toHaveText('100%');
});
