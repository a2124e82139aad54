#!/usr/bin/env node
// Search and stacks benchmark in headless Chromium (issue 19). Prints one JSON summary on stdout.
//
//   node scripts/bench_search.mjs [--base http://127.0.0.1:4173] [--n 100000] [--dim 768]
//        [--queries 200] [--recall-queries 20] [--bases 200] [--copied 40] [--out file.json]
//
// 1. Query latency: n vectors of dim (seeded, clustered) stored through the app's search worker,
//    then `queries` searches timed from the page's request to the ranked ids back on the main
//    thread (what a keystroke waits for once the query text is embedded: the embedding call needs
//    the backend's model, issue 19 phase 2). p50 / p95, and whether WebAssembly SIMD ran.
// 2. Bytes per image: the vector data as stored (int8 rows + scales + ids), and what the browser's
//    storage estimate grew by.
// 3. int8 recall@10 against float32 on the same vectors (exact float scores in the page).
// 4. Near-duplicates: scripts/near_dup_set.py's generated set imported through the real import
//    (the workers compute each thumbnail's pHash); pairwise precision and recall of the stacks
//    against the set's truth (same original = duplicate).
import { chromium } from 'playwright-core';
import { ensurePreview } from './lib/preview.mjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const base = arg('base', process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:4173');
const N = Number(arg('n', '100000'));
const DIM = Number(arg('dim', '768'));
const QUERIES = Number(arg('queries', '200'));
const RECALL_QUERIES = Number(arg('recall-queries', '20'));
const BASES = Number(arg('bases', '200'));
const COPIED = Number(arg('copied', '40'));
const out = arg('out', '');
const log = (...a) => console.error('[bench-search]', ...a);
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// serve dist/ ourselves when nothing answers at --base (`make bench` builds first)
const stopServer = await ensurePreview(base, log);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function vectors() {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(base);
  await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready');
  log(`storing ${N} vectors of ${DIM} dimensions`);
  const res = await page.evaluate(async ({ N, DIM, QUERIES, RECALL_QUERIES }) => {
    const call = window.__atelier.vectorIndex();
    // seeded clustered vectors, generated again on demand (307 MB of float32 would not fit)
    const CLUSTERS = 1000;
    const rng = (seed) => {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), a | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    };
    const gaussFrom = (r) => () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const centres = [];
    {
      const g = gaussFrom(rng(1));
      for (let c = 0; c < CLUSTERS; c++) centres.push(Float32Array.from({ length: DIM }, () => g()));
    }
    const vec = (i, out) => {
      const g = gaussFrom(rng(1000 + i));
      const c = centres[i % CLUSTERS];
      for (let d = 0; d < DIM; d++) out[d] = c[d] + g() * 0.7;
      return out;
    };
    const query = (q) => vec(10_000_000 + q, new Float32Array(DIM));
    const est0 = (await navigator.storage.estimate()).usage ?? 0;
    const t0 = performance.now();
    const allIds = [];
    const BATCH = 4096;
    for (let i = 0; i < N; i += BATCH) {
      const n = Math.min(BATCH, N - i);
      const flat = new Float32Array(n * DIM);
      const row = new Float32Array(DIM);
      const ids = [];
      for (let k = 0; k < n; k++) {
        flat.set(vec(i + k, row), k * DIM);
        // ids as the library makes them: UUIDs, 36 characters
        ids.push(`${String(i + k).padStart(8, '0')}-0000-4000-8000-000000000000`);
      }
      allIds.push(...ids);
      await call({ op: 'put', model: 'bench', dim: DIM, ids, vectors: flat }, [flat.buffer]);
    }
    const storeMs = performance.now() - t0;
    const compact = await call({ op: 'compact', model: 'bench' });
    const opened = await call({ op: 'open', model: 'bench' });
    const est1 = (await navigator.storage.estimate()).usage ?? 0;
    // the stored shape of one image: a row of int8, its float32 scale, its id (UTF-16 in IndexedDB)
    const storedBytesPerImage = DIM + 4 + 36 * 2;

    // 1. query latency, ranked ids back on the main thread
    const times = [];
    let simd = opened.simd;
    for (let q = 0; q < 10; q++) await call({ op: 'query', vector: query(q), k: 200 });
    for (let q = 0; q < QUERIES; q++) {
      const v = query(q);
      const t = performance.now();
      const r = await call({ op: 'query', vector: v, k: 200 });
      times.push(performance.now() - t);
      if (r.ids.length !== 200) throw new Error(`a query returned ${r.ids.length} ids`);
    }
    // 3. recall@10 against exact float32 scores (all queries in one pass over the vectors)
    const qs = Array.from({ length: RECALL_QUERIES }, (_, q) => {
      const v = query(q);
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
    const got = [];
    for (let q = 0; q < RECALL_QUERIES; q++) got.push(new Set((await call({ op: 'query', vector: query(q), k: 10 })).ids));
    // ids by slot: the worker's rows are in insertion order, so ask for them by rank of a probe
    const best = qs.map(() => []);
    const row = new Float32Array(DIM);
    for (let i = 0; i < N; i++) {
      vec(i, row);
      let nn = 0;
      for (let d = 0; d < DIM; d++) nn += row[d] * row[d];
      nn = 1 / Math.sqrt(nn);
      for (let q = 0; q < RECALL_QUERIES; q++) {
        let s = 0;
        const qq = qs[q];
        for (let d = 0; d < DIM; d++) s += qq[d] * row[d];
        s *= nn;
        const b = best[q];
        if (b.length < 10 || s > b[b.length - 1][0]) {
          b.push([s, i]);
          b.sort((x, y) => y[0] - x[0]);
          if (b.length > 10) b.pop();
        }
      }
    }
    let hit = 0;
    best.forEach((b, q) => b.forEach(([, i]) => (hit += got[q].has(allIds[i]) ? 1 : 0)));
    return { storeMs, compact, count: opened.count, simd, times, est0, est1, storedBytesPerImage, recall: hit / (RECALL_QUERIES * 10) };
  }, { N, DIM, QUERIES, RECALL_QUERIES });
  await ctx.close();
  return res;
}

async function nearDuplicates() {
  const dir = mkdtempSync(join(tmpdir(), 'atelier-neardup-'));
  try {
    log(`generating the near-duplicate set: ${BASES} pictures, ${COPIED} of them copied 5 ways`);
    execFileSync('.venv/bin/python', ['scripts/near_dup_set.py', '--out', dir, '--bases', String(BASES), '--copied', String(COPIED), '--size', '640x480'], { stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await ctx.newPage();
    await page.goto(base);
    await page.waitForFunction(() => window.__atelier?.library.getState().status === 'ready');
    log(`importing ${manifest.length} files`);
    // through the app's own file input, as a user's import (Playwright hands the files over from disk)
    await page.locator('header [data-testid="file-input"]').setInputFiles(manifest.map((e) => join(dir, e.file)));
    await page.waitForSelector('[data-testid="import-progress"][data-finished="true"]', { timeout: 600_000 });
    const groups = await page.evaluate(async () => {
      const { library, stacks } = window.__atelier;
      await new Promise((r) => setTimeout(r, 300));
      await stacks.rebuild();
      const byId = library.getState().byId;
      const { index } = stacks.getState();
      return { imported: byId.size, rebuildMs: Math.round(stacks.getState().lastMs), stacks: [...index.stacks.values()].map((s) => ({ tier: s.tier, names: s.ids.map((id) => byId.get(id)?.name) })) };
    });
    await ctx.close();
    // pairwise truth: two files are duplicates when they come from the same original
    const baseOf = (name) => name.split('__')[0];
    const predicted = new Set();
    for (const s of groups.stacks) for (let i = 0; i < s.names.length; i++) for (let j = i + 1; j < s.names.length; j++) predicted.add([s.names[i], s.names[j]].sort().join('|'));
    const byBase = new Map();
    for (const e of manifest) byBase.set(e.base, [...(byBase.get(e.base) ?? []), e.file]);
    let truePairs = 0;
    let tp = 0;
    for (const names of byBase.values()) for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) {
      truePairs++;
      if (predicted.has([names[i], names[j]].sort().join('|'))) tp++;
    }
    let fp = 0;
    for (const p of predicted) {
      const [a, b] = p.split('|');
      if (baseOf(a) !== baseOf(b)) fp++;
    }
    const missed = [];
    for (const names of byBase.values()) for (const n of names.slice(1)) if (!predicted.has([names[0], n].sort().join('|'))) missed.push(n);
    return {
      files: manifest.length, imported: groups.imported, rebuildMs: groups.rebuildMs, originals: BASES, copied: COPIED, variants: ['jpeg70', 'small25', 'bright15', 'dark15', 'crop5'],
      stacks: groups.stacks.length, tiers: groups.stacks.reduce((m, s) => ((m[s.tier] = (m[s.tier] ?? 0) + 1), m), {}),
      truePairs, predictedPairs: predicted.size, precision: round(predicted.size ? tp / predicted.size : 1, 3), recall: round(truePairs ? tp / truePairs : 1, 3), falsePairs: fp, missed: missed.slice(0, 20),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const v = await vectors();
const sorted = [...v.times].sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const nd = await nearDuplicates();
const chromiumVersion = browser.version();
await browser.close();
stopServer();

const summary = {
  benchmark: 'search',
  chromium: chromiumVersion,
  cores: (await import('node:os')).cpus().length,
  query: {
    vectors: v.count, dim: DIM, queries: QUERIES, k: 200, simd: v.simd,
    p50Ms: round(pct(50), 2), p95Ms: round(pct(95), 2), maxMs: round(sorted[sorted.length - 1], 2),
    what: 'page request to ranked ids on the main thread, search worker, int8 WebAssembly SIMD (the text embedding itself needs the backend model: phase 2)',
  },
  storage: {
    storeMs: round(v.storeMs, 0), compact: v.compact,
    bytesPerImage: v.storedBytesPerImage,
    estimateGrowthPerImage: round((v.est1 - v.est0) / v.count, 0),
  },
  recall: { queries: RECALL_QUERIES, recallAt10: round(v.recall, 3), clusters: 1000, spread: 0.7 },
  nearDuplicates: nd,
  targets: {
    queryP95_le_50ms: pct(95) <= 50,
    bytesPerImage_le_1024: v.storedBytesPerImage <= 1024,
    recallAt10_ge_0_98: v.recall >= 0.98,
    reencodedPrecision_ge_0_95: nd.precision >= 0.95,
    reencodedRecall_ge_0_95: nd.recall >= 0.95,
  },
};
const json = JSON.stringify(summary, null, 2);
if (out) writeFileSync(out, json);
console.log(json);
