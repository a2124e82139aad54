import { api } from '../client';
import type { SwitchResponse } from '../types';

/** POST /v1/model/switch: preloads a model and returns when it is ready. */
export async function switchModel(modelId: string): Promise<SwitchResponse> {
  const { data } = await api.post<SwitchResponse>('/v1/model/switch', { model_id: modelId });
  return data;
}
