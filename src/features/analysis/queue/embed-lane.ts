// The indexing lane: beside the analysis queue, every image of the library is embedded by the
// backend's embeddings model (its thumbnail, 384 px: what SigLIP looks at is 256-384 px) and the
// vectors stored by the search worker (lib/vectors). New work follows from what is stored: an
// image needs embedding while the store has no vector of the current model for it. So imports,
// generated and synced images are all covered, a model change re-embeds everything in the
// background, and a reload loses nothing (no queue of its own to persist).
//
// One tab runs it (a Web Lock; where there is none every tab may, and the vectors are the same).
// Auto work waits while an import runs, as the analysis queue's does; the backend runs embeddings
// at background priority, so a person generating or chatting goes first.
import { toApiError } from '@/lib/api';
import type { EmbeddingModel } from '@/lib/vectors/embedding-model';
import { flatten, type VectorCall } from '@/lib/vectors/client';

export interface EmbedLaneOptions {
  model: (fresh?: boolean) => Promise<EmbeddingModel>;
  /** one vector per image input, in order */
  embed: (model: string, images: string[], signal: AbortSignal) => Promise<Float32Array[]>;
  index: VectorCall;
  /** every image of the library, the ones to embed first first */
  recordIds: () => Promise<string[]>;
  /** the images as the model gets them (data URLs), in order; undefined for an image gone */
  images: (ids: string[]) => Promise<(string | undefined)[]>;
  /** true while auto work should wait (an import runs); call wake() when it turns false */
  hold?: () => boolean;
  batch?: number;
  /** calls in flight at once: with two, the backend has the next batch queued when one ends (its
   * HTTP, parsing and image decoding overlap the model's work) and the page reads and stores a
   * batch while the other runs */
  inFlight?: number;
  /** how long to wait before asking again for a model that is not there */
  noModelMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface LaneSnapshot {
  state: 'idle' | 'running' | 'waiting' | 'no-model';
  model?: string;
  /** images left to embed in this pass */
  left: number;
  done: number;
  failed: number;
  reason?: string;
}

export class EmbedLane {
  private readonly o: Required<Omit<EmbedLaneOptions, 'hold'>> & Pick<EmbedLaneOptions, 'hold'>;
  private running = false;
  private stopped = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ctrl = new AbortController();
  /** images the model refused (cannot decode): not sent again in this session */
  private readonly refused = new Set<string>();
  private snap: LaneSnapshot = { state: 'idle', left: 0, done: 0, failed: 0 };
  private listeners = new Set<() => void>();

  constructor(opts: EmbedLaneOptions) {
    this.o = { batch: 16, inFlight: 2, noModelMs: 5 * 60_000, backoffMs: 2_000, maxBackoffMs: 60_000, ...opts };
  }

  getSnapshot = () => this.snap;
  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  };
  private update(patch: Partial<LaneSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    this.listeners.forEach((l) => l());
  }

