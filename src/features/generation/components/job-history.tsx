import { useSyncExternalStore } from 'react';
import { Button } from '@/components/ui/button';
import { jobHistory } from '../generation-service';
import type { JobHistoryEntry } from '../jobs/job-history';

const TONE: Record<JobHistoryEntry['outcome'], string> = {
  done: 'bg-emerald-500/15 text-emerald-300',
  error: 'bg-red-500/15 text-red-300',
  cancelled: 'bg-neutral-800 text-neutral-400',
};

const ago = (t: number) => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
};
const took = (e: JobHistoryEntry) => {
  const s = (e.finishedAt - e.startedAt) / 1000;
  return s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
};

/** The last generation jobs of this browser (they outlive the prompt modal and a reload), for the Status page. */
export function JobHistory({ onOpenImage, exists }: { onOpenImage: (id: string) => void; exists: (id: string) => boolean }) {
  const h = jobHistory();
  const entries = useSyncExternalStore(h.subscribe, h.list);
  if (!entries.length) return <p className="text-xs text-neutral-500" data-testid="job-history">No generation jobs yet.</p>;
  return (
    <ul className="flex flex-col divide-y divide-neutral-800/70 text-xs" data-testid="job-history">
      {entries.map((e) => {
        const first = e.images.find(exists);
        const shape = [e.width && e.height ? `${e.width}×${e.height}` : '', e.steps ? `${e.steps} steps` : '', e.n && e.n > 1 ? `×${e.n}` : ''].filter(Boolean).join(' · ');
        return (
          <li key={e.key} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-1.5" data-testid="job-history-entry" data-outcome={e.outcome}>
            <span className={`rounded-full px-2 py-0.5 ${TONE[e.outcome]}`}>{e.outcome === 'error' ? 'failed' : e.outcome}</span>
            <span className="capitalize text-neutral-200">{e.action}</span>
            <span className="min-w-[10rem] flex-1 truncate text-neutral-400" title={e.prompt}>{e.prompt || '(no prompt)'}</span>
            {shape && <span className="text-neutral-500">{shape}</span>}
            <span className="text-neutral-500 tabular-nums" title={new Date(e.finishedAt).toLocaleString()}>{ago(e.finishedAt)} · {took(e)}</span>
            {first && (
              <Button variant="ghost" className="h-7 px-2 text-xs" onClick={() => onOpenImage(first)}>
                Open{e.images.length > 1 ? ` (${e.images.length})` : ''}
              </Button>
            )}
            {e.error && <p className="w-full text-red-300/90">{e.error}</p>}
          </li>
        );
      })}
    </ul>
  );
}
