/// <reference lib="dom" />
// The real backend with ATELIER_MODELS=tiny, started by a spec on its own port and serving the
// built UI (dist/, or uiDir): specs that need the AI features end to end, or must kill and
// restart it. The tiny models are built on first start (models/tiny) and reused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from '@playwright/test';

const ROOT = resolve(import.meta.dirname, '../..');

export interface TinyBackend {
  readonly base: string;
  /** its ATELIER_DATA_DIR (kept across restarts) */
  readonly dataDir: string;
  start(): Promise<void>;
  /** SIGKILL: a crash, not a graceful shutdown */
  kill(): Promise<void>;
}

/** `env` overrides the defaults (e.g. ATELIER_MODELS=real on an empty models folder: a first run). */
export function tinyBackend({ port, uiDir, name, env = {} }: { port: number; uiDir?: string; name: string; env?: Record<string, string> }): TinyBackend {
  const base = `http://127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), `atelier-e2e-${name}-`)); // kept across restarts
  let proc: ChildProcess | undefined;
  return {
    base,
    dataDir: data,
    async start() {
      const python = [join(ROOT, '.venv/bin/python'), join(ROOT, 'backend/.venv/bin/python')].find(existsSync) ?? 'python3';
      const child = spawn(python, ['-m', 'atelier'], {
        cwd: ROOT,
        env: { ...process.env, PYTHONPATH: [join(ROOT, 'backend'), process.env.PYTHONPATH].filter(Boolean).join(':'), ATELIER_MODELS: 'tiny', ...(uiDir ? { ATELIER_UI_DIR: uiDir } : {}), ATELIER_PORT: String(port), ATELIER_HOST: '127.0.0.1', ATELIER_DATA_DIR: data, ATELIER_LOG_LEVEL: 'warning', ...env },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      proc = child;
      const deadline = Date.now() + 170_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`the backend exited with ${child.exitCode}`);
        try {
          if ((await fetch(`${base}/v1/models`)).ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error('the backend did not start in time');
    },
    async kill() {
      const child = proc;
      if (!child || child.exitCode !== null || child.signalCode !== null) return; // gone already (a kill sets signalCode, not exitCode)
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Library sync off in this browser context (Settings > Sync), for specs whose tests each expect a
 * fresh browser to start with an empty library: with sync on, the backend keeps what an earlier
 * test imported and every new browser gets it back (sync.spec.ts tests that).
 */
export async function syncOff(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    if (localStorage.getItem('atelier.sync') === null) localStorage.setItem('atelier.sync', JSON.stringify({ enabled: false, originals: 'recent' }));
  });
}
