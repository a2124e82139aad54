import { api } from '../client';
import type { VramMode } from '../config';

export async function setVramMode(mode: VramMode): Promise<void> {
  await api.post('/v1/vram/mode', { mode });
}
