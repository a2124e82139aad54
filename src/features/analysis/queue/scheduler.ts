// The analysis queue: framework-free, persisted, resumable, idempotent.
//
// Guarantees, and how they are kept:
// - Survives reloads and crashes: every state change is written (in order, through one write
//   chain) before the step that depends on it. A claim is durable before its request goes out;
//   a result is durable before it is applied; `done` is durable after. On start, claimed items go
//   back to pending (their request died with the page) and resolved items are applied again.
// - Never writes a result twice: the library write is keyed by `${jobId}:${recordId}` and the
//   sink must ignore a key it has already applied (a crash between apply and `done` re-applies;
//   the app's sink, library-sink.ts, stores the key with the result in one put).
// - User-requested work first: two FIFO lanes, 'user' drained before 'auto'.
// - Never floods the backend: at most `limit` batches in flight; the limit grows by one after a
//   success while the backend's queue is short, halves on 429 (and waits Retry-After), and drops
//   to one when the backend's queue is deep.
// - Transient errors retry with exponential backoff and jitter; deterministic 4xx fail at once
//   (a batch that fails deterministically is split, so one bad image cannot fail fifteen others).
// - When the backend is unreachable the queue goes offline, probes with backoff, and resumes.
// - When the backend has no vision model yet ("not downloaded"), the queue waits the same way
//   (no attempt counted, nothing failed) until the analyzer says one is there, then runs.
//
// The policies are pure modules beside this one: lanes.ts (which items go next), flow-control.ts
// (how many calls, how large, how long to back off) and snapshot.ts (what the panel shows); this
// file runs the loop, the persistence and the recovery.
import { toApiError, type ApiError } from '@/lib/api';
import { FlowControl } from './flow-control';
import { Lanes } from './lanes';
import { queueSnapshot, Throughput } from './snapshot';
import type { Analyzer, AnalyzeOutcome, Priority, QueueItem, QueuePersistence, QueueSnapshot, ResultSink } from './types';

export interface SchedulerOptions {
  persistence: QueuePersistence;
  /** a function so that a change of provider in Settings applies to the next batch */
  analyzer: () => Analyzer;
  sink: ResultSink;
  maxConcurrency?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  probeMinMs?: number;
  probeMaxMs?: number;
  /** how often to ask whether a model was downloaded, while none is */
  modelProbeMs?: number;
  /** how often to ask the backend for its queue depth while working */
  loadCheckMs?: number;
  /** backend jobs waiting above which we keep a single batch in flight */
  highWater?: number;
  /**
   * Batches are as large as the analyzer allows (the backend batches generation across images:
   * 8 images in one call took a fifth of the time of 8 calls), but a batch should not take much
   * longer than this, which bounds the work a crash throws away. The size follows the measured
   * time per image.
   */
  targetBatchMs?: number;
  /** images in the first batch, before any speed is known: small, so the first captions show
   * quickly and the speed is learnt before 16 images are committed to one call */
  initialBatch?: number;
  /** how long the first batch waits for the backend's measured speed before going without it */
  speedAskMs?: number;
  /**
   * True while 'auto' work should wait (an import is running: decoding its originals again for
   * analysis would slow the import on the same cores). User work is never held. Call wake()
   * when it turns false.
   */
  holdAuto?: () => boolean;
  now?: () => number;
  random?: () => number;
}

export class AnalysisQueue {
  private readonly o: Required<Omit<SchedulerOptions, 'persistence' | 'analyzer' | 'sink'>>;
  private readonly persistence: QueuePersistence;
  private readonly analyzerOf: () => Analyzer;
  private readonly sink: ResultSink;

  private items = new Map<string, QueueItem>();
  /** recordId -> key of its active (pending/claimed/resolved) item */
  private active = new Map<string, string>();
  private readonly lanes = new Lanes((key) => this.items.get(key));
  private readonly flow: FlowControl;
  private readonly throughput = new Throughput();
  private seq = 0;
  private loaded: Promise<void> | undefined;
  private stopped = false;
  private paused = false;
  private offline = false;
  private needsModel = false;
  private reason: string | undefined;
  private inflight = new Map<number, { keys: string[]; ctrl: AbortController }>();
  private batchSeq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writes: Promise<void> = Promise.resolve();
  private lastLoadCheck = 0;
  /** the analyzer whose speed the backend was asked for (once per analyzer), and the pending ask */
  private speedAskedOf: Analyzer | undefined;
  private speedAsk: Promise<void> | undefined;
  private listeners = new Set<() => void>();
  private snap: QueueSnapshot;
  private emitQueued = false;

