import { api } from '../client';

/** POST /v1/model/switch: preloads a model and returns when it is ready. */
export async function switchModel(modelId: string): Promise<Record<string, unknown>> {
  const { data } = await api.post<Record<string, unknown>>('/v1/model/switch', { model_id: modelId });
  return data;
}
