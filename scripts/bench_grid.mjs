#!/usr/bin/env node
// Grid benchmark in headless Chromium (issue 6). Seeds synthetic libraries straight into
// IndexedDB and measures what a user feels. Prints one JSON summary on stdout.
//
//   node scripts/bench_grid.mjs [--base http://127.0.0.1:4173] [--sizes 1000,10000,50000,100000]
//                               [--scroll-seconds 10] [--import-files 144] [--import-rounds 3]
//                               [--dup-every 20] [--out bench-grid.json]
//                               [--compare none|sync|stacks] [--rounds 4] [--port 8742] [--originals 200]
//                               [--profile]
//
// Near-duplicate stacks are on (the default): every 20th seeded image is a re-encoded copy of
// the one before (a pHash 2 bits off), so 5% of the library collapses into stacks of two. Sync is
// off (see SYNC_OFF_INIT; --compare sync measures it on).
//
// Needs the built UI served at --base (`npx vite build && npx vite preview --port 4173`, or the
// backend on :8080). Chromium: /usr/bin/chromium or $CHROMIUM.
//
// --compare: the same grid figures (first painted thumbnails, scroll frame p95 / p99 and dropped
// frames, worst search, heap) with a feature off and on, at each --sizes, in --rounds paired
// rounds whose order alternates (ABBA: off on, on off, off on, on off), so that a slow or busy
// spell of the machine falls on both sides. The figures are the medians over the rounds of the
// per-round differences (on - off) or ratios (on / off). No import round in this mode.
//
//   sync (issue 18: "the grid figures unchanged with sync on"): the page is served by the real
//     backend (`python -m atelier` on --port, serving dist/, no models, an empty data folder of
//     its own). The local library is seeded with sync off; "on" turns sync on just before the
//     measured visit, so the engine starts with the page: a user with an existing library who
//     turns sync on, its worst case. In that visit the engine marks every record changed, hashes
//     and uploads every thumbnail, pushes the records in batches of 200, pulls them back, and
//     uploads the originals: the newest --originals records (default 200) get an original of
//     their own (1 MB of distinct bytes, its real SHA-256 as the record's hash), the others have
//     none (10k real originals would be GBs). Every run (both sides) gets a freshly started
//     backend on a new, empty data folder and a fresh browser context seeded anew: the server
//     library starts empty in each "on" run (the same work every time: nothing already
//     uploaded, nothing to pull from an earlier run), no local record carries the thumbnail hash
//     or stamps an earlier run's sync wrote, and a just-started backend weighs on both sides
//     alike. The backend shares this machine's cores with Chromium: on a home server apart from
//     the browser the "on" side would fare better, so the figures are pessimistic. Each "on" run
//     reports the sync indicator's phase and pending count at the scroll's start and end and the
//     /v1/library requests sent during the scroll: the comparison only counts when the engine was
//     at work while the grid scrolled (target `syncBusyDuringScroll`).
//   stacks (issue 19: "grid figures unchanged with stacks on, at 100k"): the user's setting (the
//     filter bar's "Stack duplicates", localStorage atelier.stacks) off vs on, served like the
//     plain benchmark (--base), sync off on both sides. One context is seeded once per size and
//     reused by every run (seeding 100k takes ~30 s; neither setting writes to the records).
//     Each run switches the setting, makes one visit that leaves the head cache in its order,
//     then the measured visit. With stacks off the app still computes the stacks in idle time
//     (only the collapse and the counts are skipped); both sides wait for that rebuild before
//     the scroll, so "off" is the user's setting, not a build without the feature.
//
// The targets say "unchanged" within what these figures resolve:
//   - p95 frame: on - off <= 16.7 ms (+ 0.5 ms timer jitter). rAF intervals come in whole
//     display frames (16.7, 33.3, 50 ms...), so a p95 moves by a frame or not at all; a one-frame
//     step is the smallest change it can show, and a run's p95 flips between neighbouring frames
//     with the machine's load alone.
//   - dropped frames: on - off <= 1% of the scroll's frames (6 in a 10 s scroll at 60 Hz): the
//     step of the p99 the section reports; reported as on/off too (all rounds' "on" over all
//     rounds' "off": a round's "off" is often 0).
//   - first painted thumbnails: on / off <= 1.1. The figure is a few hundred ms to a second
//     (two rAFs after the 12th decoded thumbnail, a frame's resolution); runs of one setting
//     spread by about a tenth here.
//   - worst search (the slowest of six queries, the library's own query time): on / off <= 1.1,
//     or on - off <= 5 ms. The worst of six jumps by a few ms between runs of one setting (0.5 to
//     4 ms at 2k here: a GC or a timer's task lands in one query or not), and 5 ms is a tenth of
//     the 50 ms the figure is held to (issue 6); at 100k the queries take tens of ms and the
//     ratio decides.
// Each run also reports the page's own work during the scroll (`mainThread`: long tasks, long
// animation frames and the scripts in them, by source file), steadier than frame figures when the
// machine is busy; --profile adds a sampling CPU profile of the main thread (`cpuProfile`: busy
// ms, ms by source file and line, inclusive ms under sync, the library store, the grid...). The
// profiler costs frames itself: read a profiled run's attribution, not its frame figures.
//
// Fewer rounds or a shorter scroll keep a comparison inside its time budget (scripts/bench.py
// runs 4 rounds of 8 s scrolls): the medians then rest on fewer pairs, and a shorter scroll has
// fewer frames to put in the p95 (480 at 8 s: still 24 past it).
import { chromium } from 'playwright-core';
import { ensurePreview } from './lib/preview.mjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { seedLibrary, seedOriginals } from './lib/seed.mjs';
import { ROOT, waitUp } from './lib/tiny-backend.mjs';
import { MAIN_THREAD_PROBE, mainThreadFigures, sourceMapper, startCpuProfile } from './lib/main-thread.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const compare = arg('compare', 'none');
if (!['none', 'sync', 'stacks'].includes(compare)) throw new Error(`--compare: none, sync or stacks, not ${compare}`);
const backendPort = Number(arg('port', process.env.BENCH_GRID_PORT ?? '8742'));
const base = compare === 'sync' ? `http://127.0.0.1:${backendPort}` : arg('base', process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:4173');
const sizes = arg('sizes', compare === 'sync' ? '10000' : compare === 'stacks' ? '100000' : '1000,10000,50000,100000').split(',').map(Number);
const scrollSeconds = Number(arg('scroll-seconds', '10'));
const importFiles = compare === 'none' ? Number(arg('import-files', '144')) : 0;
const importRounds = Number(arg('import-rounds', '3'));
const rounds = Number(arg('rounds', '4'));
const originals = Number(arg('originals', '200'));
const out = arg('out', '');
const dupEvery = Number(arg('dup-every', '20'));
// --profile: a sampling CPU profile of the main thread during each scroll (costs some frames
// itself: read its attribution, not the frame figures of such a run)
const profile = process.argv.includes('--profile');
const mapper = sourceMapper(join(ROOT, 'dist'));
const log = (...a) => console.error('[bench]', ...a);

// serve dist/ ourselves when nothing answers at --base (`make bench` builds first); with sync, a
// backend of our own serves it (started per run)
const stopServer = compare === 'sync' ? () => {} : await ensurePreview(base, log);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-precise-memory-info'],
});

