import { useSyncExternalStore } from 'react';
import { describe } from '../engine/sync-state';
import { syncNow, syncState } from '../engine/start-sync';

const DOT: Record<string, string> = {
  synced: 'bg-emerald-500',
  syncing: 'bg-sky-500 animate-pulse',
  pending: 'bg-amber-500',
  offline: 'bg-neutral-500',
  error: 'bg-red-500',
  off: 'bg-neutral-600',
};

/** The status bar's sync state: synced / n pending / uploading % / offline / error with Retry. */
export function SyncIndicator() {
  const s = useSyncExternalStore(syncState.subscribe, syncState.get);
  const text = describe(s);
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-neutral-400" data-testid="sync-indicator" data-phase={s.phase} data-pending={s.pending} title={s.error ?? (s.lastSynced ? `Last synced ${new Date(s.lastSynced).toLocaleTimeString()}` : text)}>
      <span className={`inline-block h-2 w-2 rounded-full ${DOT[s.phase] ?? ''}`} aria-hidden />
      <span>{text}</span>
      {(s.phase === 'error' || s.phase === 'offline') && (
        <button type="button" className="rounded px-1.5 py-0.5 text-neutral-200 underline-offset-2 hover:underline" onClick={syncNow} data-testid="sync-retry">
          Retry
        </button>
      )}
    </span>
  );
}
