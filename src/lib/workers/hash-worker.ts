// Hashes blobs off the main thread: reading a blob's bytes out of IndexedDB's storage
// (`arrayBuffer()`) costs the thread that asks, and a first sync hashes every thumbnail of the
// library while the user scrolls the grid.
import { hashBytes } from './hash';

export interface HashRequest {
  seq: number;
  blobs: Blob[];
}
export type HashResponse = { seq: number; ok: true; hashes: string[] } | { seq: number; ok: false; error: string };

self.onmessage = async (e: MessageEvent<HashRequest>) => {
  const { seq, blobs } = e.data;
  try {
    const hashes = await Promise.all(blobs.map(async (b) => hashBytes(new Uint8Array(await b.arrayBuffer()))));
    self.postMessage({ seq, ok: true, hashes } satisfies HashResponse);
  } catch (err) {
    self.postMessage({ seq, ok: false, error: (err as Error).message } satisfies HashResponse);
  }
};