// installed before any page script: notes when the first screen of thumbnails has painted
const FIRST_PAINT_PROBE = () => {
  const tick = () => {
    const imgs = [...document.querySelectorAll('[data-testid="grid-cell"] img')];
    const cells = document.querySelectorAll('[data-testid="grid-cell"]').length;
    const done = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
    if (cells > 0 && done >= Math.min(cells, 12)) {
      requestAnimationFrame(() => requestAnimationFrame(() => (window.__firstThumbs = performance.now())));
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
};

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};
// One 60 Hz display frame. rAF intervals of frames that were on time measure 16.6-16.8 ms here
// (the timestamps jitter by a tenth of a millisecond or two), so "p95 <= 16.7 ms" is read as a p95
// interval within half a millisecond of one display frame; a dropped frame measures 33.3 ms.
const ON_TIME_MS = 1000 / 60 + 0.5;

/** frame intervals counted per display frame they took (1 = on time, 2 = one frame dropped, ...) */
const histogram = (xs) => {
  const h = {};
  for (const x of xs) {
    const k = Math.max(1, Math.round(x / (1000 / 60)));
    h[k] = (h[k] ?? 0) + 1;
  }
  return h;
};
/** an interval longer than 1.5 display frames missed its vsync */
const DROPPED_MS = 1.5 * (1000 / 60);
/** when (ms from the scroll's start) each dropped frame ended */
const dropTimes = (xs) => {
  const at = [];
  let t = 0;
  for (const x of xs) {
    t += x;
    if (x > DROPPED_MS) at.push(Math.round(t));
  }
  return at;
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function heapMB(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  return round(usedSize / 1048576);
}

/** A fresh browser context (its own IndexedDB), the app loaded, `n` records seeded into it. */
async function seededPage(n, initScripts = []) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  for (const script of initScripts) await page.addInitScript(script);
  await page.addInitScript(FIRST_PAINT_PROBE);
  await page.addInitScript(MAIN_THREAD_PROBE);
  await page.goto(base);
  await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready');
  log(`seeding ${n}`);
  const seedMs = await page.evaluate(seedLibrary, { n, dupEvery });
  return { ctx, page, seedMs };
}

/** A visit that leaves the head cache (the first screen, in the current settings' order) behind. */
async function warmUp(page) {
  await page.reload();
  await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready', null, { timeout: 300_000 });
  // the session settles as a user's would before they come back: the stacks' rebuild (idle time,
  // ~1.4 s at 100k) done, then the head cache it reorders written (saveHead waits 1.5 s for the
  // last change). Left unwritten, the measured visit has no head: its first thumbnails wait for
  // the whole library (~1.8 s instead of ~0.2 s at 100k)
  await page.waitForFunction(() => { const st = window.__atelier.stacks?.getState(); return !st || (st.lastMs > 0 && !st.computing); }, null, { timeout: 120_000 }).catch(() => {});
  await page.waitForTimeout(2500);
}

/**
 * Sync off, set once per context: `vite preview` proxies /v1 to :8080 (preview.proxy defaults to
 * server.proxy), so with a backend running there the seeded library would upload itself into it.
 */
const SYNC_OFF_INIT = () => {
  if (localStorage.getItem('atelier.bench.sync-off')) return;
  localStorage.setItem('atelier.bench.sync-off', '1');
  localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' }));
};

async function benchSize(n) {
  const { ctx, page, seedMs } = await seededPage(n, [SYNC_OFF_INIT]);
  // first visit after seeding builds the head cache; the measured visit is a normal return visit
  await warmUp(page);
  const figures = await measureVisit(page, n);
  await ctx.close();
  return { n, seedMs: round(seedMs, 0), ...figures };
}

/**
 * The measured visit: a reload, then first painted thumbnails, scroll, heap, search, the last
 * image reachable. `requests` (optional): times (Date.now) of the page's /v1/library requests,
 * kept by the caller; the scroll's window is reported against them.
 */
async function measureVisit(page, n, requests) {
  await page.reload();
  await page.waitForFunction(() => window.__firstThumbs !== undefined, null, { timeout: 120_000 });
  await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready', null, { timeout: 300_000 });
  // the stacks are computed in idle time after the load: wait for them (the scroll then runs with
  // the collapsed order, as a user's would)
  // (a build without stacks, e.g. an older one measured for comparison, has no `stacks`)
  // (the last session's stacks show at once; the rebuild that follows is waited for too)
  // (stacks turned off by the user are still computed in idle time: waited for as well, or the
  // rebuild would land in the scroll of the "off" runs only)
  await page.waitForFunction(() => { const st = window.__atelier.stacks?.getState(); return !st || (st.lastMs > 0 && !st.computing); }, null, { timeout: 120_000 }).catch(() => {});
  const stackInfo = await page.evaluate(() => {
    const st = window.__atelier.stacks?.getState();
    return st ? { enabled: st.enabled, stacks: st.index.stacks.size, rebuildMs: Math.round(st.lastMs), cells: window.__atelier.library.getState().order.length } : null;
  });
  const startup = await page.evaluate(() => ({
    firstThumbsMs: window.__firstThumbs,
    fullLoadMs: performance.getEntriesByName('atelier:ready')[0]?.startTime ?? null,
    // the cached first screen read and shown (the thumbnails' reads start then)
    headMs: performance.getEntriesByName('atelier:head')[0]?.startTime ?? null,
    loadStartMs: performance.getEntriesByName('atelier:load-start')[0]?.startTime ?? null,
    count: window.__atelier.library.getState().byId.size,
  }));
  await page.waitForTimeout(500);
  const heapIdle = await heapMB(page);

  log(`scrolling ${n} for ${scrollSeconds}s`);
  const syncAtStart = await page.evaluate(SYNC_SNAPSHOT);
  const scrollFrom = Date.now();
  const stopProfile = profile ? await startCpuProfile(page, mapper) : null;
  const scroll = await page.evaluate(async (seconds) => {
    const el = document.querySelector('[data-testid="grid-scroller"]');
    const frames = [];
    let maxCells = 0;
    let maxDom = 0;
    const start = performance.now();
    let last = start;
    let dir = 1;
    await new Promise((resolve) => {
      const step = (now) => {
        frames.push(now - last);
        last = now;
        // a steady fast scroll (4000 px/s), bouncing at the ends
        el.scrollTop += dir * 4000 * (frames.length > 1 ? frames[frames.length - 1] / 1000 : 1 / 60);
        if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) dir = -1;
        if (el.scrollTop <= 0) dir = 1;
        maxCells = Math.max(maxCells, document.querySelectorAll('[data-testid="grid-cell"]').length);
        maxDom = Math.max(maxDom, document.querySelectorAll('[data-testid="grid"] *').length);
        if (now - start < seconds * 1000) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame(step);
    });
    frames.shift();
    return { frames, maxCells, maxDom, liveThumbUrls: window.__atelier.liveThumbUrls(), scrolledPx: el.scrollTop, start, end: performance.now() };
  }, scrollSeconds);
  const scrollTo = Date.now();
  const cpuProfile = stopProfile ? await stopProfile() : null;
  // (long tasks are reported a moment after they end)
  await page.waitForTimeout(100);
  const mainThread = await mainThreadFigures(page, scroll.start, scroll.end, mapper);
  const syncAtEnd = await page.evaluate(SYNC_SNAPSHOT);
  const heapAfterScroll = await heapMB(page);

  const search = await page.evaluate(async () => {
    const lib = window.__atelier.library;
    const terms = ['harbour', 'img_004', 'sunset light photo', 'snow cat', 'no-such-thing', ''];
    const res = [];
    for (const text of terms) {
      const t = performance.now();
      lib.setQuery({ text });
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      res.push({ text, queryMs: lib.getState().queryMs, toPaintMs: performance.now() - t, hits: lib.getState().order.length });
    }
    return res;
  });
  // the last image of the library is reachable (keyboard focus scrolls the grid to it)
  const lastReachable = await page.evaluate(async () => {
    const lib = window.__atelier.library;
    const order = lib.getState().order;
    const lastId = order[order.length - 1];
    lib.focus(lastId);
    await new Promise((r) => setTimeout(r, 300));
    return !!document.querySelector(`[data-testid="grid-cell"][data-id="${lastId}"]`);
  });
  const dropsAt = dropTimes(scroll.frames);
  return {
    firstThumbsMs: round(startup.firstThumbsMs, 0),
    headMs: startup.headMs === null ? null : round(startup.headMs, 0),
    loadStartMs: startup.loadStartMs === null ? null : round(startup.loadStartMs, 0),
    fullLoadMs: startup.fullLoadMs === null ? null : round(startup.fullLoadMs, 0),
    frames: scroll.frames.length,
    p50FrameMs: round(pct(scroll.frames, 50)),
    p95FrameMs: round(pct(scroll.frames, 95)),
    p99FrameMs: round(pct(scroll.frames, 99)),
    droppedFrames: dropsAt.length,
    // early drops point at work left over from start-up, a steady spread at the scroll itself
    dropsAtMs: dropsAt,
    frameHistogram: histogram(scroll.frames),
    maxFrameMs: round(Math.max(...scroll.frames)),
    gridDomElements: scroll.maxDom,
    gridCells: scroll.maxCells,
    liveThumbUrls: scroll.liveThumbUrls,
    heapIdleMB: heapIdle,
    heapAfterScrollMB: heapAfterScroll,
    searchMs: { max: round(Math.max(...search.map((s) => s.queryMs))), maxToPaint: round(Math.max(...search.map((s) => s.toPaintMs))), detail: search.map((s) => ({ ...s, queryMs: round(s.queryMs), toPaintMs: round(s.toPaintMs) })) },
    lastImageReachable: lastReachable,
    stacks: stackInfo,
    // the page's own work during the scroll (steadier than frames on a loaded machine)
    mainThread,
    ...(cpuProfile ? { cpuProfile } : {}),
    // what the sync engine was doing (the indicator's phase and pending count; absent before the
    // features load) and how many /v1/library requests the page sent while it scrolled
    ...(requests ? { sync: { atScrollStart: syncAtStart, atScrollEnd: syncAtEnd, libraryRequestsDuringScroll: requests.filter((t) => t >= scrollFrom && t <= scrollTo).length } } : {}),
  };
}

/** The sync indicator's phase and pending count (what the leading tab's engine reports). */
const SYNC_SNAPSHOT = () => {
  const el = document.querySelector('[data-testid="sync-indicator"]');
  if (!el) return null;
  const phase = el.getAttribute('data-phase');
  return { phase, pending: Number(el.getAttribute('data-pending')), ...(phase === 'error' || phase === 'offline' ? { error: el.getAttribute('title') } : {}) };
};

// Import THROUGHPUT: 144 files a round (a camera card is hundreds), so the one-time costs of an
// import (the first screen of new thumbnails decoded and drawn, the last commit) weigh as they do
// in a real one; with 48 files they were a tenth of the run. Rounds alternate which of the two
// runs first, each round on files of its own (an import of files already in the library would
// only find duplicates); the medians count. The VM's speed swings between seconds (raw rates of
// 34 to 61 files/s in one day's single runs), so a single pair of runs said more about the VM.
async function benchImport(count, rounds) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await page.addInitScript(SYNC_OFF_INIT);
  await page.goto(base);
  await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready');
  log(`import: ${rounds} rounds of ${count} camera-sized JPEGs`);
  const res = await page.evaluate(async ({ count, rounds }) => {
    const { library } = window.__atelier;
    const imagePool = window.__atelier.imagePool();
    const makeFiles = async (round) => {
      const files = [];
      for (let j = 0; j < count; j++) {
        const i = round * count + j;
        const c = new OffscreenCanvas(2400, 1600);
        const ctx = c.getContext('2d');
        const g = ctx.createLinearGradient(0, 0, 2400, 1600);
        g.addColorStop(0, `hsl(${(i * 37) % 360} 60% 40%)`);
        g.addColorStop(1, `hsl(${(i * 37 + 90) % 360} 60% 20%)`);
        ctx.fillStyle = g;
        ctx.fillRect(0, 0, 2400, 1600);
        for (let k = 0; k < 400; k++) {
          ctx.fillStyle = `hsla(${(k * 13 + i) % 360} 70% 60% / 0.5)`;
          ctx.beginPath();
          ctx.arc((k * 97 + i * 31) % 2400, (k * 61 + i * 17) % 1600, 20 + (k % 40), 0, 7);
          ctx.fill();
        }
        const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
        files.push(new File([blob], `bench_${i}.jpg`, { type: 'image/jpeg' }));
      }
      return files;
    };
    // raw: decode + resize only, same pool, same parallelism
    const raw = async (files) => {
      const t = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: imagePool.size * 2 }, async () => {
        while (next < files.length) await imagePool.raw(files[next++]);
      }));
      return files.length / ((performance.now() - t) / 1000);
    };
    const imp = async (files) => {
      const t = performance.now();
      await library.importItems(files.map((file) => ({ file, name: file.name })));
      const s = (performance.now() - t) / 1000;
      return { perS: library.getState().importProgress.imported / s, imported: library.getState().importProgress.imported };
    };
    const out = [];
    let bytes = 0;
    for (let r = 0; r < rounds; r++) {
      const files = await makeFiles(r);
      bytes += files.reduce((n, f) => n + f.size, 0);
      // Start every worker before either clock runs: a cold start (worker script, first decode) in
      // one run only would flatter the other.
      await Promise.all(Array.from({ length: imagePool.size }, (_, i) => imagePool.raw(files[i % files.length])));
      await new Promise((ok) => setTimeout(ok, 300));
      if (r % 2 === 0) {
        const rawPerS = await raw(files);
        await new Promise((ok) => setTimeout(ok, 300));
        out.push({ rawPerS, ...(await imp(files)) });
      } else {
        const i = await imp(files);
        await new Promise((ok) => setTimeout(ok, 300));
        out.push({ rawPerS: await raw(files), ...i });
      }
      // let the grid settle (thumbnails of the new images) before the next round's clocks
      await new Promise((ok) => setTimeout(ok, 1000));
    }
    return { files: count, rounds, avgMB: bytes / (count * rounds) / 1048576, workers: imagePool.size, runs: out };
  }, { count, rounds });
  await ctx.close();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rawPerS = median(res.runs.map((r) => r.rawPerS));
  const importPerS = median(res.runs.map((r) => r.perS));
  return {
    files: res.files,
    rounds: res.rounds,
    avgMB: round(res.avgMB, 2),
    workers: res.workers,
    rawPerS: round(rawPerS),
    importPerS: round(importPerS),
    imported: res.runs.map((r) => r.imported),
    ratio: round(importPerS / rawPerS, 2),
    roundRatios: res.runs.map((r) => round(r.perS / r.rawPerS, 2)),
    rawRunsPerS: res.runs.map((r) => round(r.rawPerS)),
    importRunsPerS: res.runs.map((r) => round(r.perS)),
  };
}

