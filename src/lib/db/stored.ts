// Records as stored can be older than the record type: IndexedDB in users' browsers and the
// server's library hold what earlier versions wrote. Every way a record comes in (the reads in
// ./records.ts, a pulled sync change) passes through `readRecord`, so the rest of the app sees one
// shape. Reading writes nothing back; the next write of the record stores the current shape
// without stamping a field for it (the write starts from the upgraded record, see
// `updateRecords`), so sync never sees an upgrade as an edit.
import type { ImageRecord, Tag } from './schema';

/** A tag as written before every tag carried `score`. */
type OldTag = Omit<Tag, 'score'> & { score?: number | null };

/** `rec` in the current shape: the very object when it already is (the common case, no copy). */
export function readRecord(rec: ImageRecord): ImageRecord {
  const tags = rec.tags as OldTag[] | undefined;
  if (!tags) return { ...rec, tags: [] };
  if (tags.every((t) => t.score !== undefined)) return rec;
  return { ...rec, tags: tags.map((t) => ({ name: t.name, score: t.score ?? null, source: t.source })) };
}
