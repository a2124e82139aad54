// Records imported before perceptual hashes existed get one in idle time: their thumbnails are
// hashed by the image workers, a batch at a time, and written field-wise (editRecords). One tab
// does it: the leader of BACKFILL_ELECTION (lib/leader/election.ts: a Web Lock, or a localStorage
// lease where navigator.locks is missing). Two tabs that both lead for a moment write the same hashes.
import { editRecords } from '@/lib/db/library-api';
import { getThumbs } from '@/lib/db/records';
import type { ImageRecord } from '@/lib/db/schema';
import { idleTask } from '@/lib/idle';
import { browserElection, type Election, type ElectionNames } from '@/lib/leader/election';
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

export const BACKFILL_ELECTION: ElectionNames = { lock: 'atelier-phash-backfill', leaseKey: 'atelier-phash-backfill.leader' };

/**
 * Runs the backfill in one tab at a time: whenever this tab becomes the leader of `election`
 * (at once, or when the tab that led leaves), and stops it when the tab stops leading.
 */
export function startBackfill(deps: BackfillDeps, election: Election = browserElection(BACKFILL_ELECTION)): () => void {
  let ctrl: AbortController | undefined;
  let closed = false;
  const follow = (leads: boolean) => {
    if (closed) return;
    ctrl?.abort();
    ctrl = undefined;
    if (!leads) return;
    const run = (ctrl = new AbortController());
    backfillPerceptualHashes(deps, run.signal).catch((err: unknown) => console.warn('perceptual hash backfill stopped', err));
  };
  const off = election.onChange(follow);
  if (election.leader) follow(true);
  return () => {
    closed = true;
    ctrl?.abort();
    off();
    election.close();
  };
}