  constructor(opts: SchedulerOptions) {
    this.persistence = opts.persistence;
    this.analyzerOf = opts.analyzer;
    this.sink = opts.sink;
    this.o = {
      // Two in flight keep the single GPU worker busy (one runs while the next uploads).
      maxConcurrency: opts.maxConcurrency ?? 2,
      maxAttempts: opts.maxAttempts ?? 5,
      backoffBaseMs: opts.backoffBaseMs ?? 1_000,
      backoffMaxMs: opts.backoffMaxMs ?? 60_000,
      probeMinMs: opts.probeMinMs ?? 1_000,
      probeMaxMs: opts.probeMaxMs ?? 15_000,
      modelProbeMs: opts.modelProbeMs ?? 5_000,
      loadCheckMs: opts.loadCheckMs ?? 3_000,
      highWater: opts.highWater ?? 4,
      targetBatchMs: opts.targetBatchMs ?? 30_000,
      initialBatch: opts.initialBatch ?? 4,
      speedAskMs: opts.speedAskMs ?? 1_500,
      holdAuto: opts.holdAuto ?? (() => false),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
    this.flow = new FlowControl(this.o);
    this.snap = this.computeSnapshot();
  }

  // ---- lifecycle

  /** Load the persisted queue and recover from whatever the last page left behind. */
  start(): Promise<void> {
    this.loaded ??= this.recover();
    return this.loaded;
  }

  private async recover(): Promise<void> {
    const stored = await this.persistence.loadAll();
    stored.sort((a, b) => a.seq - b.seq);
    const toApply: QueueItem[] = [];
    const reclaimed: QueueItem[] = [];
    for (const item of stored) {
      this.seq = Math.max(this.seq, item.seq + 1);
      // The request of a claimed item died with the previous page: send it again.
      if (item.state === 'claimed') {
        item.state = 'pending';
        delete item.claimedAt;
        reclaimed.push(item);
      }
      this.items.set(item.key, item);
      if (item.state === 'pending' || item.state === 'resolved') this.active.set(item.recordId, item.key);
      if (item.state === 'pending') this.lanes.push(item.priority, item.key);
      if (item.state === 'resolved') toApply.push(item);
    }
    this.throughput.startRun(this.o.now());
    if (reclaimed.length) await this.write(reclaimed);
    // A result that was stored but maybe not applied: apply it (the sink ignores a repeat key).
    await this.commit(toApply);
    this.pump();
  }

  /** Stop everything without writing anything more (a page unload; tests use it as a crash). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const { ctrl } of this.inflight.values()) ctrl.abort();
    this.inflight.clear();
  }

  // ---- commands

  /** Queue records; 'user' work goes before 'auto' work. Resolves once the items are durable. */
  async enqueue(recordIds: readonly string[], priority: Priority = 'user'): Promise<void> {
    await this.start();
    if (this.active.size === 0) await this.startNewRun();
    const jobId = `j${this.o.now().toString(36)}${Math.floor(this.o.random() * 1e9).toString(36)}`;
    const changed: QueueItem[] = [];
    const dropped: string[] = [];
    for (const recordId of new Set(recordIds)) {
      const activeKey = this.active.get(recordId);
      const existing = activeKey ? this.items.get(activeKey) : undefined;
      if (existing) {
        // Already queued: a user request lifts it into the user lane.
        if (priority === 'user' && existing.priority === 'auto' && existing.state === 'pending') {
          existing.priority = 'user';
          this.lanes.push('user', existing.key);
          changed.push(existing);
        }
        continue;
      }
      // A failed item for the same record is replaced by the new request.
      for (const [key, it] of this.items) {
        if (it.recordId === recordId && it.state === 'failed') {
          this.items.delete(key);
          dropped.push(key);
        }
      }
      const item: QueueItem = {
        key: `${jobId}:${recordId}`,
        jobId,
        recordId,
        priority,
        seq: this.seq++,
        state: 'pending',
        attempts: 0,
        notBefore: 0,
      };
      this.items.set(item.key, item);
      this.active.set(recordId, item.key);
      this.lanes.push(priority, item.key);
      changed.push(item);
    }
    if (dropped.length) await this.remove(dropped);
    await this.write(changed);
    this.pump();
  }

  pause(): void {
    this.paused = true;
    clearTimeout(this.timer);
    this.changed();
  }

  /** Look for work again (a hold was lifted). */
  wake(): void {
    this.pump();
  }

  resume(): void {
    this.paused = false;
    this.flow.cooldownUntil = 0;
    this.pump();
  }

  /** Retry failed items (all of them, or the given keys) from scratch. */
  async retry(keys?: readonly string[]): Promise<void> {
    await this.start();
    const changed: QueueItem[] = [];
    for (const item of this.items.values()) {
      if (item.state !== 'failed' || (keys && !keys.includes(item.key))) continue;
      if (this.active.has(item.recordId)) continue;
      item.state = 'pending';
      item.attempts = 0;
      item.notBefore = 0;
      delete item.error;
      delete item.errorCode;
      this.active.set(item.recordId, item.key);
      this.lanes.push(item.priority, item.key);
      changed.push(item);
    }
    await this.write(changed);
    this.pump();
  }

  /** Forget everything: in-flight requests are aborted and their results discarded. */
  async clear(): Promise<void> {
    await this.start();
    for (const { ctrl } of this.inflight.values()) ctrl.abort();
    this.inflight.clear();
    const keys = [...this.items.keys()];
    this.items.clear();
    this.active.clear();
    this.lanes.clear();
    this.throughput.clear();
    this.flow.cooldownUntil = 0;
    await this.remove(keys);
    this.changed();
  }

  // ---- reading

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): QueueSnapshot => this.snap;

