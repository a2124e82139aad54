/// <reference types="node" />
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { settings } from '@/lib/api';
import { envelope, startFakeBackend, type FakeBackend } from '@/test/fake-backend';
import { createDownloads, type DownloadView } from './downloads';

let backend: FakeBackend;
const stores: ReturnType<typeof createDownloads>[] = [];

beforeEach(async () => {
  backend = await startFakeBackend();
  backend.latencyMs = 1;
  settings.set({ backendUrl: backend.url, apiKey: '' });
});
afterEach(async () => {
  stores.splice(0).forEach((s) => s.stop());
  await backend.close();
});

function make(done: string[] = []) {
  const s = createDownloads({ intervalMs: 10, onDone: (id) => done.push(id) });
  stores.push(s);
  return s;
}

/** Resolves with the model's view once it reaches `phase`, recording every view on the way. */
function until(s: ReturnType<typeof createDownloads>, id: string, phase: DownloadView['phase'], seen: DownloadView[] = []): Promise<DownloadView> {
  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error(`no ${phase} for ${id}: ${JSON.stringify(s.get(id))}`)), 3_000);
    const check = () => {
      const v = s.get(id);
      if (v && seen.at(-1) !== v) seen.push(v);
      if (v?.phase === phase) {
        clearTimeout(timeout);
        off();
        resolve(v);
      }
    };
    const off = s.subscribe(check);
    check();
  });
}

describe('model downloads', () => {
  it('starts, polls while running and stops when done', async () => {
    backend.downloadPlan['tiny-vlm'] = { total: 1000, steps: [100, 500, 900] };
    const done: string[] = [];
    const s = make(done);
    const seen: DownloadView[] = [];
    const finished = until(s, 'tiny-vlm', 'done', seen);
    await s.start('tiny-vlm');
    const v = await finished;
    expect(v.progress).toMatchObject({ state: 'done', bytes_done: 1000, bytes_total: 1000 });
    expect(seen.filter((x) => x.phase === 'running').map((x) => x.progress!.bytes_done)).toEqual([0, 100, 500, 900]);
    expect(backend.downloadCalls).toEqual(['POST tiny-vlm', 'GET tiny-vlm', 'GET tiny-vlm', 'GET tiny-vlm', 'GET tiny-vlm']);
    expect(done).toEqual(['tiny-vlm']);
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.downloadCalls).toHaveLength(5); // no polling after done
  });

  it('ignores a second start while one is running', async () => {
    backend.downloadPlan.m = { total: 10, steps: [1, 2] };
    const s = make();
    await Promise.all([s.start('m'), s.start('m')]);
    await until(s, 'm', 'done');
    expect(backend.downloadCalls.filter((c) => c.startsWith('POST'))).toHaveLength(1);
  });

  it('surfaces the error of a download that fails while running', async () => {
    backend.downloadPlan.m = { total: 10, steps: [4], fail: { message: 'Connection reset while fetching model.safetensors', code: 'hub_unreachable' } };
    const s = make();
    await s.start('m');
    const v = await until(s, 'm', 'error');
    expect(v.error).toBe('Connection reset while fetching model.safetensors');
    expect(v.progress?.bytes_done).toBe(4);
  });

  it('surfaces the envelope message when the start is refused (offline hub)', async () => {
    backend.downloadPlan.m = { total: 10, steps: [] };
    backend.downloadStartError = { status: 503, body: envelope('The Hugging Face Hub cannot be reached (HF_HUB_OFFLINE is set).', 'hub_unreachable', 'server_error') };
    const s = make();
    await s.start('m');
    expect(s.get('m')).toMatchObject({ phase: 'error', error: 'The Hugging Face Hub cannot be reached (HF_HUB_OFFLINE is set).' });
    expect(backend.downloadCalls).toEqual(['POST m']);
    // retry once the hub is back
    backend.downloadStartError = undefined;
    await s.start('m');
    expect((await until(s, 'm', 'done')).phase).toBe('done');
  });
});
