// The library's public API for other features (the analysis queue, the prompt modal).
// Every write goes through here so the in-memory library (grid, search) hears about it.
import { imagePool } from '@/lib/workers/image-pool';
import { alreadyApplied, mergeAnalysis } from './analysis';
import { stampChanges } from './fields';
import { hlc } from './hlc';
import { emit, on } from './events';
import { makeRecord } from './make-record';
import { getOriginal, getRecord, putImage, updateRecords } from './records';
import type { AnalysisResult, GenerationParams, ImageRecord, Lineage } from './schema';

export { getOriginal, getRecord };
export type { AnalysisResult };

interface AnalysisEntry {
  id: string;
  result: AnalysisResult;
  /** the analysis queue's idempotency key: a result whose key the record already holds is not written again */
  key?: string;
}

/**
 * Writes analysis results onto their records, in one transaction and one 'updated' event:
 * caption, NSFW, AI tags replaced, user tags kept. Exactly once per key: the key is stored with
 * the result in the same put, and an entry whose key the record already holds (a replay after a
 * crash) writes nothing, so neither `analysis.at` nor the user's later edits move. Resolves to
 * the records as they are now, undefined where the image was deleted meanwhile (the queue should
 * then drop the job).
 */
async function writeAnalyses(entries: readonly AnalysisEntry[]): Promise<(ImageRecord | undefined)[]> {
  const at = Date.now();
  const stamp = hlc().now();
  const written = new Set<number>();
  const recs = await updateRecords(
    entries.map((e) => e.id),
    (r, i) => {
      const e = entries[i]!;
      // a replay writes nothing: no new stamp either, so sync has nothing to push for it
      if (alreadyApplied(r, e.key)) return r;
      written.add(i);
      // the key sits inside `analysis`, so it is stamped (and synced) together with the result
      return stampChanges(r, mergeAnalysis(r, e.result, at, e.key), stamp);
    },
  );
  const updated = recs.filter((r, i): r is ImageRecord => !!r && written.has(i));
  if (updated.length) emit('updated', updated);
  return recs;
}

/** One result (see writeAnalyses): the new record, or undefined when the image is gone. */
export async function applyAnalysis(id: string, result: AnalysisResult, key?: string): Promise<ImageRecord | undefined> {
  return (await writeAnalyses([{ id, result, ...(key === undefined ? {} : { key }) }]))[0];
}

/** An analysed batch (see writeAnalyses). Resolves with the ids no longer in the library. */
export async function applyAnalyses(entries: readonly AnalysisEntry[]): Promise<string[]> {
  const recs = await writeAnalyses(entries);
  return entries.flatMap((e, i) => (recs[i] ? [] : [e.id]));
}

/**
 * Saves a generated image (PNG/JPEG/WebP blob) into the library with its parameters and lineage.
 * It gets addedAt = now, so it appears at the top of the grid (default sort: date added, newest first).
 */
export async function addGenerated(blob: Blob, params: Omit<GenerationParams, 'source'> & { source?: GenerationParams['source'] }, lineage?: Lineage, name?: string): Promise<ImageRecord> {
  const img = await imagePool().process(blob, name ?? 'generated.png');
  const ext = img.mime.split('/')[1] ?? 'png';
  const record = makeRecord(img, {
    name: name ?? `atelier-${new Date().toISOString().replace(/[:.]/g, '-')}.${ext === 'jpeg' ? 'jpg' : ext}`,
    bytes: blob.size,
    origin: 'generated',
    params: { ...params, source: params.source ?? 'atelier' },
    ...(lineage ? { lineage } : {}),
  });
  await putImage({ record, original: blob, thumb: img.thumb });
  emit('thumbs', [{ id: record.id, thumb: img.thumb }]);
  emit('added', [record]);
  emit('generated', [record.id]);
  return record;
}

/**
 * Edits records: `fn` gets each record as stored NOW (not a copy from memory) and returns it
 * changed; only the fields it changed are written (and stamped, lib/db/fields.ts), so edits that
 * race each other and analysis results all survive. One transaction and one 'updated' event for
 * all. Resolves to the new records (undefined where the image is gone). There is deliberately no
 * "save this whole record": a copy from memory may be older than what is stored.
 */
export async function editRecords(ids: readonly string[], fn: (rec: ImageRecord) => ImageRecord): Promise<(ImageRecord | undefined)[]> {
  const stamp = hlc().now();
  const recs = await updateRecords(ids, (r) => stampChanges(r, fn(r), stamp));
  const updated = recs.filter((r): r is ImageRecord => !!r);
  if (updated.length) emit('updated', updated);
  return recs;
}

/** Called with the ids of freshly imported images (not generated ones). Returns an unsubscribe. */
export const onImported = (fn: (ids: string[]) => void) => on('imported', fn);
/** Called with the ids of images a generation job saved. Returns an unsubscribe. */
export const onGenerated = (fn: (ids: string[]) => void) => on('generated', fn);
/** Called when an import starts (true) and ends (false). Returns an unsubscribe. */
export const onImporting = (fn: (importing: boolean) => void) => on('importing', fn);
/** Whether an import runs in this tab now (it may have started before the caller subscribed). */
export { isImporting } from './events';
/** Called when records are added, changed or removed anywhere. */
export const onRecordsChanged = (fn: () => void) => {
  const offs = [on('added', fn), on('updated', fn), on('removed', fn)];
  return () => offs.forEach((off) => off());
};
