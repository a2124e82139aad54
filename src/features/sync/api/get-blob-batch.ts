import { api } from '@/lib/api/client';

/**
 * Up to 200 small blobs (thumbnails) in one request. The body frames each as an ASCII line
 * '<sha256> <size>\n' and then its bytes; size -1: not on the server (or too large for a batch).
 */
export async function getBlobBatch(hashes: readonly string[], type: string, signal?: AbortSignal): Promise<Map<string, Blob>> {
  const { data } = await api.post<ArrayBuffer>('/v1/library/blobs/batch', { sha256: hashes }, { signal, timeout: 120_000, responseType: 'arraybuffer' });
  return parseFrames(new Uint8Array(data), type);
}

export function parseFrames(bytes: Uint8Array, type: string): Map<string, Blob> {
  const out = new Map<string, Blob>();
  const ascii = new TextDecoder('ascii');
  let at = 0;
  while (at < bytes.length) {
    const nl = bytes.indexOf(10, at);
    if (nl < 0) break;
    const [sha, sizeText] = ascii.decode(bytes.subarray(at, nl)).split(' ');
    const size = Number(sizeText);
    at = nl + 1;
    if (!sha || !Number.isInteger(size)) break;
    if (size < 0) continue;
    out.set(sha, new Blob([bytes.slice(at, at + size)], { type }));
    at += size;
  }
  return out;
}
