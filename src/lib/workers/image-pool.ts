import type { ProcessedImage, WorkerRequest, WorkerResponse } from './protocol';

type Pending = { resolve: (r: WorkerResponse) => void };
type Unsent = WorkerRequest extends infer T ? (T extends unknown ? Omit<T, 'seq'> : never) : never;

/** A small pool of image workers; each request goes to the least busy worker. */
export class ImagePool {
  private workers: { w: Worker; busy: number }[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;

  constructor(readonly size = defaultPoolSize()) {}

  private ensure() {
    if (this.workers.length) return;
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./image-worker.ts', import.meta.url), { type: 'module', name: `atelier-image-${i}` });
      const slot = { w, busy: 0 };
      w.onmessage = (e: MessageEvent<WorkerResponse>) => {
        slot.busy--;
        const p = this.pending.get(e.data.seq);
        this.pending.delete(e.data.seq);
        p?.resolve(e.data);
      };
      this.workers.push(slot);
    }
  }

  private send(req: Unsent): Promise<WorkerResponse> {
    this.ensure();
    const seq = ++this.seq;
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    return new Promise((resolve) => {
      this.pending.set(seq, { resolve });
      slot.w.postMessage({ ...req, seq } as WorkerRequest);
    });
  }

  async process(blob: Blob, name: string): Promise<ProcessedImage> {
    const res = await this.send({ kind: 'process', blob, name });
    if (!res.ok) throw new Error(res.reason);
    if (!res.image) throw new Error('worker returned no image');
    return res.image;
  }

  /** The perceptual hash of a stored thumbnail. */
  async phash(thumb: Blob): Promise<string> {
    const res = await this.send({ kind: 'phash', blob: thumb });
    if (!res.ok) throw new Error(res.reason);
    if (!res.phash) throw new Error('worker returned no hash');
    return res.phash;
  }

  async raw(blob: Blob): Promise<void> {
    const res = await this.send({ kind: 'raw', blob });
    if (!res.ok) throw new Error(res.reason);
  }

  dispose() {
    this.workers.forEach((s) => s.w.terminate());
    this.workers = [];
  }
}

export function defaultPoolSize(): number {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
  return Math.max(2, Math.min(4, cores - 1));
}

let shared: ImagePool | undefined;
export const imagePool = () => (shared ??= new ImagePool());
