import { afterEach, describe, expect, it, vi } from 'vitest';
import { batcher } from './batcher';

describe('batcher', () => {
  afterEach(() => vi.useRealTimers());

  it('delivers after the wait, when full, or on flush, never an empty batch', () => {
    vi.useFakeTimers();
    const got: number[][] = [];
    const b = batcher<number>((xs) => got.push(xs), { waitMs: 50, maxItems: 3 });
    b.push(1);
    vi.advanceTimersByTime(30);
    b.push(2); // the wait runs from the first item of the batch
    vi.advanceTimersByTime(20);
    expect(got).toEqual([[1, 2]]);
    b.push(3, 4, 5); // full at once
    expect(got).toEqual([[1, 2], [3, 4, 5]]);
    b.push(6);
    b.flush();
    b.flush();
    vi.advanceTimersByTime(100);
    expect(got).toEqual([[1, 2], [3, 4, 5], [6]]);
  });

  it('delivers every push at once when the wait is zero', () => {
    const got: string[][] = [];
    const b = batcher<string>((xs) => got.push(xs), { waitMs: 0 });
    b.push('a');
    b.push('b', 'c');
    expect(got).toEqual([['a'], ['b', 'c']]);
  });
});
