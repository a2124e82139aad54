import { api } from '../client';

/** POST /v1/model/unload; no id unloads every model. */
export async function unloadModel(modelId?: string): Promise<void> {
  await api.post('/v1/model/unload', modelId ? { model_id: modelId } : {});
}
