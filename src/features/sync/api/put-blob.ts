import { api } from '@/lib/api/client';
import type { LibraryBlobStored } from '@/lib/api/types';

/** Sends bytes [start, start + piece.size) of a blob of `total` bytes (Content-Range). */
export async function putBlobPiece(sha256: string, piece: Blob, start: number, total: number, type: string, onBytes?: (sent: number) => void, signal?: AbortSignal): Promise<LibraryBlobStored> {
  const { data } = await api.put<LibraryBlobStored>(`/v1/library/blobs/${sha256}`, piece, {
    signal,
    timeout: 10 * 60_000,
    headers: { 'Content-Type': type, 'Content-Range': `bytes ${start}-${start + piece.size - 1}/${total}` },
    onUploadProgress: onBytes ? (e) => onBytes(e.loaded) : undefined,
  });
  return data;
}
