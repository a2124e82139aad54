/// <reference lib="dom" />
// A first run (issue 15): the real catalog on an empty models folder and an empty, offline
// Hugging Face cache, as `make start` on a new machine serves it. The library says what to
// download and how big it is, Generate and Analyse say why they cannot run, and imports wait for
// a vision model instead of failing. Set E2E_FIRST_RUN_PORT to move its backend.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { makePng } from './fixtures';
import { tinyBackend } from './tiny-backend';

const empty = mkdtempSync(join(tmpdir(), 'atelier-e2e-first-run-'));
const server = tinyBackend({
  port: Number(process.env.E2E_FIRST_RUN_PORT ?? 8096),
  name: 'first-run',
  env: { ATELIER_MODELS: 'real', ATELIER_MODELS_DIR: join(empty, 'models'), HF_HOME: join(empty, 'hf'), HF_HUB_OFFLINE: '1' },
});

test.describe.configure({ mode: 'serial', timeout: 180_000 });
test.beforeAll(async () => {
  test.setTimeout(180_000);
  await server.start();
});
test.afterAll(() => server.kill());

const HINT = (id: string) => `model '${id}' is not downloaded: press Download next to it on the Status page, or run: make models MODELS=${id}`;

test('a first run says what to download, disables Generate and Analyse with the reason, and imports wait', async ({ page }) => {
  await page.goto(server.base);
  const panel = page.getByTestId('first-run');
  await expect(panel).toBeVisible({ timeout: 30_000 });
  const gen = panel.locator('[data-testid="first-run-model"][data-model="sdxl-realism"]');
  const vision = panel.locator('[data-testid="first-run-model"][data-model="moondream-2"]');
  await expect(gen.getByTestId('first-run-size')).toHaveText(/about 6\.\d GB/);
  await expect(vision.getByTestId('first-run-size')).toHaveText(/about 3\.\d GB/);
  await expect(gen.getByTestId('first-run-hint')).toHaveText(HINT('sdxl-realism'));

  // Generate: disabled, with the same words.
  await page.getByTestId('new-image').click();
  await expect(page.getByTestId('prompt-blocked')).toHaveText(HINT('sdxl-realism'));
  await page.getByTestId('prompt-input').fill('a lighthouse');
  await expect(page.getByTestId('prompt-submit')).toBeDisabled();
  await page.keyboard.press('Escape');

  // Imports are analysed automatically: the queue waits for a vision model, nothing fails.
  const files = [0, 1, 2].map((i) => ({ name: `first-${i}.png`, mimeType: 'image/png', buffer: makePng(64 + i * 8, 48, i + 3) }));
  await page.locator('[data-testid="file-input"]').first().setInputFiles(files);
  await expect(page.locator('[data-testid="import-progress"][data-finished="true"]')).toBeVisible();
  await page.getByTestId('import-dismiss').click().catch(() => undefined);
  const indicator = page.getByTestId('analysis-indicator');
  await expect(indicator).toContainText('Waiting for a vision model', { timeout: 30_000 });
  await expect(indicator).not.toContainText('failed');
  await indicator.click();
  await expect(page.getByTestId('analysis-reason')).toContainText(HINT('moondream-2'));
  await page.keyboard.press('Escape');

  // Analyse on a selection: disabled, with the reason.
  await page.getByTestId('grid-cell').first().click();
  await expect(page.getByTestId('analyze-selection')).toBeDisabled();
  await expect(page.getByTestId('analyze-selection')).toHaveAttribute('title', HINT('moondream-2'));

  // Download shows its progress, or (offline here) why it failed, in the panel.
  await vision.getByTestId('first-run-download').click();
  await expect(vision.getByTestId('download-error')).toContainText(/hub|offline|reach/i, { timeout: 30_000 });

  await panel.getByTestId('first-run-status').click();
  await expect(page.getByTestId('status-models')).toBeVisible();
});
