#!/usr/bin/env node
// Embedding throughput through the UI's indexing lane against direct /v1/embeddings calls, on the
// same backend, model and images: the lane's overhead ratio (target <= 1.1, issue 19).
//
//   node scripts/bench_embed.mjs [--images 96] [--rounds 15] [--out file.json]
//
// The lane embeds each image's thumbnail (384 px WebP, as a data URL), 16 per call, two calls in
// flight (embed-lane.ts). The direct runs send the very same thumbnails (read back from the page's
// IndexedDB after the first UI round) in batches of 16, base64 asked as the lane does, one call
// after the other: that is the figure's baseline. The UI's time is the page's own clock, from the
// import's end (the lane holds while an import runs; or its first call, if that came first) to the
// last vector stored in IndexedDB: each time the search worker announces a stored batch (its
// BroadcastChannel, after the write) the page asks it whether any image still lacks a vector of
// the model. So the UI's time holds everything a user waits on after the import (which images
// lack a vector, reading and encoding their thumbnails, the calls, quantizing and storing), the
// direct time only the calls. Rounds in ABBA order, each run after a pause of --settle-ms (500):
// without it the UI run's page teardown (its browser context and storage) slowed whichever direct
// run came next, by up to a third, which flattered the UI in half the rounds. The figure is the
// median of the rounds' UI/direct ratios, over 15 rounds: single rounds range from 0.85 to 1.4 on
// the 2 shared cores, and the median of 9 moved between 1.07 and 1.15 from one run to the next. Also reported: the UI's time from its first call (without finding and reading
// the first batch), and direct calls with two in flight as the lane sends them
// (`direct_2_in_flight_*`), to tell the lane's own overhead from what overlapping calls gain.
//
// Starts its own backend (ATELIER_MODELS=tiny: the random-weight SigLIP `tiny-embed`, serving dist/:
// build first) unless BENCH_BASE_URL points at a running one. Chromium over a bare DevTools pipe.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { png } from './lib/fixtures.mjs';
import { launchChromium } from './lib/cdp-pipe.mjs';
import { ROOT, arg, benchBrowser, median, startTinyBackend, waitUp } from './lib/tiny-backend.mjs';

const N = Number(arg('images', '96'));
const ROUNDS = Number(arg('rounds', '15'));
const BATCH = 16;
const SETTLE_MS = Number(arg('settle-ms', '500'));
const MODEL = 'tiny-embed';
const PORT = Number(process.env.BENCH_PORT ?? 8094);
const log = (...a) => console.error('[bench-embed]', ...a);

const { base: BASE, server } = startTinyBackend(PORT);

// Before any page script: auto-analysis off (only the lane talks to the backend); the import's end
// stamped with the page's clock; from then, the search worker asked whether any image still lacks
// a vector each time it announces a stored batch (and every 250 ms, in case a batch was announced
// before the library held every record); window.__done resolves with the span.
const INIT_SCRIPT = `
  localStorage.setItem('atelier.settings.v1', JSON.stringify({ autoAnalyze: false }));
  // sync off: the backend keeps the library between rounds, and a round's fresh browser would pull
  // the last round's images (and then skip its own imports of the same pixels as duplicates)
  localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' }));
  window.__done = new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      if (!document.querySelector('[data-testid="import-progress"][data-finished="true"]')) return;
      seen.disconnect();
      const t0 = performance.now();
      let over = false;
      const check = async () => {
        if (over) return;
        const ids = [...window.__atelier.library.getState().byId.keys()];
        // until the library holds all N records (the import panel can say finished first), not done
        const missing = ids.length === ${N} ? await window.__atelier.vectorIndex()({ op: 'missing', model: '${MODEL}', ids }) : [null];
        if (missing.length === 0 && !over) {
          over = true;
          const end = performance.now();
          news.close();
          clearInterval(slow);
          // the lane may send its first call before the import's panel says finished: start there then
          const entries = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/v1/embeddings'));
          const first = Math.min(...entries.map((e) => e.startTime));
          const zero = Math.min(t0, first);
          // where the span went: each call's start and end, and the last store, from the span's start
          const timeline = { calls: entries.map((e) => [Math.round(e.startTime - zero), Math.round(e.responseEnd - zero)]), end: Math.round(end - zero) };
          resolve({ ms: end - zero, fromFirstCall: end - first, timeline });
        }
      };
      // the search worker's news of a stored batch (sent after its IndexedDB write)
      const news = new BroadcastChannel('atelier-vectors');
      news.onmessage = (e) => { if (e.data && e.data.op === 'put') void check(); };
      const slow = setInterval(check, 250);
      void check();
    });
    seen.observe(document, { subtree: true, childList: true, attributes: true });
  });`;

// The thumbnails as the lane sends them (lib/api blobToDataUrl), from the page's IndexedDB.
const READ_THUMBS = `(async () => {
  const db = await new Promise((ok, no) => { const r = indexedDB.open('atelier-thumbs'); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const blobs = await new Promise((ok, no) => { const r = db.transaction('thumbs').objectStore('thumbs').getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  db.close();
  return Promise.all(blobs.map((b) => new Promise((ok) => { const f = new FileReader(); f.onload = () => ok(f.result); f.readAsDataURL(b); })));
})()`;

