import { Button } from '@/components/ui/button';
import type { DownloadView } from '../stores/downloads';
import { formatBytes } from '../utils/bytes';

/** Progress bar (or the failure) of a model download, under the model's row. */
export function DownloadRow({ view, onRetry, onDismiss }: { view: DownloadView; onRetry(): void; onDismiss(): void }) {
  const p = view.progress;
  const total = p?.bytes_total ?? 0;
  const done = p?.bytes_done ?? 0;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  if (view.phase === 'error') {
    return (
      <div className="flex items-start gap-3 rounded-md border border-red-500/30 bg-red-500/10 px-3 py-2 text-red-200" role="alert" data-testid="download-error">
        <span className="flex-1 leading-relaxed">
          <span className="font-medium text-red-100">Download failed: </span>
          {view.error}
        </span>
        <Button variant="ghost" onClick={onRetry}>
          Retry
        </Button>
        <Button variant="ghost" onClick={onDismiss} aria-label="Dismiss">
          ✕
        </Button>
      </div>
    );
  }
  return (
    <div className="flex items-center gap-3" data-testid="download-progress">
      <div className="h-2 flex-1 overflow-hidden rounded-full bg-neutral-800" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
        <div className={`h-full rounded-full bg-amber-400 transition-[width] duration-500 ${total > 0 ? '' : 'w-1/4 animate-pulse'}`} style={total > 0 ? { width: `${pct}%` } : undefined} />
      </div>
      <span className="w-48 text-right font-mono text-neutral-300">
        {view.phase === 'done' ? 'Downloaded' : view.phase === 'starting' ? 'Starting…' : total > 0 ? `${formatBytes(done)} / ${formatBytes(total)} · ${pct.toFixed(0)}%` : `${formatBytes(done)}`}
      </span>
    </div>
  );
}

