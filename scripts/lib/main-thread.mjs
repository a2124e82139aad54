// Where the page's main thread went during a window of time (a benchmark's scroll), in figures
// that hold up on a loaded machine better than frame intervals do: frames are dropped when the
// machine is busy as much as when the page is, but a long task is the page's own work.
//
//   - MAIN_THREAD_PROBE (an init script): PerformanceObservers for 'longtask' and
//     'long-animation-frame' (Chromium: each long frame names the scripts that ran in it).
//   - mainThreadFigures(page, from, to): long tasks and long frames inside [from, to]
//     (performance.now() of the page), their scripts summed by source file (mapped through
//     dist/'s source maps to src/...).
//   - startCpuProfile(page): a sampling CPU profile of the main thread (CDP Profiler); stop()
//     resolves to the milliseconds spent in each source file (self time) and, inclusive, under
//     each of a few code areas (a sample counts for an area when a frame of its stack is there).
import { readFileSync, existsSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';

export const MAIN_THREAD_PROBE = () => {
  const mt = (window.__mainThread = { longtasks: [], loafs: [] });
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) mt.longtasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* not supported */
  }
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        mt.loafs.push({
          start: e.startTime,
          duration: e.duration,
          blocking: e.blockingDuration,
          scripts: (e.scripts ?? []).map((s) => ({ url: s.sourceURL, fn: s.sourceFunctionName, pos: s.sourceCharPosition, invoker: s.invoker, type: s.invokerType, ms: s.duration })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {
    /* not supported */
  }
};

const round = (x) => Math.round(x * 10) / 10;

/** Maps a position in a built asset (served under /assets/) to its source file, via dist/'s maps. */
export function sourceMapper(distDir) {
  const maps = new Map();
  const load = (url) => {
    if (maps.has(url)) return maps.get(url);
    let entry = null;
    const m = /\/assets\/([^/?#]+\.js)/.exec(url ?? '');
    if (m && existsSync(join(distDir, 'assets', m[1] + '.map'))) {
      const code = readFileSync(join(distDir, 'assets', m[1]), 'utf8');
      const lineStarts = [0];
      for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) lineStarts.push(i + 1);
      entry = { map: new SourceMap(JSON.parse(readFileSync(join(distDir, 'assets', m[1] + '.map'), 'utf8'))), lineStarts, file: m[1] };
    }
    maps.set(url, entry);
    return entry;
  };
  const short = (src) => src.replace(/^.*?\/(src|node_modules)\//, '$1/').replace(/^(node_modules\/(@[^/]+\/)?[^/]+)\/.*$/, '$1');
  return {
    /** line and column zero-based */
    at(url, line, col) {
      const e = load(url);
      if (!e) return url ? url.replace(/^https?:\/\/[^/]+/, '') || '(page)' : '(native)';
      const hit = e.map.findEntry(line, col);
      return hit?.originalSource ? short(hit.originalSource) : e.file;
    },
    /** the source file and line (one-based) */
    line(url, line, col) {
      const e = load(url);
      const hit = e?.map.findEntry(line, col);
      return hit?.originalSource ? `${short(hit.originalSource)}:${hit.originalLine + 1}` : this.at(url, line, col);
    },
    atChar(url, pos) {
      const e = load(url);
      if (!e || pos < 0) return this.at(url, 0, 0);
      let lo = 0;
      let hi = e.lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (e.lineStarts[mid] <= pos) lo = mid;
        else hi = mid - 1;
      }
      return this.at(url, lo, pos - e.lineStarts[lo]);
    },
  };
}

const top = (m, n = 12) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, round(v)]));
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

/** Long tasks and long animation frames that started inside [from, to] (page's performance.now()). */
export async function mainThreadFigures(page, from, to, mapper) {
  const raw = await page.evaluate(([a, b]) => {
    const mt = window.__mainThread;
    if (!mt) return null;
    return { longtasks: mt.longtasks.filter(([s]) => s >= a && s <= b), loafs: mt.loafs.filter((l) => l.start >= a && l.start <= b) };
  }, [from, to]);
  if (!raw) return null;
  const byScript = new Map();
  for (const l of raw.loafs) for (const s of l.scripts) add(byScript, `${mapper.atChar(s.url, s.pos ?? -1)} ${s.fn || s.invoker || s.type}`.trim(), s.ms);
  return {
    windowMs: round(to - from),
    longTasks: raw.longtasks.length,
    longTaskMs: round(raw.longtasks.reduce((n, [, d]) => n + d, 0)),
    longFrames: raw.loafs.length,
    longFrameBlockingMs: round(raw.loafs.reduce((n, l) => n + l.blocking, 0)),
    longFrameScriptMs: round(raw.loafs.reduce((n, l) => n + l.scripts.reduce((k, s) => k + s.ms, 0), 0)),
    longFrameScripts: top(byScript),
  };
}

/** Code areas a sample is counted under when any frame of its stack lies there (inclusive time). */
const AREAS = [
  ['sync', /^src\/features\/sync\//],
  ['library-store', /^src\/features\/library\//],
  ['grid', /^src\/features\/grid\//],
  ['lib/db', /^src\/lib\/db\//],
  ['idb-keyval', /^node_modules\/idb-keyval/],
  ['axios', /^node_modules\/axios/],
  ['react-dom', /^node_modules\/react-dom/],
];

export async function startCpuProfile(page, mapper, intervalUs = 500) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    await cdp.detach();
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const srcOf = new Map();
    const src = (n) => {
      if (!srcOf.has(n.id)) {
        const f = n.callFrame;
        srcOf.set(n.id, f.url ? mapper.at(f.url, f.lineNumber, f.columnNumber) : f.functionName.startsWith('(') ? f.functionName : `(native ${f.functionName || '?'})`);
      }
      return srcOf.get(n.id);
    };
    const self = new Map();
    const selfFn = new Map();
    const incl = new Map();
    const inclFn = new Map();
    let busy = 0;
    let total = 0;
    const deltas = profile.timeDeltas ?? [];
    profile.samples.forEach((id, i) => {
      const ms = (deltas[i + 1] ?? intervalUs) / 1000;
      total += ms;
      const n = nodes.get(id);
      const s = src(n);
      if (s === '(idle)') return;
      busy += ms;
      add(self, s, ms);
      const f = n.callFrame;
      add(selfFn, `${f.url ? mapper.line(f.url, f.lineNumber, f.columnNumber) : s} ${f.functionName || '(anonymous)'}`, ms);
      const seen = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cs = src(nodes.get(cur));
        for (const [area, re] of AREAS) if (!seen.has(area) && re.test(cs)) seen.add(area);
      }
      for (const a of seen) add(incl, a, ms);
      const files = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cs = src(nodes.get(cur));
        const cf = nodes.get(cur).callFrame;
        if (cs.startsWith('src/')) files.add(`${mapper.line(cf.url, cf.lineNumber, cf.columnNumber)} ${cf.functionName || '(anonymous)'}`);
      }
      for (const f of files) add(inclFn, f, ms);
    });
    return { profiledMs: round(total), busyMs: round(busy), inclusiveMs: top(incl, 20), inclusiveBySrcFunction: top(inclFn, 25), selfBySource: top(self, 15), selfByFunction: top(selfFn, 15) };
  };
}
