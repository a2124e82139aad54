// LoRA screens (issue 20) against a backend with LoRAs in ATELIER_LORAS_DIR:
//   node scripts/screenshots_lora.mjs [baseURL] [outDir]
// Imports an A1111 PNG whose `Lora hashes` name a LoRA installed here under another file name and one
// that is not installed, reuses its parameters, picks a LoRA with a trigger chip, then the Status page;
// at 1440x900 and 390x844.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { png } from './lib/fixtures.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:8740';
const out = process.argv[3] ?? 'test-results/screenshots-lora';
mkdirSync(out, { recursive: true });

const models = await (await fetch(`${base}/v1/models`)).json();
const ink = models.data.find((m) => m.id === 'ink');
const params = `a harbour at dawn <lora:inkwash_v1:0.8> <lora:missing_one:0.5>
Negative prompt: blurry
Steps: 2, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 64x64, Model: tiny-sdxl, Lora hashes: "inkwash_v1: ${ink.lora.short_hash}, missing_one: 123456789abc", Version: v1.9.4`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
for (const [tag, viewport] of [['desktop', { width: 1440, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
  const context = await browser.newContext({ viewport, ...(tag === 'phone' ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.stack));
  await page.goto(base);
  await page.getByTestId('empty-library').waitFor();
  await page.locator('[data-testid=file-input]').first().setInputFiles([{ name: 'a1111-with-loras.png', mimeType: 'image/png', buffer: png(640, 480, 3, { parameters: params }) }]);
  await page.locator('[data-name="a1111-with-loras.png"]').waitFor({ timeout: 30_000 });
  if (tag === 'phone') await page.locator('[data-name="a1111-with-loras.png"]').click();
  else await page.locator('[data-name="a1111-with-loras.png"]').dblclick();
  if (tag === 'phone') {
    // The phone layout keeps the details (and their Reuse button) behind the menu.
    await page.getByTestId('menu-toggle').click();
    await page.getByTestId('menu-info').click();
  }
  await page.getByText('Reuse parameters').first().click();
  await page.getByTestId('lora-notice').waitFor();
  const prompt = await page.getByTestId('prompt-input').inputValue();
  const notice = await page.getByTestId('lora-notice').textContent();
  console.log(tag, 'reused prompt:', JSON.stringify(prompt), '| notice:', notice);
  await page.getByTestId('lora-search').fill('film');
  await page.getByTestId('lora-option').first().click();
  await page.getByTestId('lora-trigger').first().click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${out}/lora-prompt-${tag}.png`, fullPage: tag === 'phone' });
  await page.getByTestId('prompt-submit').click();
  await page.locator('[data-testid="generation-job"][data-phase="done"]').first().waitFor({ timeout: 120_000 });
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  if (tag === 'phone') {
    await page.getByTestId('menu-toggle').click();
    await page.getByTestId('menu-nav-status').click();
  } else await page.getByTestId('nav-status').first().click();
  await page.getByTestId('status-loras').waitFor();
  if (await page.getByTestId('import-dismiss').isVisible()) await page.getByTestId('import-dismiss').click();
  await page.getByTestId('status-loras').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(800);
  await page.screenshot({ path: `${out}/lora-status-${tag}.png` });
  await context.close();
}
await browser.close();
