import { api } from '../client';
import type { JobCreated, UpscaleRequest } from '../types';

/** POST /v1/upscale/jobs: queue an upscale (and enhance); followed like a generation on /v1/jobs/{id}. */
export async function createUpscaleJob(body: UpscaleRequest, signal?: AbortSignal): Promise<JobCreated> {
  const { data } = await api.post<JobCreated>('/v1/upscale/jobs', body, { signal });
  return data;
}
