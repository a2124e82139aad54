// Field-wise writes. A record is a set of fields, each with the hybrid-logical-clock stamp of its
// last write (`stamps`, see ./hlc.ts). Every write through library-api.ts reads the record as
// stored NOW, changes only its own fields and stamps just those, inside one IndexedDB
// transaction, so a rating, a tag edit and an analysis result that land within the same
// millisecond all survive. Sync (features/sync) merges a remote copy the same way: per field, the
// later stamp wins (`mergeFields`), which the server does too (backend/atelier/library).
import { ZERO_STAMP } from './hlc';
import type { ImageRecord } from './schema';

/** The `stamps` key for the record's creation: the stamp of every field not written since. */
export const CREATED = '$';
/** Keys that are not fields of the record (identity and bookkeeping). */
const NOT_FIELDS = new Set(['id', 'stamps']);

export type Stamps = Record<string, string>;

export function fieldNames(...recs: (Partial<ImageRecord> | undefined)[]): string[] {
  const names = new Set<string>();
  for (const r of recs) if (r) for (const k of Object.keys(r)) if (!NOT_FIELDS.has(k)) names.add(k);
  return [...names];
}

/** The stamp of one field: its own, else the record's creation stamp, else the zero stamp. */
export function stampOf(rec: Pick<ImageRecord, 'stamps'>, field: string): string {
  return rec.stamps?.[field] ?? rec.stamps?.[CREATED] ?? ZERO_STAMP;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Fields whose value differs between two versions of a record (an absent field counts as a value). */
export function changedFields(before: ImageRecord, after: ImageRecord): string[] {
  return fieldNames(before, after).filter((k) => !same((before as unknown as Record<string, unknown>)[k], (after as unknown as Record<string, unknown>)[k]));
}

/** Fields sync keeps for itself: no view shows, sorts or filters by them. */
const BOOKKEEPING = new Set(['thumbHash']);

/**
 * Whether `after` differs from `before` only in sync's bookkeeping (its stamps, the thumbnail's
 * hash): what the user sees of the record is the same.
 */
export function sameToTheEye(before: ImageRecord, after: ImageRecord): boolean {
  return changedFields(before, after).every((k) => BOOKKEEPING.has(k));
}

/** `after` with the fields it changed from `before` stamped `stamp` (unchanged: `after` as it is). */
export function stampChanges(before: ImageRecord, after: ImageRecord, stamp: string): ImageRecord {
  const changed = changedFields(before, after);
  if (!changed.length) return after;
  const stamps: Stamps = { ...(before.stamps ?? {}), ...(after.stamps ?? {}) };
  for (const k of changed) stamps[k] = stamp;
  return { ...after, stamps };
}

/** A new record: every field carries its creation stamp. */
export function stampNew(rec: ImageRecord, stamp: string): ImageRecord {
  return { ...rec, stamps: { [CREATED]: stamp } };
}

/**
 * Last writer wins, per field: for each field the value with the later stamp (ties: `local`).
 * A field one side lacks counts as absent-at-its-stamp, so a removed caption stays removed when
 * the removal is the later write. Returns `local` itself when nothing of `remote` wins.
 */
export function mergeFields(local: ImageRecord, remote: ImageRecord): ImageRecord {
  const out = { ...local } as unknown as Record<string, unknown>;
  const rv = remote as unknown as Record<string, unknown>;
  const created = local.stamps?.[CREATED] ?? remote.stamps?.[CREATED];
  const stamps: Stamps = created ? { [CREATED]: created } : {};
  let changed = false;
  for (const k of fieldNames(local, remote)) {
    const ls = stampOf(local, k);
    const rs = stampOf(remote, k);
    const win = rs > ls ? rs : ls;
    if (rs > ls) {
      if (!same(out[k], rv[k]) || ls !== rs) changed = true;
      if (k in rv) out[k] = rv[k];
      else delete out[k];
    }
    // a field at the creation stamp needs no stamp of its own: records stay small
    if (win !== created) stamps[k] = win;
  }
  if (!changed) return local;
  return { ...(out as unknown as ImageRecord), stamps };
}
