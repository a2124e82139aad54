import { api, providerConfig } from '../client';
import type { Provider } from '../config';

export interface ImagesRequest {
  model?: string;
  prompt: string;
  n?: number;
  size?: string;
  response_format?: 'b64_json';
}

/** POST {provider}/images/generations (the OpenAI Images API). */
export async function imagesGeneration(provider: Provider, body: ImagesRequest, signal?: AbortSignal): Promise<{ created: number; data: { b64_json?: string; url?: string }[] }> {
  const { data } = await api.post<{ created: number; data: { b64_json?: string; url?: string }[] }>('/images/generations', body, providerConfig(provider, { signal }));
  return data;
}
