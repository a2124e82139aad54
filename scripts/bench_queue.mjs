#!/usr/bin/env node
// Analysis throughput through the UI's queue against direct /v1/analyze/batch calls, on the same
// backend, model and images: the queue's overhead ratio (target <= 1.1).
//
//   node scripts/bench_queue.mjs [--images 32] [--rounds 5] [--out docs/bench-queue.json]
//
// The tiny random-weight VLM writes garbage of varying length and a batch lasts as long as its
// longest caption, and 2 shared cores add their own noise: rounds (5) alternate direct and UI and
// the medians count. The UI's time is taken by the page's clock, click to "N of N analysed";
// ui_wall_runs_ms adds Playwright's own latency around both ends, and ui_breakdown shows where the
// UI's time went (click to first request, the calls, last response to done).
//
// Starts its own backend (ATELIER_MODELS=tiny, serving dist/ or ATELIER_UI_DIR: build first) unless
// BENCH_BASE_URL points at a running one. Chromium: /usr/bin/chromium via playwright-core.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { png } from './lib/fixtures.mjs';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('images', '32'));
const ROUNDS = Number(arg('rounds', '5'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const BATCH = 16;
const PORT = Number(process.env.BENCH_PORT ?? 8098);
const BASE = process.env.BENCH_BASE_URL ?? `http://127.0.0.1:${PORT}`;


async function waitUp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/v1/models`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no backend at ${url}`);
}

let server;
if (!process.env.BENCH_BASE_URL) {
  const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';
  server = spawn(python, ['-m', 'atelier'], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: join(ROOT, 'backend'), ATELIER_MODELS: 'tiny', ATELIER_PORT: String(PORT), ATELIER_DATA_DIR: mkdtempSync(join(tmpdir(), 'atelier-bench-')), ATELIER_LOG_LEVEL: 'warning' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

try {
  await waitUp(BASE, 180_000);
  const images = Array.from({ length: N }, (_, i) => png(256, 192, i + 1));
  const dataUrls = images.map((b) => `data:image/png;base64,${b.toString('base64')}`);

  // Warm up: load the vision model once, outside both measurements.
  await fetch(`${BASE}/v1/analyze/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: dataUrls.slice(0, 1) }) });

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const direct = [];
  const ui = [];
  const uiWall = [];
  // where the UI's time goes, per round: click -> first request, the calls, last response -> "N of N"
  const breakdown = [];
  for (let round = 0; round < ROUNDS; round++) {
    // 1. Direct: batches of 16, one after the other (the backend runs one job at a time anyway).
    const t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const res = await fetch(`${BASE}/v1/analyze/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: dataUrls.slice(i, i + BATCH) }) });
      if (!res.ok) throw new Error(`direct batch failed: ${res.status} ${await res.text()}`);
    }
    direct.push(performance.now() - t0);

    // 2. Through the UI (a fresh browser profile): import with auto-analysis off, select all,
    //    "Analyse", and time until the panel says N of N.
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    const page = await context.newPage();
    const calls = [];
    const starts = new Map();
    page.on('request', (req) => { if (req.url().includes('/v1/analyze')) starts.set(req, performance.now()); });
    page.on('requestfinished', (req) => {
      if (starts.has(req)) calls.push({ sent: starts.get(req), done: performance.now(), n: JSON.parse(req.postData() ?? '{}').images?.length ?? 0 });
    });
    await page.addInitScript(() => localStorage.setItem('atelier.settings.v1', JSON.stringify({ autoAnalyze: false })));
    // The page's own clock, from the click on "Analyse" to the DOM saying N of N: Playwright's
    // actionability checks before a click and its polling after (0.3-0.5 s here) are not the app's.
    await page.addInitScript((n) => {
      document.addEventListener('click', (e) => {
        if (e.target instanceof Element && e.target.closest('[data-testid="analyze-selection"]')) window.__clickAt = performance.now();
      }, true);
      new MutationObserver(() => {
        if (window.__doneAt === undefined && document.querySelector('[data-testid="analysis-progress"]')?.textContent?.includes(`${n} of ${n} analysed`)) {
          window.__doneAt = performance.now();
        }
      }).observe(document, { subtree: true, childList: true, characterData: true });
    }, N);
    await page.goto(BASE);
    await page.locator('header [data-testid="file-input"]').setInputFiles(images.map((buffer, i) => ({ name: `bench-${i}.png`, mimeType: 'image/png', buffer })));
    await page.locator('[data-testid="import-progress"][data-finished="true"]').waitFor({ timeout: 120_000 });
    await page.getByTestId('grid-cell').first().click();
    await page.keyboard.press('Control+a');
    const t1 = performance.now();
    await page.getByTestId('analyze-selection').click();
    await page.getByTestId('analysis-indicator').click();
    await page.getByTestId('analysis-progress').filter({ hasText: `${N} of ${N} analysed` }).waitFor({ timeout: 600_000 });
    const t2 = performance.now();
    const inPage = await page.evaluate(() => window.__doneAt - window.__clickAt);
    uiWall.push(t2 - t1);
    ui.push(inPage);
    await context.close();
    calls.sort((a, b) => a.sent - b.sent);
    const rel = (x) => Math.round(x - t1);
    breakdown.push({
      to_first_request_ms: calls.length ? rel(calls[0].sent) : null,
      calls: calls.map((c) => ({ n: c.n, sent: rel(c.sent), done: rel(c.done) })),
      last_response_to_done_ms: calls.length ? Math.round(t2 - Math.max(...calls.map((c) => c.done))) : null,
    });
    console.error(`round ${round + 1}: direct ${Math.round(direct.at(-1))} ms, ui ${Math.round(ui.at(-1))} ms`);
  }
  await browser.close();
  const directMs = median(direct);
  const uiMs = median(ui);

  const result = {
    benchmark: 'analysis queue overhead',
    images: N,
    rounds: ROUNDS,
    direct_batch_size: BATCH,
    direct_runs_ms: direct.map(Math.round),
    ui_runs_ms: ui.map(Math.round),
    ui_wall_runs_ms: uiWall.map(Math.round),
    direct_ms: Math.round(directMs),
    ui_queue_ms: Math.round(uiMs),
    direct_images_per_s: +(N / (directMs / 1000)).toFixed(3),
    ui_images_per_s: +(N / (uiMs / 1000)).toFixed(3),
    overhead_ratio: +(uiMs / directMs).toFixed(3),
    median_of_round_ratios: +median(ui.map((u, i) => u / direct[i])).toFixed(3),
    ui_breakdown: breakdown,
    target: '<= 1.1',
    model: 'tiny-vlm (ATELIER_MODELS=tiny)',
  };
  console.log(JSON.stringify(result, null, 2));
  const out = arg('out');
  if (out) writeFileSync(resolve(ROOT, out), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  server?.kill('SIGTERM');
}
