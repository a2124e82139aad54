// SHA-256 of blobs, in a worker (hash-worker.ts) where there is one: the main thread only posts
// the blobs (handles, not bytes) and gets the hex digests back. Without Worker (tests in Node) it
// hashes here.
import { hashBytes } from './hash';
import type { HashRequest, HashResponse } from './hash-worker';

let worker: Worker | null = null;
let seq = 0;
const pending = new Map<number, { resolve: (h: string[]) => void; reject: (e: Error) => void }>();

function hasher(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name: 'atelier-hash' });
  w.onmessage = (e: MessageEvent<HashResponse>) => {
    const p = pending.get(e.data.seq);
    pending.delete(e.data.seq);
    if (e.data.ok) p?.resolve(e.data.hashes);
    else p?.reject(new Error(`hashing failed: ${e.data.error}`));
  };
  w.onerror = (e) => {
    // a worker that cannot start (or crashed): fail what waits, start a new one next time
    for (const p of pending.values()) p.reject(new Error(`the hashing worker failed: ${e.message}`));
    pending.clear();
    w.terminate();
    worker = null;
  };
  return (worker = w);
}

const here = (blobs: readonly Blob[]) => Promise.all(blobs.map(async (b) => hashBytes(new Uint8Array(await b.arrayBuffer()))));

export async function hashBlobs(blobs: readonly Blob[]): Promise<string[]> {
  if (!blobs.length) return [];
  if (typeof Worker === 'undefined') return here(blobs);
  let w: Worker;
  try {
    w = hasher();
  } catch {
    return here(blobs); // no worker allowed here (a strict CSP): slower, not broken
  }
  const id = ++seq;
  return new Promise<string[]>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ seq: id, blobs: [...blobs] } satisfies HashRequest);
  }).catch(() => here(blobs));
}