try {
  await waitUp(BASE, 180_000);
  const images = Array.from({ length: N }, (_, i) => png(256, 192, i + 1));
  const { browser, files, cleanup } = benchBrowser(launchChromium, images);
  // warm up: the model loaded once, outside both measurements
  await fetch(`${BASE}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: ['warm up'] }) });

  let thumbs = null;
  const direct = [];
  const direct2 = [];
  const ui = [];
  const uiFromFirst = [];
  const calls = [];
  const timelines = [];
  const runUi = async () => {
    // a fresh origin storage each round: a new page on a cleared profile would share IndexedDB, so
    // the library is emptied first (the lane then has every image to embed again)
    const page = await browser.newPage({ width: 1360, height: 860, initScripts: [INIT_SCRIPT] });
    await page.goto(BASE);
    await page.evaluate(`Promise.all(['atelier-meta', 'atelier-thumbs', 'atelier-originals', 'atelier-vectors'].map((n) => new Promise((ok) => { const r = indexedDB.deleteDatabase(n); r.onsuccess = r.onerror = r.onblocked = () => ok(); })))`);
    await page.close();
    const fresh = await browser.newPage({ width: 1360, height: 860, initScripts: [INIT_SCRIPT] });
    await fresh.goto(BASE);
    await fresh.until(`document.querySelector('header [data-testid="file-input"]')`);
    await fresh.setFiles('header [data-testid="file-input"]', files);
    const { ms, fromFirstCall, timeline } = await fresh.evaluate(`Promise.race([window.__done, new Promise((_, no) => setTimeout(() => no(new Error('the lane never finished')), 600000))])`);
    uiFromFirst.push(fromFirstCall);
    timelines.push(timeline);
    calls.push(await fresh.evaluate(`performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/v1/embeddings')).length`));
    if (thumbs === null) thumbs = await fresh.evaluate(READ_THUMBS);
    await fresh.close();
    ui.push(ms);
  };
  const runDirect = async () => {
    const t0 = performance.now();
    for (let i = 0; i < thumbs.length; i += BATCH) {
      const res = await fetch(`${BASE}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: thumbs.slice(i, i + BATCH), encoding_format: 'base64' }) });
      if (!res.ok) throw new Error(`direct batch failed: ${res.status} ${await res.text()}`);
      await res.json();
    }
    direct.push(performance.now() - t0);
  };
  // the same calls, two in flight (as the lane sends them): reported, not the figure's baseline
  const runDirect2 = async () => {
    const t0 = performance.now();
    let next = 0;
    const runner = async () => {
      while (next < thumbs.length) {
        const batch = thumbs.slice(next, (next += BATCH));
        const res = await fetch(`${BASE}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, input: batch, encoding_format: 'base64' }) });
        if (!res.ok) throw new Error(`direct batch failed: ${res.status} ${await res.text()}`);
        await res.json();
      }
    };
    await Promise.all([runner(), runner()]);
    direct2.push(performance.now() - t0);
  };
  await runUi(); // the first UI round also reads the thumbnails the direct runs send (not counted)
  ui.length = 0;
  uiFromFirst.length = 0;
  calls.length = 0;
  timelines.length = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // each run starts on a settled machine: the UI round's page teardown (its browser context and
    // storage) kept Chromium busy for a while, and slowed whichever direct run came next
    const settled = (run) => async () => {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      await run();
    };
    const order = round % 2 === 0 ? [runDirect, runUi, runDirect2] : [runDirect2, runUi, runDirect];
    for (const run of order) await settled(run)();
    log(`round ${round + 1}: direct ${Math.round(direct.at(-1))} ms, ui ${Math.round(ui.at(-1))} ms, direct 2 in flight ${Math.round(direct2.at(-1))} ms; ui calls ${JSON.stringify(timelines.at(-1))}`);
  }
  await browser.close();
  cleanup();
  const result = {
    benchmark: 'embedding throughput: indexing lane vs direct /v1/embeddings',
    images: N,
    rounds: ROUNDS,
    batch: BATCH,
    thumbnail_bytes_mean: Math.round(thumbs.reduce((s, t) => s + t.length, 0) / thumbs.length),
    direct_runs_ms: direct.map(Math.round),
    ui_runs_ms: ui.map(Math.round),
    // the same runs from the lane's first call (not the import's end) to the last vector stored
    ui_from_first_call_runs_ms: uiFromFirst.map(Math.round),
    ratio_from_first_call: +median(uiFromFirst.map((u, i) => u / direct[i])).toFixed(3),
    ui_calls_per_run: calls,
    ui_calls_in_flight: 2,
    // the median UI round's calls ([start, end] ms) and last store, from the import's end
    ui_timeline_median_round: timelines[ui.indexOf([...ui].sort((a, b) => a - b)[Math.floor(ui.length / 2)])],
    direct_2_in_flight_runs_ms: direct2.map(Math.round),
    direct_images_per_s: +(N / (median(direct) / 1000)).toFixed(1),
    ui_images_per_s: +(N / (median(ui) / 1000)).toFixed(1),
    overhead_ratio: +median(ui.map((u, i) => u / direct[i])).toFixed(3),
    ratio_of_medians: +(median(ui) / median(direct)).toFixed(3),
    ratio_vs_direct_2_in_flight: +median(ui.map((u, i) => u / direct2[i])).toFixed(3),
    target: '<= 1.1',
    model: `${MODEL} (ATELIER_MODELS=tiny)`,
  };
  console.log(JSON.stringify(result, null, 2));
  const out = arg('out');
  if (out) writeFileSync(resolve(ROOT, out), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  server?.kill('SIGTERM');
}
