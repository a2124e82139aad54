import { api } from '../client';
import type { JobSummary } from '../types';

/**
 * DELETE /v1/jobs/{id}: removes a queued job (the answer says `cancelled`) or asks a running one to
 * stop (the answer says `running` with `cancel_requested`; its events end with `cancelled`).
 */
export async function cancelJob(id: string): Promise<JobSummary> {
  const { data } = await api.delete<JobSummary>(`/v1/jobs/${encodeURIComponent(id)}`);
  return data;
}
