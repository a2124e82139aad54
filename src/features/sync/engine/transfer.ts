// Moving blobs: a bounded pool of workers, and one resumable upload. Both must leave nothing
// running behind a failed sync cycle: the next cycle uploads the same originals, and two uploads
// of one blob at once would fight over the server's part file (409, or a part that no longer
// hashes to its name).
import { ApiError } from '@/lib/api/errors';
import type { LibraryBlobStored } from '@/lib/api/types';
import { headBlob } from '../api/head-blob';
import { putBlobPiece } from '../api/put-blob';
import { uploadBlobBatch } from '../api/upload-blob-batch';

/** An upload request carries at most this much (under the 60 MB body limit DEPLOYMENT.md gives
 * reverse proxies; a cut upload resumes from the bytes the server received, whatever the piece). */
export const PIECE = 32 * 1024 * 1024;
/** A server (or a proxy before it) that refuses a piece as too large (413) gets pieces half as large, down to this. */
export const MIN_PIECE = 1024 * 1024;
/** An upload that moves no byte for this long is cut (a half-open connection never fails by itself). */
export const STALL_MS = 60_000;
/**
 * A blob up to this size (a thumbnail) goes out whole without asking HEAD first: its bytes cost
 * less than a second request (a first sync uploads thousands of thumbnails, and each request
 * costs the page's main thread and the server alike). A stored one is answered at once, without
 * the server reading it.
 */
export const SMALL_BLOB = 256 * 1024;
/** Times one upload asks the server for its offset again after a 409, before it gives up. */
const OFFSET_RETRIES = 3;

/**
 * Runs `fn` over `items`, at most `n` at a time. After the first failure no further item starts;
 * the promise rejects with that failure once the items already running have ended, so nothing of
 * this call outlives it.
 */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (!failure && next < items.length) {
        try {
          await fn(items[next++]!);
        } catch (err) {
          failure ??= { err };
        }
      }
    }),
  );
  if (failure) throw failure.err;
}

export interface Transport {
  head(sha: string, signal?: AbortSignal): Promise<{ stored: boolean; offset: number }>;
  put(sha: string, piece: Blob, start: number, total: number, type: string, onBytes: (sent: number) => void, signal: AbortSignal): Promise<LibraryBlobStored>;
}

export const httpTransport: Transport = {
  head: (sha, signal) => headBlob(sha, signal),
  put: (sha, piece, start, total, type, onBytes, signal) => putBlobPiece(sha, piece, start, total, type, onBytes, signal),
};

/** Sends one piece, cut (an offline ApiError) when no byte of it moves for `stallMs`. */
async function putWatched(t: Transport, sha: string, piece: Blob, start: number, total: number, type: string, onBytes: (sent: number) => void, stallMs: number): Promise<void> {
  const abort = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, stallMs);
  };
  arm();
  try {
    await t.put(sha, piece, start, total, type, (sent) => {
      arm();
      onBytes(sent);
    }, abort.signal);
  } catch (err) {
    if (stalled) throw new ApiError(`the upload of ${sha.slice(0, 12)}… moved no byte for ${Math.round(stallMs / 1000)} s`, { retryable: true, offline: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Uploads a blob the server does not have, in PIECE-sized pieces (smaller after a 413), from where the server's part
 * of it ends (HEAD; a small blob is sent whole at once): an upload cut by a crash on either side goes on where it stopped. A 409 (the
 * part is not where this upload thought: the server lost its last unflushed bytes, or another
 * upload of the same blob ran) asks HEAD again and goes on from there. `onBytes` gets the bytes
 * done since its last call (the part already on the server counts, once).
 */
export async function uploadBlob(sha: string, blob: Blob, onBytes?: (delta: number) => void, { transport = httpTransport, stallMs = STALL_MS }: { transport?: Transport; stallMs?: number } = {}): Promise<void> {
  const type = blob.type && (blob.type === 'application/octet-stream' || blob.type.startsWith('image/')) ? blob.type : 'application/octet-stream';
  let reported = 0; // bytes counted through onBytes so far
  const report = (upTo: number) => {
    if (upTo !== reported) onBytes?.(upTo - reported);
    reported = upTo;
  };
  let retries = 0;
  let pieceSize = PIECE;
  let ask = blob.size > SMALL_BLOB;
  for (;;) {
    let start = 0;
    if (ask) {
      const { stored, offset } = await transport.head(sha);
      if (stored) return report(blob.size);
      start = offset > 0 && offset < blob.size ? offset : 0;
    }
    ask = true; // after a 409: where the server's part ends
    report(start);
    try {
      while (start < blob.size) {
        const end = Math.min(start + pieceSize, blob.size);
        const from = start;
        // (a blob read from IndexedDB costs the main thread a round trip to the browser process
        // per slice: a piece that is the whole blob is the blob itself)
        const piece = from === 0 && end === blob.size ? blob : blob.slice(from, end);
        await putWatched(transport, sha, piece, from, blob.size, type, (sent) => report(from + Math.min(sent, end - from)), stallMs);
        report(end);
        start = end;
      }
      return;
    } catch (err) {
      // a body limit below our piece (ATELIER_MAX_BODY_MB, a proxy's): smaller pieces, from HEAD
      if (err instanceof ApiError && err.status === 413 && pieceSize > MIN_PIECE && blob.size > MIN_PIECE) {
        pieceSize = Math.max(MIN_PIECE, Math.floor(pieceSize / 2));
        continue;
      }
      if (!(err instanceof ApiError && err.status === 409) || ++retries > OFFSET_RETRIES) throw err;
    }
  }
}

/** What one batch upload may hold (the server takes 200 blobs of up to 1 MiB, 16 MiB in all). */
export const BATCH_BLOBS = 200;
export const BATCH_BLOB_MAX = 1024 * 1024;
export const BATCH_BYTES = 8 * 1024 * 1024;

/** Groups small blobs into batches within the limits above; larger ones are left to go alone. */
export function batchesOf<T extends readonly [string, Blob]>(items: readonly T[]): { batches: T[][]; alone: T[] } {
  const batches: T[][] = [];
  const alone: T[] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item[1].size;
    if (size > BATCH_BLOB_MAX) {
      alone.push(item);
      continue;
    }
    if (cur.length && (cur.length >= BATCH_BLOBS || bytes + size > BATCH_BYTES)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += size;
  }
  if (cur.length) batches.push(cur);
  return { batches, alone };
}

/**
 * Uploads small blobs (thumbnails) a batch per request: a first sync sends thousands, and every
 * request costs the page's main thread (the grid scrolls meanwhile) and the server. A blob too
 * large for a batch goes alone (`uploadBlob`).
 */
export async function uploadSmallBlobs(items: readonly (readonly [sha: string, blob: Blob])[], send = uploadBlobBatch, one: (sha: string, blob: Blob) => Promise<void> = uploadBlob): Promise<void> {
  const unique = [...new Map(items.map((i) => [i[0], i] as const)).values()];
  const { batches, alone } = batchesOf(unique);
  for (const b of batches) await send(b);
  for (const [sha, blob] of alone) await one(sha, blob);
}
