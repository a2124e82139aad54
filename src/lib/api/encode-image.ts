// Images go to the backend as data URLs, downscaled first: vision models look at a few hundred
// pixels (Moondream: 378) and img2img resizes to the requested size, so sending a 24 MP original
// only costs upload time and memory.
import { imageSize } from './image-size';

const MAX_SIDE = 1024;

export async function blobToDataUrl(blob: Blob): Promise<string> {
  return bytesToDataUrl(new Uint8Array(await blob.arrayBuffer()), blob.type);
}

type WithBase64 = Uint8Array & { toBase64?: () => string };

/** Base64 of bytes: the engine's own encoder where it has one (Uint8Array.prototype.toBase64,
 * Chromium 140+, Firefox 133+, Safari 18.2+), a JS loop elsewhere. On a 1.6 MB batch the loop cost
 * 120 ms of the page's main thread, beside the backend on the same cores. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as WithBase64).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

function bytesToDataUrl(bytes: Uint8Array, type: string): string {
  return `data:${type || 'application/octet-stream'};base64,${toBase64(bytes)}`;
}

const SENT_AS_IS = /^image\/(jpeg|png|webp)$/;

/**
 * Downscale in the browser when the platform can; otherwise send the bytes as they are. A JPEG,
 * PNG or WebP whose header says it is small enough goes as it is, without a decode: a batch of
 * 16 is then read and encoded in milliseconds, not a second of decoding beside the backend.
 */
export async function encodeForAnalysis(blob: Blob, maxSide = MAX_SIDE): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const size = SENT_AS_IS.test(blob.type) ? imageSize(bytes) : undefined;
  if (size && Math.max(size.width, size.height) <= maxSide) return bytesToDataUrl(bytes, blob.type);
  if (typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function') {
    try {
      const bmp = await createImageBitmap(blob);
      const scale = Math.min(1, maxSide / Math.max(bmp.width, bmp.height));
      if (scale < 1 || !SENT_AS_IS.test(blob.type)) {
        const w = Math.max(1, Math.round(bmp.width * scale));
        const h = Math.max(1, Math.round(bmp.height * scale));
        const canvas = new OffscreenCanvas(w, h);
        canvas.getContext('2d')?.drawImage(bmp, 0, 0, w, h);
        bmp.close();
        return blobToDataUrl(await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 }));
      }
      bmp.close();
    } catch {
      // Not decodable here (HEIC, SVG...): let the backend decide.
    }
  }
  return bytesToDataUrl(bytes, blob.type);
}
