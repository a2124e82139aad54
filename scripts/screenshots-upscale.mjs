// Screenshots of the Upscale tab (issue 21) at desktop and phone sizes, against a backend serving the
// UI with ATELIER_MODELS=tiny: node scripts/screenshots-upscale.mjs [baseURL] [outDir]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { png, A1111_PARAMS } from './lib/fixtures.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const out = process.argv[3] ?? 'test-results/screenshots';
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

for (const [name, viewport] of [['desktop', { width: 1440, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
  const context = await browser.newContext({ viewport, ...(name === 'phone' ? { isMobile: true, hasTouch: true } : {}) });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.stack));
  await page.goto(base);
  await page.getByTestId('empty-library').waitFor();
  const input = page.locator('[data-testid=file-input]').first();
  await input.setInputFiles([{ name: 'IMG_2000.png', mimeType: 'image/png', buffer: png(160, 120, 3, { parameters: A1111_PARAMS }) }]);
  await page.locator('[data-testid="import-progress"][data-finished="true"]').waitFor({ timeout: 60_000 });
  await page.getByTestId('grid-cell').first().click();
  if (name === 'desktop') await page.keyboard.press('Enter');
  else await page.getByTestId('grid-cell').first().click();
  await page.waitForTimeout(500);
  const action = page.getByTestId('info-upscale');
  if (!(await action.isVisible())) await page.keyboard.press('i');
  await action.click();
  await page.getByTestId('upscale-panel').waitFor();
  await page.getByTestId('upscale-enhance').check();
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}/upscale-${name}.png` });
  await page.getByTestId('prompt-submit').click();
  await page.getByText(/tile \d+ of \d+|tiles done/).first().waitFor({ timeout: 120_000 });
  await page.screenshot({ path: `${out}/upscale-${name}-progress.png` });
  await page.getByTestId('upscale-panel').locator('[data-testid=generation-job][data-phase=done]').waitFor({ timeout: 300_000 });
  await page.screenshot({ path: `${out}/upscale-${name}-done.png` });
  await context.close();
}
await browser.close();
