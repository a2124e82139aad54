import exifr from 'exifr';
import type { ExifFacts, GenerationParams } from '@/lib/db/schema';
import { isPng, readPngInfo } from './png-text';
import { paramsFromPngText } from './gen-params';

export interface FileMetadata {
  width?: number;
  height?: number;
  takenAt?: number;
  camera?: string;
  exif?: ExifFacts;
  params?: GenerationParams;
}

const PICK = ['DateTimeOriginal', 'CreateDate', 'Make', 'Model', 'LensModel', 'ISO', 'ExposureTime', 'FNumber', 'FocalLength'];

/** Dimensions (PNG), EXIF date/camera and PNG generation parameters. Never throws for EXIF trouble. */
export async function readMetadata(bytes: Uint8Array, mime: string): Promise<FileMetadata> {
  const meta: FileMetadata = {};
  if (mime === 'image/png' && isPng(bytes)) {
    const info = readPngInfo(bytes); // throws on a truncated PNG: the caller reports it as corrupt
    meta.width = info.width;
    meta.height = info.height;
    const params = paramsFromPngText(info.text);
    if (params) meta.params = params;
  }
  try {
    const ex = (await exifr.parse(bytes, { pick: PICK, translateValues: false })) as Record<string, unknown> | undefined;
    if (ex) {
      const date = ex['DateTimeOriginal'] ?? ex['CreateDate'];
      if (date instanceof Date && !Number.isNaN(date.getTime())) meta.takenAt = date.getTime();
      const make = typeof ex['Make'] === 'string' ? ex['Make'].trim() : '';
      const model = typeof ex['Model'] === 'string' ? ex['Model'].trim() : '';
      const camera = model.toLowerCase().startsWith(make.toLowerCase()) ? model : `${make} ${model}`.trim();
      if (camera) meta.camera = camera;
      const exif: ExifFacts = {};
      if (typeof ex['LensModel'] === 'string') exif.lens = ex['LensModel'];
      if (typeof ex['ISO'] === 'number') exif.iso = ex['ISO'];
      if (typeof ex['ExposureTime'] === 'number') exif.exposure = ex['ExposureTime'];
      if (typeof ex['FNumber'] === 'number') exif.fNumber = ex['FNumber'];
      if (typeof ex['FocalLength'] === 'number') exif.focalLength = ex['FocalLength'];
      if (Object.keys(exif).length) meta.exif = exif;
    }
  } catch {
    // no or broken EXIF is normal; the image itself may be fine
  }
  return meta;
}
