import { describe, expect, it } from 'vitest';
import { createSettingsStore, DEFAULT_SETTINGS, normalizeBaseUrl, sanitizeSettings } from './config';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
}

describe('settings store', () => {
  it('starts from the defaults: same-origin backend, auto analysis on', () => {
    const s = createSettingsStore(memoryStorage()).get();
    expect(s).toEqual(DEFAULT_SETTINGS);
    expect(s.backendUrl).toBe('');
    expect(s.autoAnalyze).toBe(true);
  });

  it('persists changes and reads them back in a new store (a reload)', () => {
    const storage = memoryStorage();
    const a = createSettingsStore(storage);
    a.set({ backendUrl: 'http://gpu-box:8080/', apiKey: 'sk-1', autoAnalyze: false, vramMode: 'low' });
    const b = createSettingsStore(storage).get();
    expect(b).toMatchObject({ backendUrl: 'http://gpu-box:8080/', apiKey: 'sk-1', autoAnalyze: false, vramMode: 'low' });
  });

  it('keeps the URL as typed and normalises it where it is used', () => {
    const store = createSettingsStore(memoryStorage());
    store.set({ backendUrl: 'http:/' });
    expect(store.get().backendUrl).toBe('http:/');
    expect(normalizeBaseUrl(' http://gpu-box:8080// ')).toBe('http://gpu-box:8080');
  });

  it("takes another tab's changes from the storage event, without writing them back", () => {
    const storage = memoryStorage();
    const events = new EventTarget();
    const here = createSettingsStore(storage, events as unknown as Window);
    const other = createSettingsStore(storage);
    let calls = 0;
    here.subscribe(() => calls++);
    other.set({ backendUrl: 'http://gpu-box:8080', visionModel: 'moondream-2' });
    events.dispatchEvent(Object.assign(new Event('storage'), { key: 'unrelated' }));
    expect(calls).toBe(0);
    events.dispatchEvent(Object.assign(new Event('storage'), { key: 'atelier.settings.v1' }));
    expect(here.get()).toMatchObject({ backendUrl: 'http://gpu-box:8080', visionModel: 'moondream-2' });
    expect(calls).toBe(1);
  });

  it('notifies subscribers and stops after unsubscribe', () => {
    const store = createSettingsStore(memoryStorage());
    let calls = 0;
    const off = store.subscribe(() => calls++);
    store.set({ apiKey: 'x' });
    off();
    store.set({ apiKey: 'y' });
    expect(calls).toBe(1);
  });

  it('survives corrupt storage and drops fields of the wrong type', () => {
    const storage = memoryStorage();
    storage.setItem('atelier.settings.v1', '{not json');
    expect(createSettingsStore(storage).get()).toEqual(DEFAULT_SETTINGS);
    expect(sanitizeSettings({ vramMode: 'turbo', autoAnalyze: 'yes', providers: [{ id: 1 }] })).toEqual(DEFAULT_SETTINGS);
  });

  it('falls back to our backend when the selected provider is removed', () => {
    const store = createSettingsStore(memoryStorage());
    const p = { id: 'p1', name: 'Ollama', kind: 'vision' as const, baseUrl: 'http://h:11434/v1', apiKey: '', model: 'moondream' };
    store.set({ providers: [p], visionProvider: 'p1' });
    expect(store.get().visionProvider).toBe('p1');
    store.set({ providers: [] });
    expect(store.get().visionProvider).toBe('atelier');
  });

  it('keeps the NSFW threshold between 0 and 1, and analyses generated images unless told not to', () => {
    expect(DEFAULT_SETTINGS.nsfwThreshold).toBe(0.5);
    expect(DEFAULT_SETTINGS.analyzeGenerated).toBe(true);
    expect(sanitizeSettings({ nsfwThreshold: 0.7, analyzeGenerated: false })).toMatchObject({ nsfwThreshold: 0.7, analyzeGenerated: false });
    expect(sanitizeSettings({ nsfwThreshold: 7 }).nsfwThreshold).toBe(1);
    expect(sanitizeSettings({ nsfwThreshold: -1 }).nsfwThreshold).toBe(0);
    expect(sanitizeSettings({ nsfwThreshold: 'high' }).nsfwThreshold).toBe(0.5);
  });
});
