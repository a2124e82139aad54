import { describeError } from '@/lib/api';
import { Button } from '@/components/ui/button';
import { ProgressBar } from '@/components/ui/form';
import { generationJobs } from '../generation-service';
import type { GenerationJob } from '../jobs/job-runner';
import { progressOf } from '../jobs/progress';
import { isActive } from '../jobs/job-history';

function phaseText(j: GenerationJob): string {
  switch (j.phase) {
    case 'submitting':
      return 'Sending…';
    case 'queued':
      return j.position && j.position > 0 ? `Queued · position ${j.position}` : 'Queued';
    case 'starting':
      return 'Starting…';
    case 'loading':
      return 'Loading the model…';
    case 'running':
      if (j.tile !== undefined && j.tiles) {
        const what = j.stage === 'enhance' ? 'Enhancing' : 'Upscaling';
        if (j.tile >= j.tiles) return `${what} · ${j.tiles} tile${j.tiles === 1 ? '' : 's'} done`;
        return `${what} · tile ${j.tile + 1} of ${j.tiles}${j.stage === 'enhance' && j.step !== undefined && j.steps ? `, step ${j.step} of ${j.steps}` : ''}`;
      }
      return j.step !== undefined && j.steps ? `Step ${j.step} of ${j.steps}` : 'Running…';
    case 'decoding':
      return 'Decoding…';
    case 'saving':
      return 'Saving to the library…';
    case 'cancelling':
      return j.cancelledFrom === 'running' && j.step !== undefined && j.steps ? `Cancelling… (at step ${j.step} of ${j.steps})` : 'Cancelling…';
    case 'done':
      return `Done · ${j.savedIds.length} image${j.savedIds.length === 1 ? '' : 's'} added to the library`;
    case 'cancelled':
      return 'Cancelled';
    case 'error':
      return 'Failed';
  }
}


/** Live progress of generation jobs, with cancel; errors carry the backend's message. */
export function JobList({ jobs, onOpen }: { jobs: readonly GenerationJob[]; onOpen?: (id: string) => void }) {
  if (jobs.length === 0) return null;
  return (
    <ul className="flex flex-col gap-2" data-testid="generation-jobs">
      {jobs.map((j) => (
        <li key={j.localId} className="rounded-md border border-neutral-800 bg-neutral-950/60 px-3 py-2" data-testid="generation-job" data-phase={j.phase}>
          <div className="flex items-center gap-3">
            <div className="min-w-0 flex-1">
              <div className="flex items-baseline gap-2 text-xs">
                <span className="font-medium capitalize text-neutral-200">{j.action}</span>
                <span className={j.phase === 'error' ? 'text-red-300' : 'text-neutral-400'} data-testid="generation-job-phase">
                  {phaseText(j)}
                </span>
              </div>
              <div className="truncate text-xs text-neutral-500" title={j.request.prompt ?? undefined}>
                {'scale' in j.request ? `×${j.request.scale ?? 4}${j.request.enhance ? ' + enhance' : ''}${j.request.prompt ? ` · ${j.request.prompt}` : ''}` : j.request.prompt || '(no prompt)'}
              </div>
            </div>
            {isActive(j) && j.phase !== 'saving' && j.phase !== 'cancelling' && (
              <Button variant="ghost" onClick={() => void generationJobs().cancel(j.localId)} data-testid="generation-cancel">
                Cancel
              </Button>
            )}
            {j.phase === 'done' && onOpen && j.savedIds[0] && (
              <Button variant="ghost" onClick={() => onOpen(j.savedIds[0]!)}>
                Open
              </Button>
            )}
          </div>
          {isActive(j) && (
            <div className="mt-2">
              <ProgressBar value={progressOf(j)} max={100} />
            </div>
          )}
          {j.error && (
            <p className="mt-2 text-xs text-red-300" role="alert" data-testid="generation-error">
              {describeError(j.error)}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}
