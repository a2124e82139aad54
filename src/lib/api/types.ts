// Wire types of the Atelier backend, as the features use them.
//
// Everything the backend declares comes from schema.gen.ts, GENERATED from its OpenAPI schema
// (`npm run gen:api`; a test fails when it is stale). Only what the schema cannot say is
// written by hand below, and marked HAND-WRITTEN with the reason.
import type { components } from './schema.gen';

type Schemas = components['schemas'];

export type AnalysisTask = NonNullable<Schemas['AnalyzeBatchRequest']['tasks']>[number];
export type ModelCard = Schemas['Model'];
export type ModelList = Schemas['ModelList'];
export type GenerateRequest = Schemas['GenerateRequest'];
export type GeneratedImage = Schemas['GeneratedImage'];
export type GenerateResponse = Schemas['GenerateResponse'];
export type JobCreated = Schemas['JobCreated'];
export type JobSummary = Schemas['JobSummary'];
export type AnalyzeBatchRequest = Schemas['AnalyzeBatchRequest'];
export type AnalyzeBatchResponse = Schemas['AnalyzeBatchResult'];
/** One image's analysis in a batch: a result, or `error` (the OpenAI error object). */
export type AnalyzeResult = Schemas['BatchItem'];
export type ChatCompletionResponse = Schemas['ChatCompletion'];
export type VramModeRequest = Schemas['ModeRequest'];
export type DownloadProgress = Schemas['DownloadProgress'];
export type StatusResponse = Schemas['StatusResponse'];
export type ModelStatus = Schemas['ModelStatus'];
export type SwitchResponse = Schemas['SwitchResponse'];
export type UnloadResponse = Schemas['UnloadResponse'];
export type VramModeResponse = Schemas['VramModeResponse'];

/** The OpenAI error object inside an envelope, a batch item or an SSE error event. */
export interface WireError {
  message: string;
  type?: string | null;
  param?: string | null;
  code?: string | null;
}

/**
 * HAND-WRITTEN: one SSE `data:` object from /v1/jobs/{id}/events. SSE payloads are not part of
 * an OpenAPI schema; this follows atelier/engine/worker.py (`JobEvent.as_dict`: type, at, data).
 */
export interface JobEventData {
  type: 'queued' | 'started' | 'loading' | 'step' | 'decoding' | 'cancelling' | 'done' | 'error' | 'cancelled' | string;
  at?: number;
  position?: number;
  step?: number;
  /** on `step`: the number of denoising steps (`step` runs 0..total) */
  total?: number;
  model?: string;
  /** on `loading`: the model is in memory already (nothing is loaded from disk) */
  resident?: boolean;
  message?: string;
  error?: WireError;
  result?: GenerateResponse;
  [key: string]: unknown;
}

/**
 * HAND-WRITTEN until the backend serves POST /v1/embeddings (issue 19, phase 2; then generated like
 * the rest): OpenAI's embeddings wire format. Atelier's extension: an input item may be an image
 * data URL (data:image/...;base64,...), embedded by the image tower.
 */
export interface EmbeddingsRequest {
  model: string;
  input: string | string[];
  encoding_format?: 'float' | 'base64';
}

export interface EmbeddingsResponse {
  object: 'list';
  data: { object: 'embedding'; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
