#!/usr/bin/env node
// Upload throughput of the browser's sync engine (issue 18) against a raw HTTP PUT of the same
// bytes, both from the same headless Chromium page, on loopback. Target: engine / raw >= 0.8.
//
//   node scripts/bench_sync_upload.mjs [--originals 5] [--mb 40] [--rounds 5] [--port 8745]
//
// Each round: a fresh backend on an empty data folder (no blob is there yet), a fresh browser
// profile seeded with `--originals` records, each with an original of `--mb` MB of distinct random
// bytes (its record's hash is their SHA-256, as an import's is), and sync off. Then, in the
// round's order (ABBA over the rounds):
// - engine: sync turned on and the page reloaded; the engine pushes the records and uploads the
//   originals as it does for any library (HEAD for the offset, 8 MB Content-Range pieces, verified
//   on the server). Its time: from the first request that carries an original's bytes to the end
//   of the last one (the records and thumbnails pushed before are not counted: they are not the
//   bytes compared), read from Chromium's own request timings.
// - raw: the page reads the same blobs back from IndexedDB and PUTs each in one request, one after
//   the other, to scripts/lib/raw_sink.py (the same HTTP server configuration as `python -m
//   atelier`, writing the body to a file and fsyncing): nothing of
//   the library (no hashing, no pieces, no rename). Its time: the first request's start to the
//   last one's end, the page's clock. Then the same two at a time, as the engine sends originals
//   (reported beside the target: what the engine's own concurrency gains).
// The figure is the median over rounds of (raw time / engine time): the engine's share of the raw
// rate. Needs the built UI in dist/ and Chromium (/usr/bin/chromium or $CHROMIUM).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { chromium } from 'playwright-core';
import { seedLibrary, seedOriginals } from './lib/seed.mjs';
import { ROOT, arg, median } from './lib/tiny-backend.mjs';

const COUNT = Number(arg('originals', '5'));
const MB = Number(arg('mb', '40'));
const ROUNDS = Number(arg('rounds', '5'));
const PORT = Number(arg('port', process.env.BENCH_UPLOAD_PORT ?? '8745'));
const RAW_PORT = PORT + 1;
const log = (...a) => console.error('[bench-upload]', ...a);
const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';
const pythonPath = [join(ROOT, 'backend'), process.env.PYTHONPATH].filter(Boolean).join(delimiter);


