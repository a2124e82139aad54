// The library's record shapes, shared by every feature. Stored in IndexedDB through idb-keyval
// stores (see ./stores.ts): `meta` holds ImageRecord by id, `thumbs` and `originals` hold Blobs
// by the same id. Features never import each other; they meet here.
import type { WireTag } from '@/lib/api/types';

export type Rating = 0 | 1 | 2 | 3 | 4 | 5;
export type Flag = 'none' | 'pick' | 'reject';
export type Origin = 'imported' | 'generated';

/**
 * A tag as the backend sends it (`{name, score}`, score null when the model gives none), plus who
 * added it: 'ai' tags are replaced on re-analysis; 'user' tags (score null) are kept. Records
 * written before the score was always there lack it: `readRecord` (./stored.ts) fills it in.
 */
export type Tag = WireTag & { source: 'ai' | 'user' };

export interface Analysis {
  caption: string;
  nsfw?: { label: 'safe' | 'nsfw'; score: number };
  model: string;
  /** epoch ms when the result was written */
  at: number;
  ms?: number;
  /**
   * the analysis queue's idempotency key (`${jobId}:${recordId}`) of the result written here,
   * stored in the same put as the result: a replay of that result is recognised and ignored
   */
  key?: string;
}

/** Parameters of a generated image (ours) or read from PNG chunks (A1111 / ComfyUI). */
export interface GenerationParams {
  prompt: string;
  negativePrompt?: string;
  steps?: number;
  guidance?: number;
  seed?: number;
  sampler?: string;
  width?: number;
  height?: number;
  model?: string;
  strength?: number;
  /** where the parameters came from */
  source: 'atelier' | 'a1111' | 'comfyui';
  raw?: string;
}

export interface Lineage {
  sourceId: string;
  action: 'generate' | 'enhance' | 'remix' | 'sketch' | 'variations' | 'upscale';
}

export interface ImageRecord {
  id: string;
  /** content hash (hex) of the original bytes; duplicate detection */
  hash: string;
  /**
   * perceptual hash of the thumbnail (16 hex digits, lib/workers/phash.ts): the same picture
   * re-encoded, resized or brightened hashes alike (near-duplicate stacks). Set at import; older
   * records get one in idle time.
   */
  phash?: string;
  /** the user's word on this image's near-duplicate stack: its cover, or kept out of any stack */
  stack?: 'cover' | 'alone';
  name: string;
  mime: string;
  bytes: number;
  width: number;
  height: number;
  addedAt: number;
  takenAt?: number;
  camera?: string;
  origin: Origin;
  rating: Rating;
  flag: Flag;
  tags: Tag[];
  analysis?: Analysis;
  params?: GenerationParams;
  lineage?: Lineage;
  /** SHA-256 of the thumbnail's bytes: its name on the server (set by sync when it uploads it) */
  thumbHash?: string;
  /** thumbnail dimensions (the blob itself lives in the `thumbs` store) */
  thumbW: number;
  thumbH: number;
  /** relative path inside an imported folder, when imported from one */
  path?: string;
  /** a caption typed by the user; shown instead of `analysis.caption` when set */
  caption?: string;
  /** camera facts read from EXIF, when present */
  exif?: ExifFacts;
  /** the user's verdict, over the detector's (see ./nsfw.ts); kept when the image is analysed again */
  nsfwOverride?: 'safe' | 'nsfw';
  /**
   * lower-cased names of AI tags the user removed: a re-analysis does not bring them back (a
   * removal is an edit of the record, like a rating)
   */
  removedTags?: string[];
  /**
   * hybrid-logical-clock stamp of each field's last write (lib/db/fields.ts), `$` for the fields
   * not written since the record was made; sync merges per field by them (last writer wins)
   */
  stamps?: Record<string, string>;
}

export interface ExifFacts {
  lens?: string;
  iso?: number;
  /** seconds */
  exposure?: number;
  fNumber?: number;
  /** mm */
  focalLength?: number;
}

/** What the analysis queue hands to `applyAnalysis(id, result)` (see src/lib/db/library-api.ts). */
export interface AnalysisResult {
  caption: string;
  /** as the backend sent them (the chat analyzer makes the same shape from the model's text) */
  tags: WireTag[];
  nsfw?: { label: 'safe' | 'nsfw'; score: number };
  model: string;
  ms?: number;
}
