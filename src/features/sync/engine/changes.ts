// Records <-> the server's changes. Pure: what is pushed for a record, and the record a pulled
// change stands for.
import { CREATED } from '@/lib/db/fields';
import { formatStamp } from '@/lib/db/hlc';
import type { ImageRecord } from '@/lib/db/schema';
import { readRecord } from '@/lib/db/stored';
import type { LibraryChange, LibraryChangeOut } from '@/lib/api/types';

/**
 * The change that carries a local record: every field and its stamps. A record from before
 * stamps existed gets its import time as creation stamp, so any edit made since wins over it;
 * so does one that was edited since without ever getting a creation stamp (the stamps of its
 * edited fields only: the first sync stamps its thumbnail hash, a rating may be stamped too),
 * or the server would refuse its unstamped fields.
 */
export function toChange(rec: ImageRecord, clientId: string): LibraryChange {
  const { id, stamps, ...fields } = withCreationStamp(rec, clientId);
  return { id, fields, stamps: stamps! };
}

/**
 * The record with the creation stamp its change carries (see toChange). Sync stores it so: the
 * change pulled back after the push is then the record as stored, and merging it writes nothing.
 */
export function withCreationStamp(rec: ImageRecord, clientId: string): ImageRecord {
  if (rec.stamps?.[CREATED]) return rec;
  return { ...rec, stamps: { [CREATED]: formatStamp(Math.max(0, Math.floor(rec.addedAt)), 0, clientId), ...(rec.stamps ?? {}) } };
}

export function deletion(id: string, stamp: string): LibraryChange {
  return { id, deleted: stamp };
}

/**
 * The record a pulled change describes, or null for a tombstone. The server keeps what clients
 * pushed, older shapes included: it is read like a stored record (`readRecord`).
 */
export function fromChange(c: LibraryChangeOut): ImageRecord | null {
  if (c.deleted) return null;
  return readRecord({ ...(c.fields as unknown as Omit<ImageRecord, 'id' | 'stamps'>), id: c.id, stamps: c.stamps });
}

/** Every stamp a change carries (the clock moves past them). */
export function stampsOf(c: LibraryChangeOut): string[] {
  return c.deleted ? [c.deleted] : Object.values(c.stamps);
}