// ---- --compare: a feature off vs on, paired rounds --------------------------------------------

/** Before any page script, once per context: sync off, no first-run banner, no auto-analysis. */
const COMPARE_INIT = () => {
  if (localStorage.getItem('atelier.bench.init')) return;
  localStorage.setItem('atelier.bench.init', '1');
  localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' }));
  localStorage.setItem('atelier.first-run.hidden.v1', '1');
  localStorage.setItem('atelier.settings.v1', JSON.stringify({ autoAnalyze: false }));
};

/** The compared feature's user setting, read by the app at its next load. */
const SET_FEATURE = ([feature, on]) => {
  if (feature === 'sync') localStorage.setItem('atelier.sync', JSON.stringify({ enabled: on, originals: 'recent' }));
  else localStorage.setItem('atelier.stacks', on ? '1' : '0');
};

const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';

/**
 * `python -m atelier` on backendPort serving dist/, on a new empty data folder and an empty
 * models folder (nothing to analyse or embed: the sync engine is the only background work the
 * backend adds). Resolves with stop(), which ends it and removes both folders.
 */
async function freshBackend() {
  if (await fetch(`${base}/v1/models`).then(() => true, () => false)) throw new Error(`something already answers at ${base}: pick another --port`);
  const data = mkdtempSync(join(tmpdir(), 'atelier-bench-grid-'));
  const models = mkdtempSync(join(tmpdir(), 'atelier-bench-grid-models-'));
  const env = { ...process.env, PYTHONPATH: [join(ROOT, 'backend'), process.env.PYTHONPATH].filter(Boolean).join(delimiter), ATELIER_MODELS: 'real', ATELIER_PORT: String(backendPort), ATELIER_HOST: '127.0.0.1', ATELIER_DATA_DIR: data, ATELIER_MODELS_DIR: models, ATELIER_UI_DIR: join(ROOT, 'dist'), ATELIER_LOG_LEVEL: 'warning' };
  delete env.ATELIER_API_KEY; // the page has no key to send
  delete env.ATELIER_DATABASE_URL; // SQLite in the data folder
  const proc = spawn(python, ['-m', 'atelier'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const running = () => proc.exitCode === null && proc.signalCode === null;
  const remove = () => {
    rmSync(data, { recursive: true, force: true });
    rmSync(models, { recursive: true, force: true });
  };
  // an exit of this script while a backend runs (an error, a timeout's SIGTERM) ends it too
  killBackendNow = () => {
    if (running()) proc.kill('SIGKILL');
    remove();
  };
  const stop = async () => {
    if (running()) {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (running()) proc.kill('SIGKILL');
    }
    remove();
    killBackendNow = () => {};
  };
  try {
    await Promise.race([waitUp(base, 180_000), exited.then((code) => Promise.reject(new Error(`the backend exited with ${code}`)))]);
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
let stopBackend = async () => {};
let killBackendNow = () => {};
process.on('exit', () => killBackendNow());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** One run of a comparison: the visit measured with the feature `on` or not. */
async function compareRun(feature, n, on, shared) {
  let ctx;
  let page;
  let seedMs;
  const requests = [];
  const failures = [];
  if (feature === 'sync') {
    await stopBackend();
    stopBackend = await freshBackend();
    ({ ctx, page, seedMs } = await seededPage(n, [COMPARE_INIT]));
    const originalsMs = originals > 0 ? await page.evaluate(seedOriginals, { count: Math.min(originals, n), bytes: 1 << 20 }) : 0;
    seedMs += originalsMs;
    page.on('request', (req) => req.url().includes('/v1/library') && requests.push(Date.now()));
    page.on('response', async (res) => {
      // (HEAD 404: a blob the server does not have yet, the upload's first question)
      if (res.url().includes('/v1/library') && res.status() >= 400 && !(res.request().method() === 'HEAD' && res.status() === 404)) failures.push(`${res.request().method()} ${new URL(res.url()).pathname.slice(0, 40)} ${res.status()} ${(await res.text().catch(() => '')).slice(0, 160)}`);
    });
  } else {
    ({ ctx, page } = shared);
    seedMs = shared.seedMs;
  }
  if (feature === 'sync') {
    // the first visit after seeding, with sync off (it builds the head cache); sync is turned on
    // just before the measured visit: the engine starts with the page, on a library it has never seen
    await warmUp(page);
    if (on) await page.evaluate(SET_FEATURE, [feature, true]);
  } else {
    // the setting first: the visit before the measured one leaves the head cache in its order
    await page.evaluate(SET_FEATURE, [feature, on]);
    await warmUp(page);
  }
  const figures = await measureVisit(page, n, feature === 'sync' ? requests : undefined);
  if (feature === 'sync') {
    figures.sync.libraryRequestsInRun = requests.length;
    // requests the server refused (4xx/5xx): a sync in error backs off, and would flatter the "on" side
    figures.sync.failedRequests = failures.slice(0, 5);
    figures.sync.failedRequestCount = failures.length;
    await ctx.close();
  }
  return { n, side: on ? 'on' : 'off', seedMs: round(seedMs, 0), ...figures };
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Per figure: each side's median, the median of the per-round differences and ratios. */
function pairStats(pairs, get) {
  const off = pairs.map((p) => get(p.off));
  const on = pairs.map((p) => get(p.on));
  const diffs = pairs.map((_, i) => on[i] - off[i]);
  const med = (xs) => {
    const m = median(xs);
    return m === null ? null : round(m, 2);
  };
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return {
    off: off.map((x) => round(x, 1)),
    on: on.map((x) => round(x, 1)),
    offMedian: med(off),
    onMedian: med(on),
    diffMedian: med(diffs),
    // the median of the rounds' on/off ratios (undefined when a round's "off" is 0: dropped frames)
    ratioMedian: off.every((x) => x > 0) ? med(pairs.map((_, i) => on[i] / off[i])) : null,
    // all rounds' "on" over all rounds' "off" (what a count such as dropped frames compares by)
    ratioOfSums: sum(off) > 0 ? round(sum(on) / sum(off), 2) : null,
  };
}

async function compareSize(feature, n) {
  let shared;
  if (feature === 'stacks') {
    shared = await seededPage(n, [COMPARE_INIT]);
    shared.seedMs = round(shared.seedMs, 0);
  }
  const pairs = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    const pair = {};
    for (const on of order) {
      const t = Date.now();
      const run = await compareRun(feature, n, on, shared);
      pair[run.side] = run;
      log(`${feature} ${run.side} at ${n}, round ${r + 1}/${rounds}: ${JSON.stringify({ firstThumbsMs: run.firstThumbsMs, p95FrameMs: run.p95FrameMs, droppedFrames: run.droppedFrames, searchMax: run.searchMs.max, longTaskMs: run.mainThread?.longTaskMs, longFrameBlockingMs: run.mainThread?.longFrameBlockingMs, ...(run.cpuProfile ? { busyMs: run.cpuProfile.busyMs, inclusiveMs: run.cpuProfile.inclusiveMs } : {}), ...(run.sync ? { sync: run.sync } : {}), ...(run.stacks ? { cells: run.stacks.cells } : {}) })} (${Math.round((Date.now() - t) / 1000)} s)`);
    }
    pairs.push(pair);
  }
  if (shared) await shared.ctx.close();
  if (feature === 'sync') {
    await stopBackend();
    stopBackend = async () => {};
  }
  const frames = median(pairs.flatMap((p) => [p.off.frames, p.on.frames]));
  const stats = {
    p95FrameMs: pairStats(pairs, (x) => x.p95FrameMs),
    p99FrameMs: pairStats(pairs, (x) => x.p99FrameMs),
    droppedFrames: pairStats(pairs, (x) => x.droppedFrames),
    firstThumbsMs: pairStats(pairs, (x) => x.firstThumbsMs),
    searchWorstMs: pairStats(pairs, (x) => x.searchMs.max),
    searchWorstToPaintMs: pairStats(pairs, (x) => x.searchMs.maxToPaint),
    fullLoadMs: pairStats(pairs, (x) => x.fullLoadMs ?? NaN),
    heapIdleMB: pairStats(pairs, (x) => x.heapIdleMB),
    longTaskMs: pairStats(pairs, (x) => x.mainThread?.longTaskMs ?? NaN),
    longFrameBlockingMs: pairStats(pairs, (x) => x.mainThread?.longFrameBlockingMs ?? NaN),
  };
  const st = stats;
  const search = st.searchWorstMs;
  const valid = feature === 'sync'
    // the engine was at work while the grid scrolled, in every "on" run, without a refused
    // request (an engine in error backs off: less work); never in an "off" one
    ? pairs.every((p) => p.on.sync.libraryRequestsDuringScroll > 0 && p.on.sync.failedRequestCount === 0 && p.on.sync.atScrollEnd?.phase !== 'error' && p.off.sync.libraryRequestsInRun === 0)
    // stacks collapsed the grid in every "on" run and in no "off" one
    : pairs.every((p) => p.on.stacks?.enabled && p.on.stacks.cells < n && !p.off.stacks?.enabled && p.off.stacks.cells === n);
  return {
    n,
    rounds,
    scrollSeconds,
    framesPerScroll: frames,
    seedMs: feature === 'stacks' ? shared.seedMs : round(median(pairs.flatMap((p) => [p.off.seedMs, p.on.seedMs])), 0),
    ...stats,
    targets: {
      p95_diff_le_one_frame: st.p95FrameMs.diffMedian !== null && st.p95FrameMs.diffMedian <= ON_TIME_MS,
      dropped_diff_le_1pct_frames: st.droppedFrames.diffMedian !== null && st.droppedFrames.diffMedian <= 0.01 * frames,
      firstThumbs_ratio_le_1_1: st.firstThumbsMs.ratioMedian !== null && st.firstThumbsMs.ratioMedian <= 1.1,
      searchWorst_ratio_le_1_1_or_within_5ms: search.diffMedian !== null && (search.diffMedian <= 5 || (search.ratioMedian ?? Infinity) <= 1.1),
      [feature === 'sync' ? 'syncBusyDuringScroll' : 'stacksCollapsedOnlyWhenOn']: valid,
    },
    // every run's figures (frame histograms and drop times left out: see the plain section)
    runs: pairs.flatMap((p) => [p.off, p.on]).map(({ frameHistogram, searchMs, ...rest }) => ({ ...rest, searchMs: { max: searchMs.max, maxToPaint: searchMs.maxToPaint, byTerm: Object.fromEntries(searchMs.detail.map((d) => [d.text || '(cleared)', d.queryMs])) } })),
  };
}

if (compare !== 'none') {
  const comparisons = [];
  for (const n of sizes) comparisons.push(await compareSize(compare, n));
  const chromiumVersion = browser.version();
  await browser.close();
  const summary = {
    benchmark: `grid, ${compare} off vs on`,
    compare,
    chromium: chromiumVersion,
    cores: (await import('node:os')).cpus().length,
    ...(compare === 'sync' ? { originalsPerRun: Math.min(originals, Math.max(...sizes)), originalBytes: 1 << 20 } : {}),
    // by size: scripts/bench.py writes each figure on a row of its own (a list would be one cell)
    comparisons: Object.fromEntries(comparisons.map((c) => [c.n, c])),
    targets: Object.fromEntries(Object.keys(comparisons[0]?.targets ?? {}).map((k) => [k, comparisons.every((c) => c.targets[k])])),
  };
  const json = JSON.stringify(summary, null, 2);
  if (out) writeFileSync(out, json);
  console.log(json);
  stopServer();
  process.exit(Object.values(summary.targets).every(Boolean) ? 0 : 1);
}

const results = [];
for (const n of sizes) {
  const r = await benchSize(n);
  log(JSON.stringify({ n: r.n, firstThumbsMs: r.firstThumbsMs, p95FrameMs: r.p95FrameMs, fullLoadMs: r.fullLoadMs }));
  results.push(r);
}
const imp = importFiles > 0 ? await benchImport(importFiles, importRounds) : null;
const chromiumVersion = browser.version();
await browser.close();

const first = results[0];
const lastR = results[results.length - 1];
const at50k = results.find((r) => r.n === 50_000);
const summary = {
  benchmark: 'grid',
  chromium: chromiumVersion,
  cores: (await import('node:os')).cpus().length,
  sizes: results,
  import: imp,
  targets: {
    p95FrameMs_le_16_7: results.every((r) => r.p95FrameMs <= ON_TIME_MS),
    p95_ratio_largest_vs_smallest: first && lastR ? round(lastR.p95FrameMs / first.p95FrameMs, 2) : null,
    p95_ratio_le_1_2: first && lastR ? lastR.p95FrameMs / first.p95FrameMs <= 1.2 : null,
    firstPaint50k_le_1000ms: at50k ? at50k.firstThumbsMs <= 1000 : null,
    search50k_le_50ms: at50k ? at50k.searchMs.max <= 50 : null,
    import_ratio_ge_0_8: imp ? imp.ratio >= 0.8 : null,
  },
};
const json = JSON.stringify(summary, null, 2);
if (out) writeFileSync(out, json);
console.log(json);
stopServer();
