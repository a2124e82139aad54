import { api } from '../client';
import type { ModelCard, ModelList } from '../types';

export async function listModels(type?: ModelCard['type'], signal?: AbortSignal): Promise<ModelCard[]> {
  const { data } = await api.get<ModelList>('/v1/models', { signal });
  return type ? data.data.filter((m) => m.type === type) : data.data;
}
