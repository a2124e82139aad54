import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/lib/api';
import { createPoller } from './poller';

afterEach(() => vi.useRealTimers());

describe('createPoller', () => {
  it('polls at the interval and backs off after failures', async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    let fail = true;
    const p = createPoller(
      async () => {
        calls.push(Date.now());
        if (fail) throw new ApiError('down', { offline: true, retryable: true });
        return 1;
      },
      { intervalMs: 100, maxBackoffMs: 1_000 },
    );
    p.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.getSnapshot()).toMatchObject({ failures: 1 });
    expect(p.getSnapshot().error).toMatch(/down/);
    await vi.advanceTimersByTimeAsync(200); // 100 * 2^1
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(399);
    expect(calls).toHaveLength(2); // now 400 ms
    fail = false;
    await vi.advanceTimersByTimeAsync(1);
    expect(p.getSnapshot()).toMatchObject({ data: 1, failures: 0, error: undefined });
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(4);
    p.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(4);
  });
});
