import { api } from '@/lib/api/client';

/** A blob's bytes from the server, typed as `type`. */
export async function getBlob(sha256: string, type: string, signal?: AbortSignal): Promise<Blob> {
  const { data } = await api.get<ArrayBuffer>(`/v1/library/blobs/${sha256}`, { signal, timeout: 10 * 60_000, responseType: 'arraybuffer' });
  return new Blob([data], { type });
}
