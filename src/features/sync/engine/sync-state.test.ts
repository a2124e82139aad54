import { afterEach, describe, expect, it, vi } from 'vitest';
import { createStateStore } from './sync-state';

describe('sync state', () => {
  afterEach(() => vi.useRealTimers());

  it('tells progress a few times a second, and always the last of it', () => {
    vi.useFakeTimers();
    const store = createStateStore(undefined, 250);
    const seen: (number | undefined)[] = [];
    store.subscribe(() => seen.push(store.get().upload?.sent));
    store.set({ phase: 'syncing' });
    seen.length = 0;
    for (let sent = 1; sent <= 100; sent++) {
      store.set({ upload: { sent, total: 100 } });
      vi.advanceTimersByTime(10); // 100 progress events in one second
    }
    vi.advanceTimersByTime(250);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThanOrEqual(5);
    expect(seen.at(-1)).toBe(100);
    expect(store.get().upload).toEqual({ sent: 100, total: 100 });
  });

  it('tells a new phase or error at once, with the progress so far', () => {
    vi.useFakeTimers();
    const store = createStateStore(undefined, 250);
    const seen: string[] = [];
    store.subscribe(() => seen.push(`${store.get().phase} ${store.get().pending}`));
    store.set({ pending: 1 });
    store.set({ pending: 2 });
    store.set({ phase: 'error', error: 'down' });
    expect(seen).toEqual(['synced 1', 'error 2']);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(['synced 1', 'error 2']); // nothing left to tell
  });
});
