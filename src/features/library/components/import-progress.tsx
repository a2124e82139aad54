import { useState } from 'react';
import { Button } from '@/components/ui/button';
import { ProgressBar } from '@/components/ui/form';
import { XIcon } from '@/components/ui/icons';
import { library, useLibrary } from '../stores/library-store';
import { displayPath, importRate } from '../utils/import-pipeline';

/** Floating card: counts, rate, current file, cancel; afterwards a summary with reasons per skipped file. */
export function ImportProgressCard() {
  const p = useLibrary((s) => s.importProgress);
  const [showSkipped, setShowSkipped] = useState(false);
  if (!p) return null;
  const rate = importRate(p);
  const left = p.total - p.done;
  const eta = rate > 0 && !p.finished ? Math.ceil(left / rate) : 0;
  const failed = p.skipped.length - p.duplicates;
  return (
    <div className="fixed bottom-12 left-2 z-30 w-[calc(100vw-1rem)] max-w-96 rounded-xl pointer-coarse:bottom-14 sm:left-4 border border-neutral-800 bg-neutral-900 p-4 text-sm shadow-2xl" data-testid="import-progress" data-finished={p.finished} data-imported={p.imported} data-skipped={p.skipped.length}>
      <div className="mb-2 flex items-center justify-between">
        <span className="font-medium text-neutral-100">
          {p.finished ? (p.cancelled ? 'Import cancelled' : p.quotaError ? 'Import stopped: storage full' : 'Import finished') : `Importing ${p.done.toLocaleString()} of ${p.total.toLocaleString()}`}
        </span>
        {p.finished && (
          <button type="button" aria-label="Dismiss" onClick={() => library.dismissImport()} className="rounded p-1 text-neutral-500 hover:text-neutral-100" data-testid="import-dismiss">
            <XIcon size={14} />
          </button>
        )}
      </div>
      <ProgressBar value={p.done} max={p.total} />
      <div className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-xs text-neutral-400" data-testid="import-summary">
        <span className="text-emerald-300">{p.imported} imported</span>
        {p.duplicates > 0 && <span>{p.duplicates} duplicate{p.duplicates > 1 ? 's' : ''}</span>}
        {failed > 0 && <span className="text-red-300">{failed} skipped</span>}
        <span className="tabular-nums">{rate.toFixed(1)} files/s</span>
        {eta > 0 && <span className="tabular-nums">~{eta < 60 ? `${eta} s` : `${Math.round(eta / 60)} min`} left</span>}
      </div>
      {!p.finished && p.current && <div className="mt-1 truncate text-[11px] text-neutral-500">{p.current}</div>}
      {p.quotaError && <div className="mt-2 rounded-md bg-red-950/60 p-2 text-xs text-red-200">{p.quotaError}</div>}
      <div className="mt-3 flex gap-2">
        {!p.finished && <Button onClick={() => library.cancelImport()} data-testid="import-cancel">Cancel</Button>}
        {p.skipped.length > 0 && (
          <Button variant="ghost" onClick={() => setShowSkipped((s) => !s)} data-testid="import-show-skipped">
            {showSkipped ? 'Hide' : 'Show'} skipped files
          </Button>
        )}
      </div>
      {showSkipped && (
        <ul className="mt-2 max-h-40 overflow-auto rounded-md bg-neutral-950 p-2 text-xs" data-testid="import-skipped">
          {p.skipped.map((s, i) => (
            <li key={i} className="flex gap-2 py-0.5" data-testid="import-skipped-file">
              <span className="flex min-w-0 flex-1 flex-col" title={displayPath(s)}>
                <span className="truncate text-neutral-300">{s.name}</span>
                {s.path && <span className="truncate text-[11px] text-neutral-500" data-testid="import-skipped-path">in {s.path}/</span>}
              </span>
              <span className="shrink-0 text-neutral-500">{s.reason}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
