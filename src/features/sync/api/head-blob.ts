import { api } from '@/lib/api/client';

/** Whether the server has a blob, and else how many bytes of its upload it holds. */
export async function headBlob(sha256: string, signal?: AbortSignal): Promise<{ stored: boolean; offset: number }> {
  const res = await api.head(`/v1/library/blobs/${sha256}`, { signal, timeout: 30_000, validateStatus: (s) => s === 200 || s === 404 });
  return { stored: res.status === 200, offset: Number(res.headers['upload-offset'] ?? 0) || 0 };
}
