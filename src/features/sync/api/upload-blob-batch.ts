import { api } from '@/lib/api/client';
import type { LibraryBlobBatchStored } from '@/lib/api/types';

/**
 * Stores small blobs (thumbnails) in one request. The body frames each as an ASCII line
 * '<sha256> <size>\n' and then its bytes (as the batch download does); it is a Blob made of the
 * blobs themselves, so nothing is read or copied here.
 */
export async function uploadBlobBatch(blobs: readonly (readonly [sha256: string, blob: Blob])[], signal?: AbortSignal): Promise<LibraryBlobBatchStored> {
  const parts: BlobPart[] = [];
  for (const [sha, blob] of blobs) parts.push(`${sha} ${blob.size}\n`, blob);
  const body = new Blob(parts, { type: 'application/octet-stream' });
  const { data } = await api.post<LibraryBlobBatchStored>('/v1/library/blobs/upload', body, { signal, timeout: 120_000, headers: { 'Content-Type': 'application/octet-stream' } });
  return data;
}
