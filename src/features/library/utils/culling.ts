import type { Flag, ImageRecord, Rating, Tag } from '@/lib/db/schema';
import type { NsfwMark } from '@/lib/db/nsfw';

/** `nsfw`: the user's verdict over the detector's; undefined goes back to automatic. */
export type CullAction = { type: 'rate'; rating: Rating } | { type: 'flag'; flag: Flag } | { type: 'nsfw'; value: NsfwMark | undefined };

/** Applies a culling action; returns only the records that actually changed (one write for all). */
export function applyCull(records: ImageRecord[], action: CullAction): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const r of records) {
    if (action.type === 'rate' && r.rating !== action.rating) out.push({ ...r, rating: action.rating });
    if (action.type === 'flag' && r.flag !== action.flag) out.push({ ...r, flag: action.flag });
    if (action.type === 'nsfw' && r.nsfwOverride !== action.value) {
      const { nsfwOverride: _, ...rest } = r;
      out.push(action.value ? { ...rest, nsfwOverride: action.value } : rest);
    }
  }
  return out;
}

export function addUserTag(r: ImageRecord, name: string): ImageRecord {
  const n = name.trim();
  if (!n) return r;
  const rest = r.tags.filter((t) => t.name.toLowerCase() !== n.toLowerCase());
  return { ...r, tags: [...rest, { name: n, score: null, source: 'user' }] };
}

/** Removes a tag; an AI tag's removal is remembered, so a re-analysis does not add it back. */
export function removeTag(r: ImageRecord, name: string): ImageRecord {
  const gone = r.tags.filter((t: Tag) => t.name === name);
  if (!gone.length) return r;
  const out: ImageRecord = { ...r, tags: r.tags.filter((t: Tag) => t.name !== name) };
  const key = name.toLowerCase();
  if (gone.some((t) => t.source === 'ai') && !r.removedTags?.includes(key)) out.removedTags = [...(r.removedTags ?? []), key];
  return out;
}

/** Children made from `id` (lineage links the other way). */
export function derivedFrom(records: Iterable<ImageRecord>, id: string): ImageRecord[] {
  const out: ImageRecord[] = [];
  for (const r of records) if (r.lineage?.sourceId === id) out.push(r);
  return out.sort((a, b) => b.addedAt - a.addedAt);
}
