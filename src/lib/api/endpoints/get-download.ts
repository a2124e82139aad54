import { api } from '../client';
import type { DownloadProgress } from '../types';

/** GET /v1/models/{id}/download: progress of a model download (state idle | running | done | error). */
export async function getDownload(modelId: string, signal?: AbortSignal): Promise<DownloadProgress> {
  const { data } = await api.get<DownloadProgress>(`/v1/models/${encodeURIComponent(modelId)}/download`, { signal, timeout: 10_000 });
  return data;
}
