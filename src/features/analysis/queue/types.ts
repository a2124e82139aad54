import type { AnalysisResult } from '@/lib/db/schema';
import type { ApiError } from '@/lib/api';

export type Priority = 'user' | 'auto';

/**
 * One record to analyse, persisted as it moves through
 *   pending -> claimed (lease taken, request about to go out)
 *           -> resolved (result stored here, not yet applied to the library)
 *           -> done (applied; result dropped)
 * or -> failed (deterministic error, or retries exhausted).
 * `key` = `${jobId}:${recordId}` is the idempotency key the library write is made with.
 */
export interface QueueItem {
  key: string;
  jobId: string;
  recordId: string;
  priority: Priority;
  /** arrival order, for FIFO within a priority */
  seq: number;
  state: 'pending' | 'claimed' | 'resolved' | 'done' | 'failed';
  attempts: number;
  /** not before this epoch ms (backoff) */
  notBefore: number;
  claimedAt?: number;
  doneAt?: number;
  result?: AnalysisResult;
  error?: string;
  errorCode?: string;
  /** send alone: a batch it was in failed deterministically, find the bad image */
  solo?: boolean;
}

/** Where the queue keeps its items (IndexedDB in the app, a Map in tests). */
export interface QueuePersistence {
  loadAll(): Promise<QueueItem[]>;
  putMany(items: QueueItem[]): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
}

/** Per-image outcome of one analyzer call, in the order of the request. */
export type AnalyzeOutcome = { ok: true; result: AnalysisResult } | { ok: false; error: ApiError };

/** Talks to a vision backend: ours (/v1/analyze/batch) or an OpenAI-compatible provider. */
export interface Analyzer {
  /** images per call (16 for ours, 1 for chat completions) */
  readonly maxBatch: number;
  /**
   * Throws ApiError when the whole call failed; per-image failures come back as outcomes.
   * `sendable` resolves once the claim on these records is durable: the analyzer may read and
   * encode the images meanwhile, but must await it before its request leaves.
   */
  analyze(recordIds: string[], signal: AbortSignal, sendable?: Promise<void>): Promise<AnalyzeOutcome[]>;
  /** cheap reachability check used while offline */
  probe(signal: AbortSignal): Promise<void>;
  /**
   * Resolves once the backend has a model to analyse with; rejects (with the reason) while it has
   * none. With it, a "not downloaded" answer makes the queue wait for the model instead of failing
   * every image (a first run, before the vision model is downloaded).
   */
  ready?(signal: AbortSignal): Promise<void>;
  /** jobs waiting in the backend's queue (all clients), when it can tell */
  queueDepth?(signal: AbortSignal): Promise<number | undefined>;
  /** the model's speed as the backend measured it (ms per image) and the jobs waiting there, when
   *  it can tell: sizes the first batch and its concurrency before this page has timed a call */
  speed?(signal: AbortSignal): Promise<{ msPerImage?: number; queued?: number }>;
}

export interface SinkEntry {
  recordId: string;
  result: AnalysisResult;
  key: string;
}

/**
 * Applies a batch's results to the library (one write for the batch); exactly once per entry's
 * `key`: an entry whose key was applied already writes nothing (the record, its `analysis.at` and
 * the user's edits since stay). Resolves with the records that were deleted meanwhile, if any.
 * The app's is ./library-sink.ts.
 */
export type ResultSink = (entries: SinkEntry[]) => Promise<{ gone?: readonly string[] } | void>;

/** `needs-model`: the backend has no vision model yet; the queue waits (nothing fails) and resumes when one is downloaded */
export type QueueState = 'idle' | 'running' | 'paused' | 'offline' | 'waiting' | 'needs-model';

export interface Failure {
  key: string;
  recordId: string;
  error: string;
  code?: string;
  attempts: number;
}

export interface QueueSnapshot {
  state: QueueState;
  total: number;
  done: number;
  failed: number;
  pending: number;
  inflight: number;
  /** records in flight right now */
  current: string[];
  /** items per second over the recent window */
  rate: number;
  /** ms, undefined when unknown */
  etaMs: number | undefined;
  /** requests in flight now, and the adaptive limit */
  requests: number;
  concurrency: number;
  failures: Failure[];
  /** why the queue is waiting or offline, for the panel */
  reason?: string;
  /** epoch ms the queue waits until (Retry-After / backoff), when waiting */
  resumeAt?: number;
}
