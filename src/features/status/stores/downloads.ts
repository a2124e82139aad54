// Model downloads started from the status page: POST starts one, then GET is polled every
// `intervalMs` while it runs. Framework-free; the dashboard reads it through useSyncExternalStore.
import { describeError, getDownload, startDownload, type DownloadProgress } from '@/lib/api';

export interface DownloadView {
  phase: 'starting' | 'running' | 'done' | 'error';
  progress?: DownloadProgress;
  /** the backend's message (from the error envelope or the progress object) */
  error?: string;
}

export interface DownloadsOptions {
  intervalMs?: number;
  /** consecutive failed polls before giving up */
  maxPollFailures?: number;
  /** called once a download finishes (the dashboard refreshes /v1/status) */
  onDone?(modelId: string): void;
}

export function createDownloads(opts: DownloadsOptions = {}) {
  const interval = opts.intervalMs ?? 1_000;
  const maxFailures = opts.maxPollFailures ?? 3;
  let views: Readonly<Record<string, DownloadView>> = {};
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const listeners = new Set<() => void>();

  function set(id: string, v: DownloadView) {
    views = { ...views, [id]: v };
    listeners.forEach((l) => l());
  }

  /** Map a progress object to what the page shows; keeps polling while it runs. */
  function apply(id: string, progress: DownloadProgress) {
    if (progress.state === 'running') {
      set(id, { phase: 'running', progress });
      schedule(id, 0);
    } else if (progress.state === 'done') {
      set(id, { phase: 'done', progress });
      opts.onDone?.(id);
    } else if (progress.state === 'error') {
      set(id, { phase: 'error', progress, error: progress.error?.message ?? 'The download failed.' });
    } else {
      set(id, { phase: 'error', progress, error: 'The download is no longer running (the backend may have restarted).' });
    }
  }

  function schedule(id: string, failures: number) {
    clearTimeout(timers.get(id));
    timers.set(
      id,
      setTimeout(() => {
        timers.delete(id);
        getDownload(id).then(
          (p) => apply(id, p),
          (err: unknown) => {
            if (failures + 1 >= maxFailures) set(id, { ...views[id], phase: 'error', error: describeError(err) });
            else schedule(id, failures + 1);
          },
        );
      }, interval),
    );
  }

  return {
    getSnapshot: () => views,
    subscribe(l: () => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    get: (id: string): DownloadView | undefined => views[id],
    /** Start (or retry) a download; a no-op while one for the same model is in progress. */
    async start(id: string): Promise<void> {
      const phase = views[id]?.phase;
      if (phase === 'starting' || phase === 'running') return;
      set(id, { phase: 'starting' });
      try {
        apply(id, await startDownload(id));
      } catch (err) {
        set(id, { phase: 'error', error: describeError(err) });
      }
    },
    /** Forget a finished or failed download (dismiss its message). */
    clear(id: string) {
      clearTimeout(timers.get(id));
      timers.delete(id);
      const { [id]: _, ...rest } = views;
      views = rest;
      listeners.forEach((l) => l());
    },
    stop() {
      timers.forEach((t) => clearTimeout(t));
      timers.clear();
    },
  };
}

export type Downloads = ReturnType<typeof createDownloads>;
