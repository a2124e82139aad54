import { batcher } from '@/lib/batcher';
import type { NewImage } from '@/lib/db/records';
import { StorageQuotaError } from '@/lib/db/errors';
import { makeRecord } from '@/lib/db/make-record';
import type { ImageRecord } from '@/lib/db/schema';
import type { ProcessedImage } from '@/lib/workers/protocol';
import { looksLikeImage } from '@/lib/workers/sniff';
import { parseXmp } from './xmp';

export interface ImportItem {
  file: Blob;
  name: string;
  /** relative path inside a dropped/picked folder */
  path?: string;
}

/** A file that was not imported; `path`: its folder inside an imported folder. */
export interface SkippedFile {
  name: string;
  path?: string;
  reason: string;
}

/** "folder/name" for files from a folder, "name" otherwise. */
export const displayPath = (f: { name: string; path?: string | undefined }) => (f.path ? `${f.path}/${f.name}` : f.name);

export interface ImportProgress {
  total: number;
  /** processed so far, whatever the outcome */
  done: number;
  imported: number;
  duplicates: number;
  skipped: SkippedFile[];
  bytes: number;
  startedAt: number;
  elapsedMs: number;
  current?: string;
  finished: boolean;
  cancelled: boolean;
  /** set when the browser's storage quota stopped the import */
  quotaError?: string;
}

export interface ImportDeps {
  process(file: Blob, name: string): Promise<ProcessedImage>;
  commit(images: NewImage[]): Promise<void>;
  /** hash -> name (folder/name for files from a folder) of images already in the library */
  knownHashes: Map<string, string>;
  onCommitted?(records: ImageRecord[]): void;
  onProgress?(p: ImportProgress): void;
  now?(): number;
}

const isSidecar = (name: string) => /\.xmp$/i.test(name);
const sidecarKey = (path: string | undefined, name: string) => `${path ?? ''}\u0000${name.toLowerCase()}`;

/** Sidecars by folder and name; the rest are the files to import. */
function splitSidecars(items: ImportItem[]): { files: ImportItem[]; sidecars: Map<string, Blob> } {
  const sidecars = new Map<string, Blob>();
  const files: ImportItem[] = [];
  for (const it of items) {
    if (isSidecar(it.name)) sidecars.set(sidecarKey(it.path, it.name), it.file);
    else files.push(it);
  }
  return { files, sidecars };
}

/** `NAME.ext.xmp` (darktable, digiKam) or `NAME.xmp` (Lightroom, our export) next to the image. */
function sidecarOf(item: ImportItem, sidecars: Map<string, Blob>): Blob | undefined {
  if (!sidecars.size) return undefined;
  const dot = item.name.lastIndexOf('.');
  return sidecars.get(sidecarKey(item.path, `${item.name}.xmp`)) ?? (dot > 0 ? sidecars.get(sidecarKey(item.path, `${item.name.slice(0, dot)}.xmp`)) : undefined);
}

/** Applies a sidecar's keywords (as user tags), rating and flag to a new record. */
export async function applySidecar(record: ImageRecord, sidecar: Blob): Promise<ImageRecord> {
  let x: ReturnType<typeof parseXmp>;
  try {
    x = parseXmp(await sidecar.text());
  } catch {
    return record; // an unreadable sidecar never costs the image
  }
  const have = new Set(record.tags.map((t) => t.name.toLowerCase()));
  const tags = [...record.tags, ...x.tags.filter((t) => !have.has(t.toLowerCase())).map((name) => ({ name, score: null, source: 'user' as const }))];
  return { ...record, tags, ...(x.rating !== undefined ? { rating: x.rating } : {}), ...(x.flag ? { flag: x.flag } : {}) };
}

export const importRate = (p: ImportProgress) => (p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0);

export interface ImportOptions {
  signal?: AbortSignal;
  /** files in flight at once */
  concurrency?: number;
  /** at most one progress report per this many ms, besides the one after each commit */
  reportMs?: number;
  /** a finished image waits at most this long for others to share its commit */
  commitMs?: number;
  /** commit at once when this many images are waiting */
  commitBatch?: number;
}

// Every progress report and every commit repaints part of the page (the progress card, the grid
// taking in new cells, their thumbnails), and on a small machine that work competes with the
// decoding for the same cores. A few updates a second look just as live and leave the cores to
// the decoder: on 2 cores (scripts/bench_grid.mjs) per-image commits and 10 reports a second kept
// the import near 0.55x the raw decode rate, these settings near 0.7x.
const REPORT_MS = 500;
const COMMIT_MS = 500;
const COMMIT_BATCH = 32;
/** How many files the decoders may run ahead of the first undecided one. */
const AHEAD = 64;

/**
 * Runs items through the worker pool, drops duplicates by content hash, and commits finished
 * images in batches (one transaction per store per batch) while the next ones decode. Never
 * throws: every file ends up imported, a duplicate, or skipped with a reason. addedAt decreases
 * (sub-ms) in input order, so the first file of an import comes first under the default "newest
 * first" sort. An XMP sidecar next to an image (NAME.xmp or NAME.ext.xmp) gives it its keywords,
 * rating and flag.
 */
