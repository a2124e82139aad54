// How hard the queue pushes the backend: how many batches may be in flight, how large each is,
// how long to back off. Pure policy over numbers (no timers, no I/O): the scheduler reports what
// happened and asks what to do next.
//
// - At most `limit` batches in flight: one more after a success while the backend's queue is
//   short, halved on 429 or a transient error, one while the backend's queue is deep or offline.
// - Batches as large as the analyzer allows, but not much longer than `targetBatchMs` at the
//   measured speed (that bounds the work a crash throws away).
// - Exponential backoff with "equal jitter": half fixed, half random, capped.

export interface FlowOptions {
  maxConcurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  highWater: number;
  targetBatchMs: number;
  initialBatch: number;
  random: () => number;
}

export class FlowControl {
  /** batches allowed in flight */
  limit = 1;
  /** smoothed ms per image of recent batches */
  msPerImage: number | undefined;
  /** no batch leaves before this epoch ms (a 429's Retry-After) */
  cooldownUntil = 0;

  constructor(private readonly o: FlowOptions) {}

  backoff(attempt: number): number {
    const ceiling = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    return ceiling / 2 + this.o.random() * (ceiling / 2);
  }

  /**
   * Images per call: the analyzer's maximum, or fewer while images are slow. The speed comes from
   * this page's own calls or, before its first, from the backend's measurements. When neither
   * knows it (a model that never ran), only the first call is small (its captions show quickly);
   * calls sent beside it are full, since every extra call costs a model pass (measured: 8 images
   * in one call took a fifth of 8 single calls).
   */
  batchSize(maxBatch: number, inflight: number): number {
    const unknown = inflight === 0 ? this.o.initialBatch : maxBatch;
    const wanted = this.msPerImage ? Math.floor(this.o.targetBatchMs / this.msPerImage) : unknown;
    return Math.max(1, Math.min(maxBatch, wanted));
  }

  /** A call of `images` took `ms`. */
  learnSpeed(images: number, ms: number): void {
    const per = ms / Math.max(1, images);
    this.msPerImage = this.msPerImage === undefined ? per : 0.7 * this.msPerImage + 0.3 * per;
  }

  /** A new analyzer: what was learnt of the old one's speed no longer holds. */
  forgetSpeed(): void {
    this.msPerImage = undefined;
  }

  /** The backend's own measurement, before this page has timed a call. */
  backendSpeed(msPerImage: number | undefined, queued: number | undefined): void {
    if (msPerImage !== undefined && this.msPerImage === undefined) this.msPerImage = msPerImage;
    // The backend is idle: the next batch uploads while this one runs, from the first call.
    if (msPerImage !== undefined && queued !== undefined && queued <= this.o.highWater) this.limit = this.o.maxConcurrency;
  }

  /** A call succeeded and the backend's queue depth is not known. */
  grow(): void {
    this.limit = Math.min(this.o.maxConcurrency, this.limit + 1);
  }

  /** Other work (a person generating) is waiting there: step aside to one batch at a time. */
  backendQueue(depth: number): void {
    this.limit = depth > this.o.highWater ? 1 : Math.min(this.o.maxConcurrency, this.limit + 1);
  }

  /** 429: halve, and wait Retry-After (or one backoff step). */
  rateLimited(now: number, retryAfterMs: number | undefined): void {
    this.limit = Math.max(1, Math.floor(this.limit / 2));
    this.cooldownUntil = Math.max(this.cooldownUntil, now + (retryAfterMs ?? this.backoff(1)));
  }

  /** A transient error (5xx): halve. */
  shrink(): void {
    this.limit = Math.max(1, Math.floor(this.limit / 2));
  }

  /** Offline, or waiting for a model: start again from one. */
  reset(): void {
    this.limit = 1;
  }
}
