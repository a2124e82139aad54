import type { FileMetadata } from './metadata';

export const THUMB_EDGE = 384;

export type WorkerRequest =
  | { seq: number; kind: 'process'; blob: Blob; name: string }
  /** decode + resize only: the benchmark's "raw rate" */
  | { seq: number; kind: 'raw'; blob: Blob }
  /** the perceptual hash of a thumbnail already stored */
  | { seq: number; kind: 'phash'; blob: Blob };

export interface ProcessedImage extends FileMetadata {
  hash: string;
  mime: string;
  width: number;
  height: number;
  thumb: Blob;
  thumbW: number;
  thumbH: number;
  /** perceptual hash of the thumbnail (phash.ts) */
  phash?: string;
}

export type WorkerResponse = { seq: number; ok: true; image?: ProcessedImage; phash?: string } | { seq: number; ok: false; reason: string };

export function thumbSize(w: number, h: number, edge = THUMB_EDGE): [number, number] {
  const s = Math.min(1, edge / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}
