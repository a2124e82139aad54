import { api } from '@/lib/api/client';
import type { LibraryPushRequest, LibraryPushResponse } from '@/lib/api/types';

export async function pushChanges(body: LibraryPushRequest, signal?: AbortSignal): Promise<LibraryPushResponse> {
  const { data } = await api.post<LibraryPushResponse>('/v1/library/changes', body, { signal, timeout: 60_000 });
  return data;
}
