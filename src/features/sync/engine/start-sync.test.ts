import { afterEach, describe, expect, it, vi } from 'vitest';
import { START_DELAY_MS, startingLate } from './start-sync';

describe('starting sync with the page', () => {
  afterEach(() => vi.useRealTimers());

  it("lets the first screen's thumbnails load before the engine's first cycle; a stop before then starts nothing; a nudge goes through at once", async () => {
    vi.useFakeTimers();
    const engine = { start: vi.fn(), stop: vi.fn(), nudge: vi.fn() };
    const late = startingLate(engine);
    late.start();
    await vi.advanceTimersByTimeAsync(0);
    late.nudge();
    expect(engine.nudge).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(START_DELAY_MS - 1);
    expect(engine.start).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(engine.start).toHaveBeenCalledTimes(1);

    late.start();
    late.stop();
    await vi.advanceTimersByTimeAsync(START_DELAY_MS * 2);
    expect(engine.start).toHaveBeenCalledTimes(1);
    expect(engine.stop).toHaveBeenCalledTimes(1);
  });

  it('starts at once in a browser whose library is empty (a fresh one: nothing on screen to protect)', async () => {
    vi.useFakeTimers();
    const engine = { start: vi.fn(), stop: vi.fn(), nudge: vi.fn() };
    startingLate(engine, START_DELAY_MS, async () => true).start();
    await vi.advanceTimersByTimeAsync(0);
    expect(engine.start).toHaveBeenCalledTimes(1);

    // a stop while the emptiness check is pending starts nothing
    const late = startingLate(engine, START_DELAY_MS, async () => true);
    late.start();
    late.stop();
    await vi.advanceTimersByTimeAsync(START_DELAY_MS * 2);
    expect(engine.start).toHaveBeenCalledTimes(1);
  });
});
