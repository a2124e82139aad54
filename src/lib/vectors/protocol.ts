// Messages between the page and the search worker (search-worker.ts, client.ts).
import type { CompactStats } from './store';
import type { Ranked } from './vector-index';

export interface IndexStats {
  model: string | null;
  count: number;
  dim: number;
  /** bytes of vector data held in memory (int8 rows + scales) */
  bytes: number;
  simd: boolean;
}

export type VectorRequest =
  /** load the vectors of `model` (the current embeddings model) from the database */
  | { op: 'open'; model: string }
  /** store embeddings (flat float32, `ids.length` rows of `dim`) and index them */
  | { op: 'put'; model: string; dim: number; ids: string[]; vectors: Float32Array }
  /** images left the library */
  | { op: 'remove'; ids: string[] }
  | { op: 'query'; vector: Float32Array; k: number; allow?: string[]; exclude?: string[] }
  /** rank by the mean of these images' vectors, excluding them */
  | { op: 'similar'; ids: string[]; k: number; allow?: string[] }
  /** which of `ids` have no vector of `model` yet */
  | { op: 'missing'; model: string; ids: string[] }
  /** cosine of image pairs: `pairs` holds index pairs into `ids`, flat */
  | { op: 'pairs'; ids: string[]; pairs: Int32Array }
  /** index pairs of perceptual hashes (two words each) within maxDistance bits (near-pairs.ts) */
  | { op: 'near'; words: Uint32Array; maxDistance: number; skip?: Uint8Array }
  | { op: 'stats' }
  | { op: 'compact'; model: string | null };

export interface VectorResults {
  open: IndexStats;
  put: IndexStats;
  remove: IndexStats;
  query: Ranked;
  similar: Ranked;
  missing: string[];
  pairs: number[];
  near: Int32Array;
  stats: IndexStats;
  compact: CompactStats;
}

export type Envelope = { seq: number; req: VectorRequest };
export type Reply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: string };

/** What one tab's worker tells the others' (a BroadcastChannel): apply, do not write again. */
export type VectorNews = { op: 'put'; model: string; dim: number; ids: string[]; scales: Float32Array; data: Int8Array } | { op: 'remove'; ids: string[] };

export const NEWS_CHANNEL = 'atelier-vectors';
