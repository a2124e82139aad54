import { api } from '@/lib/api/client';
import type { components } from '@/lib/api/schema.gen';

export type LibrarySummary = components['schemas']['LibrarySummary'];

/** The server library's epoch and counters (also: is there a library API at all). */
export async function getLibrary(signal?: AbortSignal): Promise<LibrarySummary> {
  const { data } = await api.get<LibrarySummary>('/v1/library', { signal, timeout: 10_000 });
  if (typeof data !== 'object' || data === null || typeof data.epoch !== 'string') throw new Error('this server has no library API (an older Atelier, or not Atelier)');
  return data;
}
