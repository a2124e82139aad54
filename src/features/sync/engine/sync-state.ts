// What the sync indicator shows. The leading tab owns it and broadcasts it; other tabs show it.
export type SyncPhase = 'off' | 'synced' | 'syncing' | 'pending' | 'offline' | 'error';

export interface SyncState {
  phase: SyncPhase;
  /** local changes and originals not yet on the server */
  pending: number;
  /** originals being uploaded: bytes sent of bytes to send */
  upload: { sent: number; total: number } | null;
  /** what went wrong (phase 'error' or 'offline') */
  error: string | null;
  lastSynced: number | null;
}

export const INITIAL: SyncState = { phase: 'synced', pending: 0, upload: null, error: null, lastSynced: null };

/**
 * At most one notification per this many ms for progress alone (pending counts, bytes uploaded):
 * an upload reports progress many times a second, and each notification re-renders the indicator
 * and is posted to every other tab. A new phase or error is told at once.
 */
export const PROGRESS_EVERY_MS = 250;

export function createStateStore(initial: SyncState = INITIAL, progressEveryMs = PROGRESS_EVERY_MS) {
  let state = initial;
  const listeners = new Set<() => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastTold = -Infinity;
  const tell = () => {
    clearTimeout(timer);
    timer = undefined;
    lastTold = Date.now();
    listeners.forEach((l) => l());
  };
  return {
    get: () => state,
    set(patch: Partial<SyncState>) {
      const prev = state;
      state = { ...state, ...patch };
      if (state.phase !== prev.phase || state.error !== prev.error || state.lastSynced !== prev.lastSynced) return tell();
      if (timer) return; // the trailing notification is already due: it tells the latest state
      const wait = lastTold + progressEveryMs - Date.now();
      if (wait <= 0) tell();
      else timer = setTimeout(tell, wait);
    },
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
  };
}

export type StateStore = ReturnType<typeof createStateStore>;

/** A one-line summary for the status bar. */
export function describe(s: SyncState): string {
  switch (s.phase) {
    case 'off':
      return 'Sync off';
    case 'offline':
      return 'Offline';
    case 'error':
      return 'Sync error';
    case 'syncing':
    case 'pending':
      if (s.upload && s.upload.total > 0) return `Uploading ${Math.floor((100 * s.upload.sent) / s.upload.total)}%`;
      return s.pending ? `${s.pending} pending` : 'Syncing';
    default:
      return 'Synced';
  }
}
