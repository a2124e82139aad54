import { api } from '../client';
import type { DownloadProgress } from '../types';

/** POST /v1/models/{id}/download: starts fetching a catalog model (202 with the progress object). */
export async function startDownload(modelId: string): Promise<DownloadProgress> {
  const { data } = await api.post<DownloadProgress>(`/v1/models/${encodeURIComponent(modelId)}/download`, undefined, { timeout: 30_000 });
  return data;
}
