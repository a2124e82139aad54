// The benchmarks' page server: when nothing answers at `base`, serve the built dist/ with vite
// preview on its port (`make bench` builds first), and stop it when the script exits.
import { spawn } from 'node:child_process';

export async function ensurePreview(base, log = () => {}) {
  const up = async () => fetch(base).then((r) => r.ok, () => false);
  if (await up()) return () => {};
  const port = new URL(base).port || '4173';
  log(`nothing at ${base}: starting vite preview on ${port}`);
  const server = spawn('npx', ['vite', 'preview', '--port', port, '--strictPort', '--host', '127.0.0.1'], { stdio: 'ignore', detached: true });
  const stop = () => {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stop);
  const deadline = Date.now() + 60_000;
  while (!(await up())) {
    if (Date.now() > deadline) throw new Error(`vite preview did not start on ${base}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return stop;
}
