import { getOriginal, getThumbs } from '@/lib/db/records';

// Decoded originals for the loupe: the current image and its neighbours (preloaded so next /
// previous is instant). Everything else is closed right away: full-size bitmaps are big.
const originals = new Map<string, Promise<ImageBitmap | null>>();

async function decode(blob: Blob | undefined): Promise<ImageBitmap | null> {
  if (!blob) return null;
  try {
    return await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    return null;
  }
}

export function loadOriginal(id: string): Promise<ImageBitmap | null> {
  let p = originals.get(id);
  if (!p) {
    p = getOriginal(id).then(decode);
    originals.set(id, p);
  }
  return p;
}

export async function loadThumbBitmap(id: string): Promise<ImageBitmap | null> {
  const [blob] = await getThumbs([id]);
  return decode(blob);
}

/** Keeps only `ids` decoded (and starts decoding them). */
export function keepOriginals(ids: string[]) {
  const keep = new Set(ids);
  for (const [id, p] of originals) {
    if (!keep.has(id)) {
      originals.delete(id);
      void p.then((b) => b?.close());
    }
  }
  ids.forEach((id) => void loadOriginal(id));
}
