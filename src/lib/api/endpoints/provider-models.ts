import { api, providerConfig } from '../client';
import type { Provider } from '../config';

/** GET {provider}/models: the "test connection" probe for any OpenAI-compatible endpoint. */
export async function providerModels(provider: Provider, signal?: AbortSignal): Promise<string[]> {
  const { data } = await api.get<{ data?: { id: string }[] }>('/models', providerConfig(provider, { signal, timeout: 10_000 }));
  return (data.data ?? []).map((m) => m.id);
}
