// The benchmarks' own backend: `python -m atelier` with the tiny models (ATELIER_MODELS=tiny) on
// `port`, serving dist/ (build first), in a throwaway data folder; nothing when BENCH_BASE_URL
// points at a running one. Also the benchmarks' command-line helpers.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `--name value` from the command line, else `fallback`. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Starts the backend unless BENCH_BASE_URL is set: { base, server } (server undefined then). */
export function startTinyBackend(port) {
  const base = process.env.BENCH_BASE_URL ?? `http://127.0.0.1:${port}`;
  if (process.env.BENCH_BASE_URL) return { base, server: undefined };
  const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';
  // the caller's PYTHONPATH is kept after backend/ (e.g. a torchvision installed outside the venv)
  const pythonPath = [join(ROOT, 'backend'), process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  const server = spawn(python, ['-m', 'atelier'], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: pythonPath, ATELIER_MODELS: 'tiny', ATELIER_PORT: String(port), ATELIER_DATA_DIR: mkdtempSync(join(tmpdir(), 'atelier-bench-')), ATELIER_LOG_LEVEL: 'warning' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { base, server };
}

/** Resolves once `url` answers /v1/models, or throws after `ms`. */
export async function waitUp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/v1/models`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no backend at ${url}`);
}

/** Headless Chromium over a bare DevTools pipe, in a throwaway profile, and `images` written as
 * PNG files for DOM.setFileInputFiles: { browser, files, cleanup }. */
export function benchBrowser(launchChromium, images) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'atelier-bench-chromium-'));
  const browser = launchChromium(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${userDataDir}`, 'about:blank']);
  const fileDir = mkdtempSync(join(tmpdir(), 'atelier-bench-files-'));
  const files = images.map((buffer, i) => {
    const path = join(fileDir, `bench-${i}.png`);
    writeFileSync(path, buffer);
    return path;
  });
  const cleanup = () => {
    rmSync(fileDir, { recursive: true, force: true });
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { browser, files, cleanup };
}
