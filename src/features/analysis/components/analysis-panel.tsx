import { useSyncExternalStore } from 'react';
import { settings } from '@/lib/api';
import { Button } from '@/components/ui/button';
import { ProgressBar } from '@/components/ui/form';
import { PauseIcon, PlayIcon, TrashIcon } from '@/components/ui/icons';
import { analysisQueue } from '../analysis-service';
import { useAnalysisQueue } from '../hooks/use-analysis-queue';
import { useQueueRole } from '../hooks/use-queue-role';
import { useRecordNames } from '../hooks/use-record-names';
import type { QueueSnapshot } from '../queue/types';
import { formatDuration, formatRate } from '../utils/format';

const STATE_LABEL: Record<QueueSnapshot['state'], { text: string; tone: string }> = {
  idle: { text: 'Idle', tone: 'bg-neutral-800 text-neutral-300' },
  running: { text: 'Analysing', tone: 'bg-emerald-500/15 text-emerald-300' },
  waiting: { text: 'Waiting', tone: 'bg-amber-500/15 text-amber-300' },
  paused: { text: 'Paused', tone: 'bg-neutral-700 text-neutral-200' },
  offline: { text: 'Backend offline', tone: 'bg-red-500/15 text-red-300' },
  'needs-model': { text: 'Waiting for a vision model', tone: 'bg-amber-500/15 text-amber-300' },
};

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="min-w-0">
      <div className="text-[11px] uppercase tracking-wide text-neutral-500">{label}</div>
      <div className="truncate font-mono text-sm text-neutral-100 tabular-nums" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

/** The analysis queue at a glance: progress, rate, ETA, what runs now, what failed and why. */
export function AnalysisPanel({ heading }: { heading?: string } = {}) {
  const snap = useAnalysisQueue();
  const auto = useSyncExternalStore(settings.subscribe, () => settings.get().autoAnalyze);
  const names = useRecordNames([...snap.current, ...snap.failures.slice(0, 50).map((f) => f.recordId)]);
  const q = analysisQueue();
  const role = useQueueRole();
  const label = STATE_LABEL[snap.state];
  const remaining = snap.pending + snap.inflight;

  return (
    <section className="flex flex-col gap-4 text-sm" data-testid="analysis-panel" data-role={role} aria-label="Analysis queue">
      <header className="flex items-center gap-3">
        {heading && <h2 className="text-sm font-semibold text-neutral-100">{heading}</h2>}
        <span className={`rounded-full px-2 py-0.5 text-xs ${label.tone}`} data-testid="analysis-state">
          {label.text}
        </span>
        <div className="ml-auto flex gap-2">
          {snap.state === 'paused' ? (
            <Button icon={<PlayIcon width={14} height={14} />} onClick={() => q.resume()}>
              Resume
            </Button>
          ) : (
            <Button icon={<PauseIcon width={14} height={14} />} onClick={() => q.pause()} disabled={snap.total === 0}>
              Pause
            </Button>
          )}
          <Button variant="ghost" icon={<TrashIcon width={14} height={14} />} onClick={() => void q.clear()} disabled={snap.total === 0} title="Forget the queue (results already saved stay)">
            Clear
          </Button>
        </div>
      </header>

      {role === 'follower' && (
        <p className="text-xs text-neutral-500" data-testid="analysis-elsewhere">
          Running in another tab of Atelier; the controls here act on it.
        </p>
      )}

      {snap.reason && (snap.state === 'offline' || snap.state === 'waiting' || snap.state === 'needs-model') && (
        <p className="rounded-md border border-amber-500/30 bg-amber-500/10 px-3 py-2 text-xs text-amber-200" role="status" data-testid="analysis-reason">
          {snap.state === 'offline' ? 'The backend is unreachable; the queue resumes by itself when it is back. ' : ''}
          {snap.state === 'needs-model' ? 'Nothing is lost: the queue starts by itself once a vision model is downloaded. ' : ''}
          <span className="text-amber-300/80">{snap.reason}</span>
        </p>
      )}

      <div className="flex flex-col gap-1.5">
        <div className="flex justify-between text-xs text-neutral-400">
          <span data-testid="analysis-progress">
            {snap.done} of {snap.total} analysed
          </span>
          {snap.failed > 0 && <span className="text-red-300">{snap.failed} failed</span>}
        </div>
        <ProgressBar value={snap.done + snap.failed} max={snap.total} testId="analysis-progressbar" />
      </div>

      <div className="grid grid-cols-4 gap-3">
        <Stat label="Remaining" value={String(remaining)} testId="analysis-remaining" />
        <Stat label="Rate" value={formatRate(snap.rate)} testId="analysis-rate" />
        <Stat label="ETA" value={remaining ? formatDuration(snap.etaMs) : '—'} testId="analysis-eta" />
        <Stat label="Requests" value={`${snap.requests} of ${snap.concurrency}`} />
      </div>

      {snap.current.length > 0 && (
        <div className="text-xs text-neutral-400" data-testid="analysis-current">
          <span className="text-neutral-500">Now: </span>
          <span className="text-neutral-200">{names.get(snap.current[0]!) ?? '…'}</span>
          {snap.inflight > 1 && <span> and {snap.inflight - 1} more in flight</span>}
        </div>
      )}

      {snap.failures.length > 0 && (
        <div className="flex flex-col gap-2">
          <div className="flex items-center justify-between">
            <h3 className="text-xs font-semibold uppercase tracking-wide text-neutral-500">Failures</h3>
            <Button onClick={() => void q.retry()}>Retry all</Button>
          </div>
          <ul className="max-h-48 divide-y divide-neutral-800 overflow-auto rounded-md border border-neutral-800" data-testid="analysis-failures">
            {snap.failures.slice(0, 50).map((f) => (
              <li key={f.key} className="flex items-center gap-3 px-3 py-2">
                <div className="min-w-0 flex-1">
                  <div className="truncate text-neutral-200">{names.get(f.recordId) ?? f.recordId}</div>
                  <div className="truncate text-xs text-red-300" title={f.error}>
                    {f.error}
                    {f.attempts > 1 && <span className="text-neutral-500"> · {f.attempts} attempts</span>}
                  </div>
                </div>
                <Button variant="ghost" onClick={() => void q.retry([f.key])}>
                  Retry
                </Button>
              </li>
            ))}
          </ul>
        </div>
      )}

      <label className="flex items-center gap-2 text-xs text-neutral-400">
        <input type="checkbox" className="accent-amber-500" checked={auto} onChange={(e) => settings.set({ autoAnalyze: e.target.checked })} data-testid="auto-analyze" />
        Analyse new imports automatically
      </label>
    </section>
  );
}

/** A compact pill for the top bar: "Analysing 12/40", hidden when there is nothing to say. */
export function AnalysisIndicator({ onClick }: { onClick?: () => void }) {
  const snap = useAnalysisQueue();
  if (snap.total === 0 || (snap.state === 'idle' && snap.failed === 0)) return null;
  const label = STATE_LABEL[snap.state];
  return (
    <button type="button" onClick={onClick} className={`inline-flex h-7 items-center gap-2 rounded-full px-3 text-xs ${label.tone}`} data-testid="analysis-indicator">
      <span>{label.text}</span>
      <span className="font-mono tabular-nums">
        {snap.done}/{snap.total}
      </span>
      {snap.failed > 0 && <span className="text-red-300">· {snap.failed} failed</span>}
    </button>
  );
}
