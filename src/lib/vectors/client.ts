// The page's handle on the search worker: one worker per tab, started on first use.
import type { Envelope, Reply, VectorRequest, VectorResults } from './protocol';

export type VectorCall = <R extends VectorRequest>(req: R, transfer?: Transferable[]) => Promise<VectorResults[R['op']]>;

function workerCall(): VectorCall {
  let worker: Worker | undefined;
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  return (req, transfer = []) => {
    if (!worker) {
      worker = new Worker(new URL('./search-worker.ts', import.meta.url), { type: 'module', name: 'atelier-search' });
      worker.onmessage = (e: MessageEvent<Reply>) => {
        const p = pending.get(e.data.seq);
        pending.delete(e.data.seq);
        if (!p) return;
        if (e.data.ok) p.resolve(e.data.value);
        else p.reject(new Error(e.data.error));
      };
    }
    const n = ++seq;
    return new Promise((resolve, reject) => {
      pending.set(n, { resolve: resolve as (v: unknown) => void, reject });
      worker!.postMessage({ seq: n, req } satisfies Envelope, transfer);
    });
  };
}

/** Flat float32 rows, as 'put' sends them. */
export function flatten(vectors: readonly ArrayLike<number>[], dim: number): Float32Array {
  const out = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => {
    if (v.length !== dim) throw new Error(`embedding ${i} has ${v.length} dimensions, expected ${dim}`);
    out.set(v, i * dim);
  });
  return out;
}

let shared: VectorCall | undefined;
/** This tab's search worker. */
export const vectorIndex = (): VectorCall => (shared ??= workerCall());
