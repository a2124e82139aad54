// What the panel shows of the queue: counts, state, throughput and ETA, computed from the items
// and the scheduler's flags. Pure (the time comes in as `now`).
import type { Failure, QueueItem, QueueSnapshot, QueueState } from './types';

const RATE_WINDOW_MS = 60_000;

/** Items finished per second over the last minute of the current run. */
export class Throughput {
  private completions: { at: number; n: number }[] = [];
  private runStartedAt = 0;

  /** A new run (the last one finished, or the page started): its rate starts from zero. */
  startRun(now: number): void {
    this.completions = [];
    this.runStartedAt = now;
  }

  clear(): void {
    this.completions = [];
  }

  record(at: number, n: number): void {
    this.completions.push({ at, n });
  }

  rate(now: number): number {
    const from = Math.max(now - RATE_WINDOW_MS, this.runStartedAt);
    this.completions = this.completions.filter((c) => c.at >= now - RATE_WINDOW_MS);
    const recent = this.completions.reduce((s, c) => s + c.n, 0);
    const span = Math.max(1_000, now - from);
    return recent > 0 ? (recent * 1000) / span : 0;
  }
}

export interface SnapshotInput {
  items: Iterable<QueueItem>;
  total: number;
  now: number;
  rate: number;
  paused: boolean;
  offline: boolean;
  needsModel: boolean;
  /** requests in flight, and the limit on them */
  requests: number;
  limit: number;
  cooldownUntil: number;
  reason: string | undefined;
}

export function queueSnapshot(s: SnapshotInput): QueueSnapshot {
  let done = 0;
  let failed = 0;
  let pending = 0;
  const current: string[] = [];
  const failures: Failure[] = [];
  for (const it of s.items) {
    if (it.state === 'done') done++;
    else if (it.state === 'failed') {
      failed++;
      failures.push({ key: it.key, recordId: it.recordId, error: it.error ?? 'failed', attempts: it.attempts, ...(it.errorCode ? { code: it.errorCode } : {}) });
    } else if (it.state === 'claimed' || it.state === 'resolved') current.push(it.recordId);
    else pending++;
  }
  const { now, rate } = s;
  const remaining = pending + current.length;
  let state: QueueState = 'idle';
  if (s.paused) state = 'paused';
  else if (s.offline) state = 'offline';
  else if (s.needsModel) state = 'needs-model';
  else if (remaining > 0 && s.requests === 0 && (now < s.cooldownUntil || pending > 0)) state = 'waiting';
  else if (remaining > 0) state = 'running';
  const snap: QueueSnapshot = {
    state,
    total: s.total,
    done,
    failed,
    pending,
    inflight: current.length,
    current: current.slice(0, 16),
    rate,
    etaMs: rate > 0 && remaining > 0 ? (remaining / rate) * 1000 : undefined,
    requests: s.requests,
    concurrency: s.limit,
    failures: failures.slice(0, 200),
  };
  if (s.reason) snap.reason = s.reason;
  if (state === 'waiting' && s.cooldownUntil > now) snap.resumeAt = s.cooldownUntil;
  return snap;
}
