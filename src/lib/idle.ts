// Work that can wait for the browser's idle periods: warming search haystacks, counting tags,
// the orphan sweep. Run at once after a load they overlapped the user's first scroll; sliced into
// idle callbacks they never hold a frame (each slice stops when the idle period runs out).

export interface IdleDeadline {
  timeRemaining(): number;
  readonly didTimeout?: boolean;
}

type Ric = (cb: (d: IdleDeadline) => void, opts?: { timeout?: number }) => number;

// Safari has no requestIdleCallback: a short timer with a small budget stands in for it.
const ric: Ric =
  typeof globalThis.requestIdleCallback === 'function'
    ? (cb, opts) => globalThis.requestIdleCallback(cb, opts)
    : (cb) => setTimeout(() => {
        const end = Date.now() + 8;
        cb({ timeRemaining: () => Math.max(0, end - Date.now()) });
      }, 16) as unknown as number;
const cic = (h: number) => (typeof globalThis.cancelIdleCallback === 'function' ? globalThis.cancelIdleCallback(h) : clearTimeout(h));

export interface IdleOptions {
  /** run a slice after this long even without an idle period (so a busy page still progresses) */
  timeoutMs?: number;
}

/**
 * Runs `slice` in idle periods until it returns true (finished). A slice should check
 * `deadline.timeRemaining()` and return false to be called again. Returns a cancel function.
 */
export function idleTask(slice: (deadline: IdleDeadline) => boolean, { timeoutMs = 2_000 }: IdleOptions = {}): () => void {
  let handle: number | undefined;
  let cancelled = false;
  const run = (d: IdleDeadline) => {
    handle = undefined;
    if (cancelled) return;
    if (!slice(d)) handle = ric(run, { timeout: timeoutMs });
  };
  handle = ric(run, { timeout: timeoutMs });
  return () => {
    cancelled = true;
    if (handle !== undefined) cic(handle);
  };
}

/**
 * Calls `visit` on each item in idle slices (the clock is read every 256 items), then `done`.
 * Returns a cancel function.
 */
export function idleForEach<T>(items: readonly T[], visit: (item: T, index: number) => void, done?: () => void, schedule = idleTask): () => void {
  let i = 0;
  return schedule((d) => {
    for (; i < items.length; i++) {
      if (outOfTime(d, i)) return false;
      visit(items[i]!, i);
    }
    done?.();
    return true;
  });
}

/** True when a slice working through a loop should stop: checked every `every` iterations. */
export const outOfTime = (d: IdleDeadline, i: number, every = 256, marginMs = 1) => (i & (every - 1)) === 0 && d.timeRemaining() < marginMs;
