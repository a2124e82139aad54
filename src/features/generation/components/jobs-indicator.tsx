import { useCallback, useRef, useState } from 'react';
import { Button } from '@/components/ui/button';
import { PlusIcon, SparklesIcon } from '@/components/ui/icons';
import { Popover } from '@/components/ui/popover';
import { generationJobs } from '../generation-service';
import { useGenerationJobs } from '../hooks/use-jobs';
import { summarizeJobs } from '../jobs/job-history';
import { JobList } from './job-list';

/**
 * Running work, once the prompt modal is closed: how many jobs run and how far they are, in the
 * status bar; a click lists them with Cancel and Open. Hidden until the first job of the session.
 */
export function JobsIndicator({ onOpenImage, onNewImage }: { onOpenImage: (id: string) => void; onNewImage: () => void }) {
  const jobs = useGenerationJobs();
  const [open, setOpen] = useState(false);
  const anchor = useRef<HTMLButtonElement>(null);
  const close = useCallback(() => setOpen(false), []);
  if (!jobs.length) return null;
  const s = summarizeJobs(jobs);
  const text = s.active
    ? `${s.active} generating${s.progress !== null ? ` · ${Math.round(s.progress)}%` : ''}`
    : s.failed
      ? `${s.failed} failed`
      : `${s.done} done`;
  return (
    <>
      <button
        ref={anchor}
        type="button"
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
        aria-haspopup="dialog"
        title="Generation jobs"
        data-testid="jobs-indicator"
        data-active={s.active}
        className={`relative flex h-6 items-center gap-1.5 overflow-hidden rounded-full px-2.5 pointer-coarse:h-9 ${s.active ? 'bg-amber-500/15 text-amber-200' : s.failed ? 'bg-red-500/15 text-red-300' : 'bg-neutral-800 text-neutral-300'}`}
      >
        <SparklesIcon size={12} className={s.active ? 'animate-pulse' : ''} />
        <span className="whitespace-nowrap tabular-nums">{text}</span>
        {s.progress !== null && <span className="absolute inset-x-0 bottom-0 h-0.5 origin-left bg-amber-400" style={{ transform: `scaleX(${s.progress / 100})` }} />}
      </button>
      {open && (
        <Popover anchor={anchor} onClose={close} placement="above" className="w-[26rem] max-w-[calc(100vw-1rem)] p-2" testId="jobs-popover" label="Generation jobs">
          <div className="mb-2 flex items-center gap-2 px-1">
            <h3 className="text-xs font-semibold tracking-wide text-neutral-400 uppercase">Generation jobs</h3>
            <Button variant="ghost" className="ml-auto h-7 px-2 text-xs" onClick={() => generationJobs().clearFinished()} disabled={s.active === jobs.length}>
              Clear finished
            </Button>
            <Button variant="ghost" className="h-7 px-2 text-xs" icon={<PlusIcon size={13} />} onClick={() => { close(); onNewImage(); }}>
              New
            </Button>
          </div>
          <JobList jobs={jobs} onOpen={(id) => { close(); onOpenImage(id); }} />
        </Popover>
      )}
    </>
  );
}
