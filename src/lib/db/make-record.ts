import type { ProcessedImage } from '@/lib/workers/protocol';
import { stampNew } from './fields';
import { hlc } from './hlc';
import type { GenerationParams, ImageRecord, Lineage, Origin } from './schema';

/** Works without a secure context (crypto.randomUUID needs https or localhost). */
export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export interface RecordSource {
  name: string;
  bytes: number;
  origin: Origin;
  path?: string;
  addedAt?: number;
  params?: GenerationParams;
  lineage?: Lineage;
}

export function makeRecord(img: ProcessedImage, src: RecordSource): ImageRecord {
  const rec: ImageRecord = {
    id: newId(),
    hash: img.hash,
    name: src.name,
    mime: img.mime,
    bytes: src.bytes,
    width: img.width,
    height: img.height,
    addedAt: src.addedAt ?? Date.now(),
    origin: src.origin,
    rating: 0,
    flag: 'none',
    tags: [],
    thumbW: img.thumbW,
    thumbH: img.thumbH,
  };
  if (img.phash) rec.phash = img.phash;
  if (img.takenAt !== undefined) rec.takenAt = img.takenAt;
  if (img.camera) rec.camera = img.camera;
  if (img.exif) rec.exif = img.exif;
  const params = src.params ?? img.params;
  if (params) rec.params = params;
  if (src.lineage) rec.lineage = src.lineage;
  if (src.path) rec.path = src.path;
  return stampNew(rec, hlc().now());
}
