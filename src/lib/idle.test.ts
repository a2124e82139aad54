import { describe, expect, it } from 'vitest';
import { idleTask, outOfTime, type IdleDeadline } from './idle';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('idleTask', () => {
  it('calls the slice again until it reports it is finished', async () => {
    const calls: number[] = [];
    let n = 0;
    await new Promise<void>((resolve) =>
      idleTask((d) => {
        calls.push(d.timeRemaining());
        n++;
        if (n === 3) resolve();
        return n === 3;
      }),
    );
    await wait(50);
    expect(n).toBe(3);
    expect(calls.every((t) => t >= 0)).toBe(true);
  });

  it('stops calling once cancelled', async () => {
    let n = 0;
    const cancel = idleTask(() => {
      n++;
      return false;
    });
    cancel();
    await wait(60);
    expect(n).toBe(0);
  });
});

describe('outOfTime', () => {
  const deadline = (ms: number): IdleDeadline => ({ timeRemaining: () => ms });
  it('looks at the clock only every so many iterations', () => {
    expect(outOfTime(deadline(0), 256)).toBe(true);
    expect(outOfTime(deadline(0), 257)).toBe(false);
    expect(outOfTime(deadline(5), 256)).toBe(false);
  });
});
