// What the jobs indicator and the Status page show about generation jobs, framework-free:
// a summary of the runner's jobs (count, overall progress) and a short history of the jobs that
// ended (done, failed, cancelled), kept in localStorage so it survives a reload. The runner itself
// forgets finished jobs when asked (clearFinished); the history does not.
import { describeError, type GenerateRequest } from '@/lib/api';
import type { Lineage } from '@/lib/db/schema';
import type { GenerationJob, JobPhase, JobRunner } from './job-runner';
import { progressOf } from './progress';

export interface JobHistoryEntry {
  /** the backend's job id (the local one before it had one) and the start time: one entry per job */
  key: string;
  action: Lineage['action'];
  prompt: string;
  outcome: 'done' | 'error' | 'cancelled';
  startedAt: number;
  finishedAt: number;
  /** library ids of the images it added */
  images: string[];
  sourceId?: string;
  /** what went wrong, in the words the job list uses */
  error?: string;
  width?: number;
  height?: number;
  steps?: number;
  n?: number;
}

const ENDED: readonly JobPhase[] = ['done', 'error', 'cancelled'];
export const isActive = (j: GenerationJob) => !ENDED.includes(j.phase);

type KeyValue = Pick<Storage, 'getItem' | 'setItem'>;
const STORAGE_KEY = 'atelier.jobHistory.v1';

export interface JobHistory {
  list(): readonly JobHistoryEntry[];
  record(job: GenerationJob): void;
  /** Records every job of `runner` as it ends; returns the unsubscribe. */
  follow(runner: Pick<JobRunner, 'subscribe' | 'getSnapshot'>): () => void;
  clear(): void;
  subscribe(listener: () => void): () => void;
}

function isEntry(e: unknown): e is JobHistoryEntry {
  const o = e as Partial<JobHistoryEntry> | null;
  return !!o && typeof o.key === 'string' && typeof o.prompt === 'string' && typeof o.finishedAt === 'number' && Array.isArray(o.images);
}

export function createJobHistory(storage: KeyValue | undefined, limit = 20): JobHistory {
  let entries: JobHistoryEntry[] = load();
  const listeners = new Set<() => void>();

  function load(): JobHistoryEntry[] {
    try {
      const v = JSON.parse(storage?.getItem(STORAGE_KEY) ?? '[]') as unknown;
      return Array.isArray(v) ? v.filter(isEntry).slice(0, limit) : [];
    } catch {
      return [];
    }
  }
  function commit(next: JobHistoryEntry[]) {
    entries = next;
    try {
      storage?.setItem(STORAGE_KEY, JSON.stringify(entries));
    } catch {
      /* quota or private mode: kept for this session */
    }
    for (const l of listeners) l();
  }

  const history: JobHistory = {
    list: () => entries,
    record(job) {
      if (isActive(job)) return;
      const key = `${job.jobId ?? job.localId}@${job.startedAt}`;
      if (entries.some((e) => e.key === key)) return;
      // Upscale jobs have no width/steps/n of their own to show: only generation requests do.
      const r: Partial<GenerateRequest> = job.action === 'upscale' ? {} : (job.request as GenerateRequest);
      const entry: JobHistoryEntry = {
        key,
        action: job.action,
        prompt: job.request.prompt ?? '',
        outcome: job.phase as JobHistoryEntry['outcome'],
        startedAt: job.startedAt,
        finishedAt: job.finishedAt ?? Date.now(),
        images: [...job.savedIds],
        ...(job.sourceId ? { sourceId: job.sourceId } : {}),
        ...(job.error ? { error: describeError(job.error) } : {}),
        ...(r.width ? { width: r.width } : {}),
        ...(r.height ? { height: r.height } : {}),
        ...(r.steps ? { steps: r.steps } : {}),
        ...(r.n ? { n: r.n } : {}),
      };
      commit([entry, ...entries].sort((a, b) => b.finishedAt - a.finishedAt).slice(0, limit));
    },
    follow(runner) {
      const seen = () => runner.getSnapshot().forEach((j) => history.record(j));
      seen();
      return runner.subscribe(seen);
    },
    clear: () => commit([]),
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return history;
}

export interface JobsSummary {
  /** submitted and not ended */
  active: number;
  /** mean progress of the active jobs in %, or null when none runs */
  progress: number | null;
  done: number;
  failed: number;
  cancelled: number;
}

/** The indicator's figures. */
export function summarizeJobs(jobs: readonly GenerationJob[]): JobsSummary {
  const active = jobs.filter(isActive);
  return {
    active: active.length,
    progress: active.length ? active.reduce((s, j) => s + progressOf(j), 0) / active.length : null,
    done: jobs.filter((j) => j.phase === 'done').length,
    failed: jobs.filter((j) => j.phase === 'error').length,
    cancelled: jobs.filter((j) => j.phase === 'cancelled').length,
  };
}