async function up(url) {
  for (let i = 0; i < 600; i++) {
    try {
      await fetch(url, { method: 'OPTIONS' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not start`);
}

async function round(browser, order) {
  const data = mkdtempSync(join(tmpdir(), 'atelier-bench-upload-'));
  const sinkDir = mkdtempSync(join(tmpdir(), 'atelier-bench-upload-raw-'));
  const env = { ...process.env, PYTHONPATH: pythonPath, ATELIER_PORT: String(PORT), ATELIER_HOST: '127.0.0.1', ATELIER_DATA_DIR: data, ATELIER_MODELS: 'tiny', ATELIER_MODELS_DIR: join(data, 'models'), ATELIER_UI_DIR: join(ROOT, 'dist'), ATELIER_LOG_LEVEL: 'warning' };
  const server = spawn(python, ['-m', 'atelier'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const sink = spawn(python, [join(ROOT, 'scripts/lib/raw_sink.py'), String(RAW_PORT), sinkDir], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${PORT}`;
  const raw = `http://127.0.0.1:${RAW_PORT}/raw`;
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  try {
    await up(`${base}/v1/library`);
    await up(raw);
    const page = await context.newPage();
    await page.addInitScript(() => {
      if (localStorage.getItem('atelier.bench.init')) return;
      localStorage.setItem('atelier.bench.init', '1');
      localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' }));
      localStorage.setItem('atelier.first-run.hidden.v1', '1');
      localStorage.setItem('atelier.settings.v1', JSON.stringify({ autoAnalyze: false }));
    });
    await page.goto(base);
    await page.evaluate(seedLibrary, { n: COUNT });
    await page.evaluate(seedOriginals, { count: COUNT, bytes: MB << 20 });
    const hashes = new Set(await page.evaluate(async (n) => {
      const db = await new Promise((res) => { const r = indexedDB.open('atelier-meta'); r.onsuccess = () => res(r.result); });
      const os = db.transaction('meta').objectStore('meta');
      const all = await new Promise((res) => { const r = os.getAll(); r.onsuccess = () => res(r.result); });
      return all.slice(0, n).map((rec) => rec.hash);
    }, COUNT));

    const times = {};
    for (const side of order) {
      if (side === 'engine') {
        const spans = [];
        const onDone = (req) => {
          const m = /\/v1\/library\/blobs\/([0-9a-f]{64})/.exec(req.url());
          if (!m || !hashes.has(m[1]) || req.method() !== 'PUT') return;
          const t = req.timing();
          spans.push([t.startTime + Math.max(0, t.requestStart), t.startTime + t.responseEnd]);
        };
        page.on('requestfinished', onDone);
        await page.evaluate(() => localStorage.setItem('atelier.sync', JSON.stringify({ enabled: true, originals: 'recent' })));
        await page.reload();
        // done when the server holds every original (a HEAD answers its full size)
        for (let i = 0; ; i++) {
          const have = await Promise.all([...hashes].map(async (h) => (await fetch(`${base}/v1/library/blobs/${h}`, { method: 'HEAD' })).status === 200));
          if (have.every(Boolean)) break;
          if (i > 1200) throw new Error('the engine did not upload every original in 120 s');
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 300)); // the last requestfinished event
        page.off('requestfinished', onDone);
        times.engine = Math.max(...spans.map((s) => s[1])) - Math.min(...spans.map((s) => s[0]));
        times.enginePieces = spans.length;
        await page.evaluate(() => localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' })));
        await page.reload();
      } else {
        Object.assign(times, await page.evaluate(async ({ n, url }) => {
          const db = await new Promise((res) => { const r = indexedDB.open('atelier-originals'); r.onsuccess = () => res(r.result); });
          const os = db.transaction('originals').objectStore('originals');
          const blobs = (await new Promise((res) => { const r = os.getAll(); r.onsuccess = () => res(r.result); })).slice(0, n);
          const send = async (b) => {
            const r = await fetch(url, { method: 'PUT', body: b, headers: { 'content-type': 'application/octet-stream' } });
            if (r.status !== 201) throw new Error(`raw PUT: ${r.status}`);
          };
          // one after the other, and two at a time as the engine sends originals
          let t0 = performance.now();
          for (const b of blobs) await send(b);
          const raw = performance.now() - t0;
          t0 = performance.now();
          const queue = [...blobs];
          await Promise.all([0, 1].map(async () => { for (let b; (b = queue.shift()); ) await send(b); }));
          return { raw, raw2: performance.now() - t0 };
        }, { n: COUNT, url: raw }));
      }
    }
    return times;
  } finally {
    await context.close();
    server.kill('SIGTERM');
    sink.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(data, { recursive: true, force: true });
    rmSync(sinkDir, { recursive: true, force: true });
  }
}

if (!existsSync(join(ROOT, 'dist', 'index.html'))) throw new Error('build the UI first (npm run build)');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const rounds = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const t = await round(browser, r % 2 === 0 ? ['engine', 'raw'] : ['raw', 'engine']);
    log(`round ${r + 1}/${ROUNDS}: engine ${Math.round(t.engine)} ms (${t.enginePieces} requests), raw ${Math.round(t.raw)} ms, raw two at a time ${Math.round(t.raw2)} ms`);
    rounds.push(t);
  }
} finally {
  await browser.close();
}
const ratio = median(rounds.map((t) => t.raw / t.engine));
const mbTotal = COUNT * MB;
const result = {
  benchmark: 'sync_upload',
  originals: COUNT,
  mbEach: MB,
  rounds: rounds.map((t) => ({ engineMs: Math.round(t.engine), rawMs: Math.round(t.raw), raw2InFlightMs: Math.round(t.raw2), engineRequests: t.enginePieces })),
  engineMBps: Math.round((mbTotal / (median(rounds.map((t) => t.engine)) / 1000)) * 10) / 10,
  rawMBps: Math.round((mbTotal / (median(rounds.map((t) => t.raw)) / 1000)) * 10) / 10,
  engine_over_raw: Math.round(ratio * 1000) / 1000,
  // the engine uploads two originals at a time: the same against raw PUTs two at a time
  engine_over_raw_2_in_flight: Math.round(median(rounds.map((t) => t.raw2 / t.engine)) * 1000) / 1000,
  target: '>= 0.8',
  pass: ratio >= 0.8,
};
console.log(JSON.stringify(result, null, 2));
