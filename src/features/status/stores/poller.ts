// Polls a fetcher gently: every `intervalMs` while the page is visible, every `hiddenMs` while
// it is hidden, not at all while the browser is offline, and with doubling backoff after errors.
// Framework-free; the dashboard reads it through useSyncExternalStore.
import { describeError } from '@/lib/api';

export interface PollState<T> {
  data: T | undefined;
  error: string | undefined;
  /** epoch ms of the last successful fetch */
  lastOk: number | undefined;
  /** consecutive failures */
  failures: number;
}

export interface PollerOptions {
  intervalMs?: number;
  hiddenMs?: number;
  maxBackoffMs?: number;
}

export function createPoller<T>(fetcher: (signal: AbortSignal) => Promise<T>, opts: PollerOptions = {}) {
  const interval = opts.intervalMs ?? 2_000;
  const hidden = opts.hiddenMs ?? 15_000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  let state: PollState<T> = { data: undefined, error: undefined, lastOk: undefined, failures: 0 };
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ctrl: AbortController | undefined;
  let running = false;

  const isHidden = () => typeof document !== 'undefined' && document.visibilityState === 'hidden';
  const isOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

  function set(next: Partial<PollState<T>>) {
    state = { ...state, ...next };
    listeners.forEach((l) => l());
  }

  function schedule() {
    clearTimeout(timer);
    if (!running || isOffline()) return; // the 'online' event restarts it
    const base = isHidden() ? hidden : interval;
    const delay = state.failures ? Math.min(maxBackoff, base * 2 ** state.failures) : base;
    timer = setTimeout(() => void tick(), delay);
  }

  async function tick() {
    ctrl?.abort();
    ctrl = new AbortController();
    try {
      const data = await fetcher(ctrl.signal);
      set({ data, error: undefined, lastOk: Date.now(), failures: 0 });
    } catch (err) {
      if (ctrl.signal.aborted) return;
      set({ error: describeError(err), failures: state.failures + 1 });
    }
    schedule();
  }

  const wake = () => {
    if (!running) return;
    if (!isHidden() && !isOffline()) void tick();
    else schedule();
  };

  return {
    getSnapshot: () => state,
    subscribe(l: () => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    start() {
      if (running) return;
      running = true;
      if (typeof window !== 'undefined') {
        document.addEventListener('visibilitychange', wake);
        window.addEventListener('online', wake);
      }
      void tick();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      ctrl?.abort();
      if (typeof window !== 'undefined') {
        document.removeEventListener('visibilitychange', wake);
        window.removeEventListener('online', wake);
      }
    },
    /** fetch now (after an action such as unload) */
    refresh: () => void tick(),
  };
}

export type Poller<T> = ReturnType<typeof createPoller<T>>;
