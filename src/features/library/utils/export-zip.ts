import { zipSync, type Zippable } from 'fflate';
import type { ImageRecord } from '@/lib/db/schema';
import { buildXmp } from './xmp';

export interface ExportItem {
  record: ImageRecord;
  original: Uint8Array;
}

/** Unique file names inside the zip: "a.png", "a (2).png", ... (sidecars follow their image). */
export function uniqueNames(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    const safe = name.replace(/[\\/:*?"<>|]/g, '_') || 'image';
    const dot = safe.lastIndexOf('.');
    const base = dot > 0 ? safe.slice(0, dot) : safe;
    const ext = dot > 0 ? safe.slice(dot) : '';
    let candidate = safe;
    let i = 2;
    // basenames must be unique too, because Lightroom-style sidecars drop the extension
    const stem = (c: string) => c.slice(0, c.length - ext.length).toLowerCase();
    while (used.has(stem(candidate))) candidate = `${base} (${i++})${ext}`;
    used.add(stem(candidate));
    return candidate;
  });
}

/** Originals stored as-is (they are compressed already) plus one `<name>.xmp` sidecar each. */
export function buildExportZip(items: ExportItem[]): Uint8Array {
  const names = uniqueNames(items.map((i) => i.record.name));
  const files: Zippable = {};
  const enc = new TextEncoder();
  items.forEach((item, k) => {
    const name = names[k]!;
    const stem = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : name;
    files[name] = [item.original, { level: 0 }];
    files[`${stem}.xmp`] = [enc.encode(buildXmp(item.record)), { level: 6 }];
  });
  return zipSync(files);
}
