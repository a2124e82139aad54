#!/usr/bin/env node
// Fresh-browser sync benchmark (issue 18), in headless Chromium against the real backend: a
// server library of N images (records + distinct thumbnails, seeded on disk), a browser profile
// with nothing in it. Measures, from navigation: the first painted thumbnail in the grid
// (target <= 2 s) and the whole library's metadata and thumbnails in IndexedDB (reported).
// Prints one JSON object on stdout (scripts/bench.py reads it).
//
//   node scripts/bench_sync.mjs [--n 10000] [--port 8741]
//
// Needs the built UI in dist/ (`make bench` builds first) and Chromium (/usr/bin/chromium or $CHROMIUM).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const N = Number(arg('n', '10000'));
const PORT = Number(arg('port', process.env.BENCH_SYNC_PORT ?? '8741'));
const log = (...a) => console.error('[bench-sync]', ...a);
const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';

const data = mkdtempSync(join(tmpdir(), 'atelier-bench-sync-'));
const models = mkdtempSync(join(tmpdir(), 'atelier-bench-sync-models-'));
log(`seeding ${N} records and thumbnails`);
execFileSync(python, [join(ROOT, 'scripts/lib/seed_server_library.py'), data, String(N)], { stdio: 'inherit' });

const server = spawn(python, ['-m', 'atelier'], {
  cwd: ROOT,
  env: { ...process.env, PYTHONPATH: join(ROOT, 'backend'), ATELIER_PORT: String(PORT), ATELIER_HOST: '127.0.0.1', ATELIER_DATA_DIR: data, ATELIER_MODELS_DIR: models, ATELIER_UI_DIR: join(ROOT, 'dist'), ATELIER_LOG_LEVEL: 'warning' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${PORT}`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/v1/library`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 600) throw new Error('the backend did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  // the page's own clock: time from navigation start to the first thumbnail that loaded in a cell
  await page.addInitScript(() => {
    const w = window;
    new MutationObserver(() => {
      if (w.__firstThumb === undefined && document.querySelector('[data-testid="grid-cell"] img[data-loaded]')) w.__firstThumb = performance.now();
    }).observe(document, { subtree: true, attributes: true, childList: true, attributeFilter: ['data-loaded'] });
  });
  await page.goto(base);
  await page.waitForFunction(() => window.__firstThumb !== undefined, null, { timeout: 120_000, polling: 50 });
  const firstThumbMs = await page.evaluate(() => window.__firstThumb);
  log(`first thumbnail at ${Math.round(firstThumbMs)} ms`);
  const timeline = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/')).slice(0, 8).map((e) => `${e.name.replace(location.origin, '').slice(0, 50)} ${Math.round(e.startTime)}-${Math.round(e.responseEnd)}`));
  log(timeline.join('\n'));
  await page.waitForFunction((n) => window.__atelier?.library.getState().byId.size === n, N, { timeout: 600_000, polling: 200 });
  const allRecordsMs = await page.evaluate(() => performance.now());
  // all thumbnails are in IndexedDB once every record is (a record is committed after its thumbnail)
  const thumbs = await page.evaluate(() => new Promise((res) => {
    const open = indexedDB.open('atelier-thumbs');
    open.onsuccess = () => {
      const c = open.result.transaction('thumbs').objectStore('thumbs').count();
      c.onsuccess = () => res(c.result);
    };
  }));
  log(`all ${N} records at ${Math.round(allRecordsMs)} ms (${thumbs} thumbnails)`);
  await browser.close();
  const result = { images: N, firstThumbMs: Math.round(firstThumbMs), allMetadataAndThumbsMs: Math.round(allRecordsMs), thumbnails: thumbs, targets: { firstThumb_le_2000ms: firstThumbMs <= 2000, allThumbs: thumbs === N } };
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.targets.firstThumb_le_2000ms && result.targets.allThumbs ? 0 : 1;
} finally {
  server.kill('SIGTERM');
  rmSync(data, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
}
