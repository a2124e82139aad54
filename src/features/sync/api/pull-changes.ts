import { api } from '@/lib/api/client';
import type { LibraryChangesPage } from '@/lib/api/types';

/** One page of the server's change feed after `since` (none: from the start). 410: resync. */
export async function pullChanges(since: string | null, limit = 500, signal?: AbortSignal): Promise<LibraryChangesPage> {
  const { data } = await api.get<LibraryChangesPage>('/v1/library/changes', { params: { limit, ...(since ? { since } : {}) }, signal, timeout: 60_000 });
  return data;
}
