import { api } from '../client';
import type { JobSummary } from '../types';

export async function getJob(id: string, signal?: AbortSignal): Promise<JobSummary> {
  const { data } = await api.get<JobSummary>(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
  return data;
}
