import { api } from '../client';
import type { VramMode } from '../config';
import type { VramModeResponse } from '../types';

/** POST /v1/vram/mode: applied between jobs; answers with the configured and effective mode. */
export async function setVramMode(mode: VramMode): Promise<VramModeResponse> {
  const { data } = await api.post<VramModeResponse>('/v1/vram/mode', { mode });
  return data;
}