export async function runImport(input: ImportItem[], deps: ImportDeps, opts: ImportOptions = {}): Promise<ImportProgress> {
  const now = deps.now ?? (() => Date.now());
  const reportMs = opts.reportMs ?? REPORT_MS;
  const commitMs = opts.commitMs ?? COMMIT_MS;
  const commitBatch = Math.max(1, opts.commitBatch ?? COMMIT_BATCH);
  // XMP sidecars are read into their image's record, never imported or reported on their own.
  const { files: items, sidecars } = splitSidecars(input);
  const startedAt = now();
  const p: ImportProgress = { total: items.length, done: 0, imported: 0, duplicates: 0, skipped: [], bytes: 0, startedAt, elapsedMs: 0, finished: false, cancelled: false };
  let lastReport = 0;
  const report = (force = false) => {
    p.elapsedMs = now() - startedAt;
    if (force || p.elapsedMs - lastReport >= reportMs) {
      lastReport = p.elapsedMs;
      deps.onProgress?.({ ...p, skipped: [...p.skipped] });
    }
  };
  const stopped = () => opts.signal?.aborted || p.quotaError !== undefined;

  const commit = async (batch: { img: NewImage; hash: string }[]) => {
    try {
      await deps.commit(batch.map((b) => b.img));
      p.imported += batch.length;
      deps.onCommitted?.(batch.map((b) => b.img.record));
    } catch (err) {
      for (const b of batch) {
        deps.knownHashes.delete(b.hash);
        const { name, path } = b.img.record;
        p.skipped.push({ name, ...(path ? { path } : {}), reason: err instanceof StorageQuotaError ? 'storage full' : `not saved: ${(err as Error).message}` });
      }
      if (err instanceof StorageQuotaError) p.quotaError = err.message;
    }
    // "imported" moves only here: report it now, in step with the grid taking in the batch
    report(true);
  };
  // Batches commit one after another, in order, while the workers go on decoding.
  let committed: Promise<void> = Promise.resolve();
  const ready = batcher<{ img: NewImage; hash: string }>(
    (batch) => (committed = committed.then(() => commit(batch))),
    { waitMs: commitMs, maxItems: commitBatch },
  );

  // Files are decoded concurrently but decided in the order they were given: of two identical
  // files the first one listed is kept and the later one reported as its duplicate, whichever
  // decoded first, and batches commit in that order. A slow file holds the decisions behind it,
  // so workers stop at most AHEAD files past it (the decoded thumbnails wait in `outcomes`).
  type Outcome = { img: Awaited<ReturnType<ImportDeps['process']>> } | { error: string } | { stopped: true };
  const outcomes = new Map<number, Outcome>();
  let decided = 0;
  let wakeWorkers: () => void = () => {};
  let moved = new Promise<void>((r) => (wakeWorkers = r));
  const decideInOrder = async () => {
    for (let o = outcomes.get(decided); o !== undefined; o = outcomes.get(decided)) {
      outcomes.delete(decided);
      const item = items[decided]!;
      const index = decided++;
      if ('stopped' in o) continue;
      const where = item.path ? { path: item.path } : {};
      if ('error' in o) {
        p.skipped.push({ name: item.name, ...where, reason: o.error });
      } else {
        const dupOf = deps.knownHashes.get(o.img.hash);
        if (dupOf !== undefined) {
          p.duplicates++;
          p.skipped.push({ name: item.name, ...where, reason: `duplicate of ${dupOf}` });
        } else {
          deps.knownHashes.set(o.img.hash, displayPath(item));
          let record = makeRecord(o.img, { name: item.name, bytes: item.file.size, origin: 'imported', addedAt: startedAt + (items.length - index) / 1000, ...where });
          const sidecar = sidecarOf(item, sidecars);
          if (sidecar) record = await applySidecar(record, sidecar);
          ready.push({ img: { record, original: item.file, thumb: o.img.thumb }, hash: o.img.hash });
        }
        p.bytes += item.file.size;
      }
      p.done++;
      report();
    }
    wakeWorkers();
    moved = new Promise<void>((r) => (wakeWorkers = r));
  };
  let deciding: Promise<void> = Promise.resolve();

  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) {
      if (next - decided >= AHEAD) {
        await moved;
        continue;
      }
      const index = next++;
      const item = items[index]!;
      p.current = displayPath(item);
      let outcome: Outcome;
      try {
        if (!looksLikeImage(item.name, item.file.type)) throw new Error('unsupported file type');
        const img = await deps.process(item.file, item.name);
        outcome = stopped() ? { stopped: true } : { img };
      } catch (err) {
        outcome = { error: (err as Error).message || 'unreadable' };
      }
      outcomes.set(index, outcome);
      deciding = deciding.then(decideInOrder);
      await deciding;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  await deciding;
  ready.flush();
  await committed;
  p.cancelled = !!opts.signal?.aborted;
  p.current = undefined;
  p.finished = true;
  report(true);
  return p;
}
