import { afterEach, describe, expect, it, vi } from 'vitest';

const engine = vi.hoisted(() => ({ start: vi.fn(), nudge: vi.fn(), stop: vi.fn() }));
vi.mock('./sync-engine', () => ({ createSyncEngine: () => engine }));

const { START_DELAY_MS, startSync } = await import('./start-sync');

describe('starting sync with the page', () => {
  afterEach(() => vi.useRealTimers());

  it("lets the first screen's thumbnails load before the engine's first cycle, and a stop before then starts nothing", () => {
    vi.useFakeTimers();
    const stop = startSync();
    vi.advanceTimersByTime(START_DELAY_MS - 1);
    expect(engine.start).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(engine.start).toHaveBeenCalledTimes(1);
    stop();

    const stopEarly = startSync();
    stopEarly();
    vi.advanceTimersByTime(START_DELAY_MS * 2);
    expect(engine.start).toHaveBeenCalledTimes(1);
  });
});
