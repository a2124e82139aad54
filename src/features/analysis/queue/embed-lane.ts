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
    this.o = { batch: 16, noModelMs: 5 * 60_000, backoffMs: 2_000, maxBackoffMs: 60_000, ...opts };
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
    // stores still being written: the next call goes out before they end; the pass waits for them
    // before it ends (the next pass asks the store what is missing)
    const stores: Promise<unknown>[] = [];
    let wrote = false;
    try {
      if (!(await this.embedAll(m.id, todo, (p) => stores.push(p.then(() => (wrote = true))))) || this.stopped) return;
      this.update({ state: 'idle', left: 0 });
    } finally {
      await Promise.allSettled(stores);
    }
    // a pass that wrote leaves small segments behind: pack them
    if (wrote && !this.stopped) await this.o.index({ op: 'compact', model: m.id }).catch(() => undefined);
  }

  /**
   * Embeds `todo` a batch at a time, one call in flight, pipelined: the next batch's thumbnails are
   * read while a call runs, and each batch's vectors are stored while the next call runs (so the
   * backend waits on the page for neither). Resolves false when the pass stops early (a hold, the
   * model gone).
   */
  private async embedAll(model: string, todo: string[], storing: (p: Promise<unknown>) => void): Promise<boolean> {
    const size = this.o.batch;
    const read = (ids: string[]) => {
      const p = this.read(ids);
      p.catch(() => undefined); // read ahead: its failure surfaces when its batch comes
      return p;
    };
    let at = 0;
    let current = todo.length ? read(todo.slice(0, size)) : undefined;
    let ahead: Promise<Prepared> | undefined;
    let delay = this.o.backoffMs;
    const advance = () => {
      at += size;
      current = at < todo.length ? (ahead ?? read(todo.slice(at, at + size))) : undefined;
      ahead = undefined;
      this.update({ left: Math.max(0, todo.length - at) });
    };
    while (current && !this.stopped) {
      if (this.o.hold?.()) {
        this.holding();
        return false; // wake() when the hold lifts
      }
      const batch = todo.slice(at, at + size);
      if (at + size < todo.length) ahead ??= read(todo.slice(at + size, at + 2 * size));
      try {
        const { ids, images } = await current;
        if (ids.length) {
          const vectors = await this.o.embed(model, images, this.ctrl.signal);
          storing(this.store(model, ids, vectors));
        }
        delay = this.o.backoffMs;
        this.update({ state: 'running', reason: undefined });
        advance();
      } catch (err) {
        const e = toApiError(err);
        if (this.stopped) return false;
        if (e.retryable || e.offline) {
          this.update({ state: 'waiting', reason: e.message });
          await new Promise((r) => (this.timer = setTimeout(r, e.retryAfterMs ?? delay)));
          delay = Math.min(this.o.maxBackoffMs, delay * 2);
          continue;
        }
        if (e.code === 'model_not_found' || e.code === 'model_not_downloaded') {
          await this.o.model(true);
          this.later(this.o.backoffMs);
          return false;
        }
        // refused for the images themselves: find the one at fault, image by image
        if (batch.length > 1) {
          for (const id of batch) {
            await this.read([id])
              .then(async ({ ids, images }) => ids.length && (await this.store(model, ids, await this.o.embed(model, images, this.ctrl.signal))))
              .then(() => undefined, () => this.refused.add(id));
          }
        } else this.refused.add(batch[0]!);
        this.update({ failed: this.refused.size });
        advance();
      }
    }
    return !this.stopped;
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
