import { api, providerConfig } from '../client';
import type { Provider } from '../config';
import type { ChatCompletionResponse } from '../types';

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatRequest {
  model: string;
  messages: { role: 'system' | 'user' | 'assistant'; content: string | Part[] }[];
  max_tokens?: number;
  temperature?: number;
  response_format?: { type: 'json_object' };
}

/** POST {provider}/chat/completions, or our own /v1/chat/completions without a provider. */
export async function chatCompletion(body: ChatRequest, provider?: Provider, signal?: AbortSignal): Promise<ChatCompletionResponse> {
  const { data } = provider
    ? await api.post<ChatCompletionResponse>('/chat/completions', body, providerConfig(provider, { signal }))
    : await api.post<ChatCompletionResponse>('/v1/chat/completions', body, { signal });
  return data;
}
