import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadUiPreferences, saveUiPreference } from './ui-preferences';

describe('UI preferences', () => {
  let map: Map<string, string>;
  beforeEach(() => {
    map = new Map();
    vi.stubGlobal('localStorage', { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) });
  });
  afterEach(() => vi.unstubAllGlobals());

  it('are the defaults at first, and what the user chose after a reload', () => {
    expect(loadUiPreferences()).toEqual({ thumbSize: 200, showNsfw: false, infoOpen: true, sort: { sort: 'added', desc: true } });
    saveUiPreference.thumbSize(320);
    saveUiPreference.showNsfw(true);
    saveUiPreference.infoOpen(false);
    saveUiPreference.sort({ sort: 'rating', desc: false });
    expect(loadUiPreferences()).toEqual({ thumbSize: 320, showNsfw: true, infoOpen: false, sort: { sort: 'rating', desc: false } });
  });

  it('ignore a saved sort that is not one, and a storage that refuses writes', () => {
    map.set('atelier.sort', JSON.stringify({ sort: 'colour', desc: 1 }));
    expect(loadUiPreferences().sort).toEqual({ sort: 'added', desc: true });
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => { throw new DOMException('full', 'QuotaExceededError'); } });
    expect(() => saveUiPreference.thumbSize(100)).not.toThrow();
  });
});
