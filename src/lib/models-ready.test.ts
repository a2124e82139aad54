import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_SETTINGS, type ModelStatus } from '@/lib/api';
import { createReadinessStore, kindReadiness, readinessOf } from './models-ready';

const hint = (id: string) => `model '${id}' is not downloaded: press Download next to it on the Status page, or run: make models MODELS=${id}`;
const missing = (id: string, kind: string, bytes?: number): ModelStatus => ({ id, kind, family: 'f', state: 'not_downloaded', download_hint: hint(id), ...(bytes ? { download_bytes: bytes } : {}) });
const onDisk = (id: string, kind: string): ModelStatus => ({ id, kind, family: 'f', state: 'on_disk' });

// What /v1/status says on a first run: the configured defaults, not downloaded.
const DEFAULTS = { generation: 'sdxl-realism', vision: 'moondream-2' };
const FRESH = [missing('sdxl-realism', 'generation', 6.9e9), missing('sdxl-anime', 'generation', 6.9e9), missing('moondream-2', 'vision', 3.9e9), missing('smolvlm-256m', 'vision')];

describe('kindReadiness', () => {
  it('a first run: nothing is ready, the default comes first with its size and the backend wording', () => {
    const r = readinessOf({ models: FRESH, default_models: DEFAULTS }, DEFAULT_SETTINGS);
    expect(r.generation).toEqual({ ready: false, default: 'sdxl-realism', missing: [{ id: 'sdxl-realism', bytes: 6.9e9, hint: hint('sdxl-realism') }, { id: 'sdxl-anime', bytes: 6.9e9, hint: hint('sdxl-anime') }], reason: hint('sdxl-realism') });
    expect(r.vision.ready).toBe(false);
    expect(r.vision.reason).toBe(hint('moondream-2'));
  });

  it('a request that names no model gets the default the backend names, whichever it is', () => {
    // the backend serves the downloaded one when its configured default is missing, and says so
    const r = kindReadiness([missing('sdxl-realism', 'generation'), onDisk('sdxl-anime', 'generation')], 'generation', '', 'sdxl-anime');
    expect(r).toMatchObject({ ready: true, default: 'sdxl-anime' });
    expect(kindReadiness([onDisk('sdxl-realism', 'generation'), missing('sdxl-anime', 'generation')], 'generation', '', 'sdxl-anime').ready).toBe(false);
  });

  it('a model chosen in Settings must itself be downloaded', () => {
    const r = kindReadiness([missing('moondream-2', 'vision'), onDisk('smolvlm-256m', 'vision')], 'vision', 'moondream-2');
    expect(r.ready).toBe(false);
    expect(r.reason).toBe(hint('moondream-2'));
  });

  it('work sent to another provider needs none of our models', () => {
    expect(readinessOf({ models: FRESH, default_models: DEFAULTS }, { ...DEFAULT_SETTINGS, visionProvider: 'openai' }).vision.ready).toBe(true);
  });
});

describe('createReadinessStore', () => {
  it('polls while something is missing and stops once everything is there', async () => {
    vi.useFakeTimers();
    try {
      let models = FRESH;
      const fetch = vi.fn(async () => ({ models, default_models: DEFAULTS }));
      const store = createReadinessStore({ fetch, cfg: () => DEFAULT_SETTINGS, pollMs: 1000 });
      const off = store.subscribe(() => undefined);
      await vi.advanceTimersByTimeAsync(0);
      expect(store.getSnapshot()).toMatchObject({ known: true, generation: { ready: false } });
      await vi.advanceTimersByTimeAsync(1000);
      expect(fetch).toHaveBeenCalledTimes(2);
      models = FRESH.map((m) => ({ ...m, state: 'on_disk' }));
      await vi.advanceTimersByTimeAsync(1000);
      expect(store.getSnapshot()).toMatchObject({ generation: { ready: true }, vision: { ready: true } });
      await vi.advanceTimersByTimeAsync(5000);
      expect(fetch).toHaveBeenCalledTimes(3);
      off();
    } finally {
      vi.useRealTimers();
    }
  });
});
