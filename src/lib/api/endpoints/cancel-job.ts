import { api } from '../client';

/** DELETE /v1/jobs/{id}: removes a queued job or interrupts a running one at its next step. */
export async function cancelJob(id: string): Promise<void> {
  await api.delete(`/v1/jobs/${encodeURIComponent(id)}`);
}
