import { api } from '../client';
import type { GenerateRequest, JobCreated } from '../types';

/** POST /v1/jobs: queue a generation; answers 202 with the id and queue position. */
export async function createJob(body: GenerateRequest, signal?: AbortSignal): Promise<JobCreated> {
  const { data } = await api.post<JobCreated>('/v1/jobs', body, { signal });
  return data;
}
