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
  /** images known to be new (this tab imported, generated or pulled them): the next pass looks at
   * these first, without listing the whole library */
  private readonly hinted = new Set<string>();
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

  /** Images were added: the next pass embeds these first (call wake() to start it). */
  hint(ids: Iterable<string>): void {
    for (const id of ids) this.hinted.add(id);
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
    // the images this tab just added first; the whole library is looked at in a pass after them
    // (images added elsewhere, ones a failed pass left)
    const hinted = [...this.hinted];
    this.hinted.clear();
    const all = hinted.length ? hinted : await this.o.recordIds();
    const todo = (await this.o.index({ op: 'missing', model: m.id, ids: all })).filter((id) => !this.refused.has(id));
    this.update({ state: todo.length ? 'running' : 'idle', model: m.id, left: todo.length, reason: undefined });
    const wrote = { any: false };
    const end = await this.embedAll(m.id, todo, wrote);
    if (end === 'model-gone') {
      await this.o.model(true);
      return this.later(this.o.backoffMs);
    }
    if (end === 'store-failed') return this.later(this.o.backoffMs);
    if (end !== 'done' || this.stopped) return;
    if (hinted.length) this.again = true;
    else this.update({ state: 'idle', left: 0 });
    // a pass that wrote leaves small segments behind: pack them
    if (wrote.any) await this.o.index({ op: 'compact', model: m.id }).catch(() => undefined);
  }

  /**
   * Embeds `todo` a batch at a time on `inFlight` runners. Each runner keeps its pipeline full:
   * while its call runs it stores the batch before (the search worker quantizes and writes it) and
   * reads its next batch's thumbnails (one read), so that the next call goes out the moment the
   * answer is in; with two runners the backend always has the next call queued. Every batch is
   * taken by one runner only, and sent again only when its call failed. Resolves when every runner
   * has stopped: all answered batches stored (or set aside).
   */
  private async embedAll(model: string, todo: string[], wrote: { any: boolean }): Promise<PassEnd> {
    const size = this.o.batch;
    let next = 0;
    let settled = 0;
    let end: PassEnd = 'done';
    const progress = (n: number) => {
      settled += n;
      this.update({ left: Math.max(0, todo.length - settled) });
    };
    const take = (): Taken | undefined => {
      if (next >= todo.length) return undefined;
      return this.taken(todo.slice(next, (next += size)));
    };
    // the first call goes out alone: the other runners read their batches once it is sent (reading
    // them at the same time slowed the first read, on which the whole pass waits)
    let firstSent!: () => void;
    const first = new Promise<void>((resolve) => (firstSent = resolve));
    const runner = async (i: number) => {
      if (i > 0) await first;
      let delay = this.o.backoffMs;
      // the batch before, still being stored; a store that failed ends the pass
      let storing: Promise<void> | undefined;
      const stored = async () => {
        const s = storing;
        storing = undefined;
        if (s) await s;
      };
      let batch = take();
      let after: Taken | undefined;
      try {
        while (batch && end === 'done') {
          if (this.stopped) return void (end = 'stopped');
          if (this.o.hold?.()) {
            end = 'held';
            return this.holding(); // wake() when the hold lifts
          }
          let read: Prepared | undefined;
          let vectors: Float32Array[] | undefined;
          for (;;) {
            try {
              read ??= await batch.reading.catch(() => (batch!.reading = this.read(batch!.ids)));
              if (read.ids.length) {
                const call = this.o.embed(model, read.images, this.ctrl.signal);
                call.catch(() => undefined); // its failure is handled below, once the store is awaited
                firstSent();
                // while the call runs: the batch before stored, the next one read
                await stored();
                if (end !== 'done') return;
                after ??= take();
                vectors = await call;
              }
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
              await this.oneByOne(model, batch.ids, wrote);
              break;
            }
          }
          if (vectors && read?.ids.length) {
            wrote.any = true;
            const ids = read.ids;
            storing = this.store(model, ids, vectors).catch((err: unknown) => {
              if (end === 'done') end = 'store-failed';
              this.update({ state: 'waiting', reason: `could not store the vectors: ${err instanceof Error ? err.message : String(err)}` });
            });
          }
          progress(batch.ids.length);
          batch = after ?? take();
          after = undefined;
        }
      } finally {
        await stored();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.o.inFlight) }, (_, i) => runner(i).finally(firstSent)));
    return this.stopped ? 'stopped' : end;
  }

  /** A batch, its read started. */
  private taken(ids: string[]): Taken {
    const reading = this.read(ids);
    reading.catch(() => undefined); // read again when it is needed, if this one failed
    return { ids, reading };
  }

  /** A batch the model refused, sent image by image: the ones it still refuses are set aside. */
  private async oneByOne(model: string, ids: string[], wrote: { any: boolean }): Promise<void> {
    if (ids.length === 1) this.refused.add(ids[0]!);
    else
      for (const id of ids) {
        await this.read([id])
          .then(async (one) => {
            if (one.ids.length) await this.store(model, one.ids, await this.o.embed(model, one.images, this.ctrl.signal));
            return one.ids.length;
          })
          .then((n) => (wrote.any ||= n > 0), () => this.refused.add(id));
      }
    this.update({ failed: this.refused.size });
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

type PassEnd = 'done' | 'held' | 'model-gone' | 'stopped' | 'store-failed';

/** A batch a runner took, its thumbnails being read. */
interface Taken {
  ids: string[];
  reading: Promise<Prepared>;
}

interface Prepared {
  ids: string[];
  images: string[];
}