  /** Look for work now (images were added, an import ended, a model was downloaded). */
  wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.running) this.again = true;
    else void this.pass();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ctrl.abort();
  }

  /** Resolves when a pass has nothing left to do (tests). */
  async idle(): Promise<void> {
    while (this.running || this.again) await new Promise((r) => setTimeout(r, 10));
  }

  private later(ms: number): void {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.wake(), ms);
  }

  private async pass(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        await this.work();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private async work(): Promise<void> {
    if (this.o.hold?.()) return this.holding(); // nothing to ask while an import runs
    const m = await this.o.model(this.snap.state === 'no-model');
    if (this.stopped) return;
    if (m.state !== 'ready') {
      this.update({ state: 'no-model', left: 0, reason: m.state === 'missing' ? 'no embeddings model downloaded' : m.reason });
      return this.later(this.o.noModelMs);
    }
    const all = await this.o.recordIds();
    const todo = (await this.o.index({ op: 'missing', model: m.id, ids: all })).filter((id) => !this.refused.has(id));
    this.update({ state: todo.length ? 'running' : 'idle', model: m.id, left: todo.length, reason: undefined });
    const wrote = { any: false };
    const end = await this.embedAll(m.id, todo, wrote);
    if (end === 'model-gone') {
      await this.o.model(true);
      return this.later(this.o.backoffMs);
    }
    if (end !== 'done' || this.stopped) return;
    this.update({ state: 'idle', left: 0 });
    // a pass that wrote leaves small segments behind: pack them
    if (wrote.any) await this.o.index({ op: 'compact', model: m.id }).catch(() => undefined);
  }

  /**
   * Embeds `todo` a batch at a time on `inFlight` runners: each reads its batch's thumbnails (one
   * read), sends them, stores the vectors, and takes the next batch; with two, one runner's read
   * and store happen while the other's call runs, and the backend always has the next call
   * queued. Every batch is taken by one runner only, and sent again only when its call failed.
   * Resolves when every runner has stopped: all taken batches stored (or set aside).
   */
  private async embedAll(model: string, todo: string[], wrote: { any: boolean }): Promise<'done' | 'held' | 'model-gone' | 'stopped'> {
    const size = this.o.batch;
    let next = 0;
    let settled = 0;
    let end: 'done' | 'held' | 'model-gone' | 'stopped' = 'done';
    const progress = (n: number) => {
      settled += n;
      this.update({ left: Math.max(0, todo.length - settled) });
    };
    // the first call goes out alone: the other runners read their batches once it is sent (reading
    // them at the same time slowed the first read, on which the whole pass waits)
    let firstSent!: () => void;
    const first = new Promise<void>((resolve) => (firstSent = resolve));
    const runner = async (i: number) => {
      if (i > 0) await first;
      let delay = this.o.backoffMs;
      while (next < todo.length && end === 'done') {
        if (this.stopped) return void (end = 'stopped');
        if (this.o.hold?.()) {
          end = 'held';
          return this.holding(); // wake() when the hold lifts
        }
        const batch = todo.slice(next, (next += size));
        let read: Prepared | undefined;
        for (;;) {
          try {
            read ??= await this.read(batch);
            if (read.ids.length) {
              const call = this.o.embed(model, read.images, this.ctrl.signal);
              firstSent();
              await this.store(model, read.ids, await call);
            }
            wrote.any ||= read.ids.length > 0;
            delay = this.o.backoffMs;
            if (this.snap.state !== 'running' || this.snap.reason) this.update({ state: 'running', reason: undefined });
            break;
          } catch (err) {
            const e = toApiError(err);
            if (this.stopped) return void (end = 'stopped');
            if (e.retryable || e.offline) {
              // the same batch again after a while (the other runner's call may still succeed)
              this.update({ state: 'waiting', reason: e.message });
              await this.sleep(e.retryAfterMs ?? delay);
              delay = Math.min(this.o.maxBackoffMs, delay * 2);
              if (end !== 'done') return;
              continue;
            }
            if (e.code === 'model_not_found' || e.code === 'model_not_downloaded') return void (end = 'model-gone');
            // refused for the images themselves: find the one at fault, image by image
            if (batch.length > 1) {
              for (const id of batch) {
                await this.read([id])
                  .then(async (one) => {
                    if (one.ids.length) await this.store(model, one.ids, await this.o.embed(model, one.images, this.ctrl.signal));
                    return one.ids.length;
                  })
                  .then((n) => (wrote.any ||= n > 0), () => this.refused.add(id));
              }
            } else this.refused.add(batch[0]!);
            this.update({ failed: this.refused.size });
            break;
          }
        }
        progress(batch.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.o.inFlight) }, (_, i) => runner(i).finally(firstSent)));
    return this.stopped ? 'stopped' : end;
  }

  /** Waits `ms`, or less if the lane stops (never on this.timer: wake() clears that one). */
  private sleep(ms: number): Promise<void> {
    const signal = this.ctrl.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  /** An import runs: wake() when it ends. */
  private holding(): void {
    this.update({ state: 'waiting', reason: 'waits for the import to finish' });
  }

  /** The images of `ids` as the model gets them; those gone from the library left out. */
  private async read(ids: string[]): Promise<Prepared> {
    const images = await this.o.images(ids);
    return { ids: ids.filter((_, i) => images[i] !== undefined), images: images.filter((x): x is string => x !== undefined) };
  }

  /** Stores one batch's vectors (the search worker quantizes and appends them). */
  private async store(model: string, ids: string[], vectors: Float32Array[]): Promise<void> {
    const dim = vectors[0]!.length;
    const flat = flatten(vectors, dim);
    await this.o.index({ op: 'put', model, dim, ids, vectors: flat }, [flat.buffer]);
    this.update({ done: this.snap.done + ids.length });
  }
}

interface Prepared {
  ids: string[];
  images: string[];
}