  /** Resolves when nothing is pending or in flight (tests and the benchmark). */
  async idle(): Promise<void> {
    await this.start();
    await this.writes;
    while (this.active.size > 0 || this.inflight.size > 0) {
      await new Promise<void>((resolve) => {
        const off = this.subscribe(() => {
          if (this.active.size === 0 && this.inflight.size === 0) {
            off();
            resolve();
          }
        });
      });
    }
    await this.writes;
  }

  // ---- the loop

  private pump(): void {
    if (this.stopped || !this.loaded) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.paused || this.offline || this.needsModel) return this.changed();
    const now = this.o.now();
    if (now < this.flow.cooldownUntil) {
      this.wakeAt(this.flow.cooldownUntil);
      return this.changed();
    }
    this.reason = undefined;
    const analyzer = this.analyzerOf();
    if (this.askSpeed(analyzer)) return this.changed();
    while (this.inflight.size < this.flow.limit) {
      const batch = this.pickBatch(now, this.batchSize(analyzer));
      if (batch.length === 0) break;
      this.runBatch(batch, analyzer);
    }
    const next = this.nextWake(now);
    if (next !== undefined) this.wakeAt(next);
    this.changed();
  }

  private wakeAt(at: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(0, at - this.o.now()));
  }

  /** The earliest backoff deadline among pending items, when nothing is ready now. */
  private nextWake(now: number): number | undefined {
    return this.inflight.size >= this.flow.limit ? undefined : this.lanes.nextWake(now);
  }

  private pickBatch(now: number, maxBatch: number): QueueItem[] {
    const { batch, heldAuto } = this.lanes.pick(now, maxBatch, this.o.holdAuto);
    if (heldAuto && batch.length === 0 && this.inflight.size === 0 && this.lanes.hasWork()) this.reason = 'waits for the import to finish';
    return batch;
  }

  private runBatch(batch: QueueItem[], analyzer: Analyzer): void {
    const id = ++this.batchSeq;
    const ctrl = new AbortController();
    const now = this.o.now();
    for (const it of batch) {
      it.state = 'claimed';
      it.claimedAt = now;
    }
    this.inflight.set(id, { keys: batch.map((b) => b.key), ctrl });
    void (async () => {
      try {
        // The claim is durable before the request leaves (a crash then means "send again"); the
        // analyzer reads and encodes the images while it is written. A stop() meanwhile aborts ctrl.
        const claimed = this.write(batch);
        const started = this.o.now();
        const outcomes = await analyzer.analyze(
          batch.map((b) => b.recordId),
          ctrl.signal,
          claimed,
        );
        await claimed;
        if (this.stopped || ctrl.signal.aborted) return;
        this.flow.learnSpeed(batch.length, this.o.now() - started);
        await this.settle(batch, outcomes);
        this.onSuccess(analyzer);
      } catch (err) {
        if (this.stopped || ctrl.signal.aborted) return;
        await this.onBatchError(batch, toApiError(err));
      } finally {
        this.inflight.delete(id);
        if (!this.stopped) this.pump();
      }
    })();
  }

  private async settle(batch: QueueItem[], outcomes: AnalyzeOutcome[]): Promise<void> {
    const resolved: QueueItem[] = [];
    const others: QueueItem[] = [];
    batch.forEach((item, i) => {
      if (!this.items.has(item.key)) return; // cleared meanwhile
      const out = outcomes[i];
      if (out?.ok) {
        item.state = 'resolved';
        item.result = out.result;
        resolved.push(item);
      } else {
        this.failOrRetry(item, out?.error ?? toApiError(new Error('the backend returned no result for this image')));
        others.push(item);
      }
    });
    await this.write([...resolved, ...others]);
    await this.commit(resolved);
  }

  /** Apply stored results to the library (one sink call, one write), then mark them done. */
  private async commit(batch: QueueItem[]): Promise<void> {
    const items = batch.filter((it) => it.result);
    if (this.stopped || items.length === 0) return;
    let gone: Set<string>;
    try {
      const res = await this.sink(items.map((it) => ({ recordId: it.recordId, result: it.result!, key: it.key })));
      gone = new Set(res?.gone ?? []);
    } catch (err) {
      // Storage is full, or the library cannot be written: nothing to retry automatically.
      const error = `could not save the result: ${err instanceof Error ? err.message : String(err)}`;
      for (const item of items) {
        item.state = 'failed';
        item.error = error;
        delete item.result;
        this.active.delete(item.recordId);
      }
      await this.write(items);
      return;
    }
    if (this.stopped) return;
    const now = this.o.now();
    const done: QueueItem[] = [];
    const dropped: string[] = [];
    for (const item of items) {
      this.active.delete(item.recordId);
      if (gone.has(item.recordId)) {
        // Deleted while it was analysed: nothing to report, nothing to keep.
        this.items.delete(item.key);
        dropped.push(item.key);
        continue;
      }
      item.state = 'done';
      item.doneAt = now;
      delete item.result;
      done.push(item);
    }
    if (done.length) this.throughput.record(now, done.length);
    if (dropped.length) await this.remove(dropped);
    await this.write(done);
    this.changed();
  }

  private failOrRetry(item: QueueItem, err: ApiError): void {
    item.error = err.message;
    item.errorCode = err.code;
    if (err.retryable && item.attempts + 1 < this.o.maxAttempts) {
      item.attempts++;
      item.state = 'pending';
      item.notBefore = this.o.now() + this.flow.backoff(item.attempts);
      this.lanes.push(item.priority, item.key);
    } else {
      item.attempts++;
      item.state = 'failed';
      this.active.delete(item.recordId);
    }
  }

  private requeue(items: QueueItem[], patch: Partial<QueueItem> = {}): void {
    for (const it of items) {
      if (!this.items.has(it.key)) continue;
      Object.assign(it, patch, { state: 'pending' });
      delete it.claimedAt;
      this.lanes.push(it.priority, it.key);
    }
  }

  private async onBatchError(batch: QueueItem[], err: ApiError): Promise<void> {
    const live = batch.filter((b) => this.items.has(b.key));
    if (err.offline) {
      // Not the images' fault: no attempt is counted.
      this.requeue(live);
      this.goOffline(err.message);
    } else if (err.code === 'model_not_downloaded' && this.analyzerOf().ready) {
      // Nor is a model that is not downloaded yet: wait for it.
      this.requeue(live);
      this.waitForModel(err.message);
    } else if (err.status === 429) {
      this.requeue(live);
      this.flow.rateLimited(this.o.now(), err.retryAfterMs);
      this.reason = `backend busy: ${err.message}`;
    } else if (!err.retryable && live.length > 1) {
      // Find the image at fault: send each alone.
      this.requeue(live, { solo: true });
    } else {
      if (err.retryable) this.flow.shrink();
      for (const it of live) this.failOrRetry(it, err);
    }
    await this.write(live);
  }

  /** Images per call (see FlowControl.batchSize). */
  batchSize(analyzer: Analyzer): number {
    return this.flow.batchSize(analyzer.maxBatch, this.inflight.size);
  }

  /**
   * Before the first batch for an analyzer, ask the backend how fast the model is (it has timed
   * its own work, for every client): a fast model then gets full batches from the first call, a
   * slow one small batches; and when its queue is short, two calls go out at once (one runs while
   * the next is encoded and uploaded). True while the answer is awaited (at most `speedAskMs`).
   */
  private askSpeed(analyzer: Analyzer): boolean {
    if (this.speedAsk) return true;
    if (this.speedAskedOf === analyzer || !analyzer.speed || !this.lanes.hasWork()) return false;
    this.speedAskedOf = analyzer;
    this.flow.forgetSpeed();
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.o.speedAskMs);
    this.speedAsk = analyzer
      .speed(ctrl.signal)
      .then(({ msPerImage, queued }) => this.flow.backendSpeed(msPerImage, queued))
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        this.speedAsk = undefined;
        this.pump();
      });
    return true;
  }

  private onSuccess(analyzer: Analyzer): void {
    const now = this.o.now();
    if (!analyzer.queueDepth || now - this.lastLoadCheck < this.o.loadCheckMs) {
      if (!analyzer.queueDepth) this.flow.grow();
      return;
    }
    this.lastLoadCheck = now;
    const ctrl = new AbortController();
    analyzer
      .queueDepth(ctrl.signal)
      .then((depth) => {
        if (depth === undefined) return;
        this.flow.backendQueue(depth);
        this.pump();
      })
      .catch(() => undefined);
  }

  private goOffline(reason: string): void {
    if (this.offline) return;
    this.offline = true;
    this.reason = reason;
    this.flow.reset();
    this.changed();
    let delay = this.o.probeMinMs;
    const probe = async () => {
      if (this.stopped || !this.offline) return;
      const ctrl = new AbortController();
      try {
        await this.analyzerOf().probe(ctrl.signal);
        this.offline = false;
        this.reason = undefined;
        this.pump();
      } catch {
        delay = Math.min(this.o.probeMaxMs, delay * 2);
        setTimeout(() => void probe(), delay);
      }
    };
    setTimeout(() => void probe(), delay);
  }

  private waitForModel(reason: string): void {
    this.reason = reason;
    if (this.needsModel) return;
    this.needsModel = true;
    this.flow.reset();
    this.changed();
    const check = async () => {
      if (this.stopped || !this.needsModel) return;
      const analyzer = this.analyzerOf();
      try {
        // A change of provider in Settings (to one without `ready`) ends the wait too.
        if (analyzer.ready) await analyzer.ready(new AbortController().signal);
        this.needsModel = false;
        this.reason = undefined;
        this.pump();
      } catch (err) {
        const e = toApiError(err);
        if (e.code === 'model_not_downloaded' && e.message) this.reason = e.message;
        this.changed();
        setTimeout(() => void check(), this.o.modelProbeMs);
      }
    };
    setTimeout(() => void check(), this.o.modelProbeMs);
  }

  /** Exponential backoff with "equal jitter" (see FlowControl.backoff). */
  backoff(attempt: number): number {
    return this.flow.backoff(attempt);
  }

  private async startNewRun(): Promise<void> {
    // The last run finished: its done items only fed the counters.
    const done = [...this.items.values()].filter((it) => it.state === 'done').map((it) => it.key);
    for (const key of done) this.items.delete(key);
    this.throughput.startRun(this.o.now());
    await this.remove(done);
  }

  // ---- persistence (one ordered chain, so a later state never lands before an earlier one)

  private write(items: QueueItem[]): Promise<void> {
    if (items.length === 0 || this.stopped) return this.writes;
    const copies = items.map((it) => ({ ...it }));
    this.writes = this.writes.then(() => this.persistence.putMany(copies)).catch((err) => console.error('analysis queue: write failed', err));
    this.changed();
    return this.writes;
  }

  private remove(keys: string[]): Promise<void> {
    if (keys.length === 0 || this.stopped) return this.writes;
    this.writes = this.writes.then(() => this.persistence.deleteMany(keys)).catch((err) => console.error('analysis queue: delete failed', err));
    return this.writes;
  }

  // ---- snapshot

  private changed(): void {
    if (this.emitQueued) return;
    this.emitQueued = true;
    queueMicrotask(() => {
      this.emitQueued = false;
      this.snap = this.computeSnapshot();
      for (const l of this.listeners) l();
    });
  }

  private computeSnapshot(): QueueSnapshot {
    const now = this.o.now();
    return queueSnapshot({
      items: this.items.values(),
      total: this.items.size,
      now,
      rate: this.throughput.rate(now),
      paused: this.paused,
      offline: this.offline,
      needsModel: this.needsModel,
      requests: this.inflight.size,
      limit: this.flow.limit,
      cooldownUntil: this.flow.cooldownUntil,
      reason: this.reason,
    });
  }
}
