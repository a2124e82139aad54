import { api } from '../client';
import type { AnalyzeBatchRequest, AnalyzeBatchResponse } from '../types';

/** POST /v1/analyze/batch: up to 16 images in one call, results in the same order. */
export const ANALYZE_BATCH_MAX = 16;

export async function analyzeBatch(body: AnalyzeBatchRequest, signal?: AbortSignal): Promise<AnalyzeBatchResponse> {
  const { data } = await api.post<AnalyzeBatchResponse>('/v1/analyze/batch', body, { signal });
  return data;
}
