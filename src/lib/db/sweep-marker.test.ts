import { describe, expect, it } from 'vitest';
import { SWEEP_EVERY_MS, sweepMarker, type MarkerStorage } from './sweep-marker';

function memoryStorage(): MarkerStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get length() {
      return map.size;
    },
    key: (i) => [...map.keys()][i] ?? null,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
    removeItem: (k) => void map.delete(k),
  };
}

describe('sweepMarker', () => {
  it('asks for a sweep on first use, then not again within a week', () => {
    let t = 1_000;
    const s = memoryStorage();
    const m = sweepMarker(s, 'a', () => t);
    expect(m.needed()).toBe(true);
    m.swept(t);
    expect(m.needed()).toBe(false);
    t += SWEEP_EVERY_MS + 1;
    expect(m.needed()).toBe(true);
  });

  it('a write cut short (its page died) makes the next start-up sweep', () => {
    let t = 1_000;
    const s = memoryStorage();
    const old = sweepMarker(s, 'old', () => t);
    old.swept(t);
    old.begin(); // the page dies here: end() never runs
    t += 10;
    const next = sweepMarker(s, 'new', () => t);
    expect(next.needed()).toBe(true);
    next.swept(t);
    expect(next.needed()).toBe(false);
  });

  it('a finished write leaves nothing behind, however deeply nested', () => {
    const s = memoryStorage();
    const m = sweepMarker(s, 'a', () => 5);
    m.swept(5);
    m.begin();
    m.begin();
    m.end();
    expect(m.needed()).toBe(true); // still writing
    m.end();
    expect(m.needed()).toBe(false);
    expect([...s.map.keys()]).toEqual(['atelier.lastSweep']);
  });

  it("keeps this tab's own open marker and any set after the sweep started", () => {
    let t = 100;
    const s = memoryStorage();
    const m = sweepMarker(s, 'a', () => t);
    m.begin();
    t = 200;
    const other = sweepMarker(s, 'b', () => t);
    other.begin();
    m.swept(150);
    expect(s.map.has('atelier.blobWrites.a')).toBe(true);
    expect(s.map.has('atelier.blobWrites.b')).toBe(true);
  });

  it('always sweeps when storage is unavailable', () => {
    const m = sweepMarker(undefined, 'a');
    m.swept(0);
    expect(m.needed()).toBe(true);
  });
});
