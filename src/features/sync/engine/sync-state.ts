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

export function createStateStore(initial: SyncState = INITIAL) {
  let state = initial;
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(patch: Partial<SyncState>) {
      state = { ...state, ...patch };
      listeners.forEach((l) => l());
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
