import { api } from '../client';
import type { StatusResponse } from '../types';

export async function getStatus(signal?: AbortSignal): Promise<StatusResponse> {
  const { data } = await api.get<StatusResponse>('/v1/status', { signal, timeout: 10_000 });
  return data;
}
