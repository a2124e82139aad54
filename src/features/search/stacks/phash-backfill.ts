// Records imported before perceptual hashes existed get one in idle time: their thumbnails are
// hashed by the image workers, a batch at a time, and written field-wise (editRecords). One tab
// does it (a Web Lock); where there is none, every tab may, and they write the same hashes.
import { editRecords } from '@/lib/db/library-api';
import { getThumbs } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { idleTask } from '@/lib/idle';
import { imagePool } from '@/lib/workers/image-pool';

// 128 thumbnails a batch: each batch is one write and one re-query of the library (ms at 100k)
const BATCH = 128;

export interface BackfillDeps {
  records: () => Iterable<ImageRecord>;
  hash?: (thumb: Blob) => Promise<string>;
  thumbs?: (ids: string[]) => Promise<(Blob | undefined)[]>;
  write?: typeof editRecords;
  /** waits for an idle moment (requestIdleCallback) */
  idle?: () => Promise<void>;
}

const idleOnce = () => new Promise<void>((resolve) => idleTask(() => (resolve(), true), { timeoutMs: 10_000 }));

/** Hashes every record that has no pHash; resolves to how many were written. */
export async function backfillPerceptualHashes(deps: BackfillDeps, signal?: AbortSignal): Promise<number> {
  const hash = deps.hash ?? ((b: Blob) => imagePool().phash(b));
  const thumbs = deps.thumbs ?? ((ids: string[]) => getThumbs(ids));
  const write = deps.write ?? editRecords;
  const idle = deps.idle ?? idleOnce;
  const todo = [...deps.records()].filter((r) => !r.phash).map((r) => r.id);
  let written = 0;
  for (let i = 0; i < todo.length && !signal?.aborted; i += BATCH) {
    await idle();
    const ids = todo.slice(i, i + BATCH);
    const blobs = await thumbs(ids);
    const found = new Map<string, string>();
    await Promise.all(ids.map(async (id, k) => {
      const b = blobs[k];
      if (!b) return;
      try {
        found.set(id, await hash(b));
      } catch {
        // a thumbnail that does not decode: its record keeps no hash (it simply never stacks)
      }
    }));
    if (!found.size || signal?.aborted) continue;
    await write([...found.keys()], (r) => (r.phash ? r : { ...r, phash: found.get(r.id)! }));
    written += found.size;
  }
  return written;
}

/** Runs the backfill in one tab at a time. */
export function startBackfill(deps: BackfillDeps): () => void {
  const ctrl = new AbortController();
  const run = () => backfillPerceptualHashes(deps, ctrl.signal).catch((err: unknown) => console.warn('perceptual hash backfill stopped', err));
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks) void locks.request('atelier-phash-backfill', { ifAvailable: true }, (lock) => (lock && !ctrl.signal.aborted ? run() : undefined));
  else void run();
  return () => ctrl.abort();
}
