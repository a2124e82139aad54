import { Suspense, type ReactNode } from 'react';
import { useLibrary } from '@/features/library';
import { formatBytes } from '@/lib/db/storage';
import { AnalysisIndicatorSlot } from './extensions';

/** Counts, the analysis queue, running jobs (children) and storage; phones drop the storage meter. */
export function StatusBar({ onAnalysisClick, compact = false, children }: { onAnalysisClick: () => void; compact?: boolean; children?: ReactNode }) {
  const shown = useLibrary((s) => s.order.length);
  const total = useLibrary((s) => s.byId.size);
  const selected = useLibrary((s) => s.selection.ids.size);
  const storage = useLibrary((s) => s.storage);
  const queryMs = useLibrary((s) => s.queryMs);
  const status = useLibrary((s) => s.status);
  const loaded = useLibrary((s) => s.loaded);
  const pct = storage && storage.quota ? (storage.usage / storage.quota) * 100 : 0;
  return (
    <footer className="flex h-8 shrink-0 items-center gap-3 border-t border-neutral-800 bg-neutral-925 px-3 text-[11px] text-neutral-400 pointer-coarse:h-11 pointer-coarse:pb-[env(safe-area-inset-bottom)] sm:gap-4" data-testid="status-bar">
      {status === 'partial' ? (
        <span className="animate-pulse" data-testid="counts-loading">Loading library… {loaded.toLocaleString()}</span>
      ) : (
        <span data-testid="counts" data-shown={shown} data-total={total} title={`query ${queryMs.toFixed(1)} ms`}>
          <span className="font-medium text-neutral-200 tabular-nums">{shown.toLocaleString()}</span> of <span className="tabular-nums">{total.toLocaleString()}</span>
        </span>
      )}
      {selected > 0 && <span data-testid="selected-count" className="text-amber-300">{selected.toLocaleString()} selected</span>}
      <Suspense fallback={null}>
        <AnalysisIndicatorSlot onClick={onAnalysisClick} />
        {children}
      </Suspense>
      <span className={`ml-auto items-center gap-2 ${compact ? 'hidden' : 'flex'}`} data-testid="storage" title={storage ? `${storage.persisted ? 'Persistent storage: the browser will not evict the library' : 'Best-effort storage: the browser may evict the library under pressure'}` : ''}>
        {storage && (
          <>
            <span className={`h-1.5 w-1.5 rounded-full ${storage.persisted ? 'bg-emerald-400' : 'bg-amber-400'}`} />
            <span className="tabular-nums">{formatBytes(storage.usage)} of {formatBytes(storage.quota)}</span>
            <span className="h-1 w-16 overflow-hidden rounded-full bg-neutral-800">
              <span className={`block h-full ${pct > 90 ? 'bg-red-500' : 'bg-neutral-500'}`} style={{ width: `${Math.max(1, pct)}%` }} />
            </span>
          </>
        )}
      </span>
    </footer>
  );
}
