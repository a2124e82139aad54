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
export type UpscaleRequest = Schemas['UpscaleRequest'];
export type UpscaleResponse = Schemas['UpscaleResponse'];
export type JobSummary = Schemas['JobSummary'];
export type AnalyzeBatchRequest = Schemas['AnalyzeBatchRequest'];
export type AnalyzeBatchResponse = Schemas['AnalyzeBatchResult'];
/** One image's analysis in a batch: a result, or `error` (the OpenAI error object). */
export type AnalyzeResult = Schemas['BatchItem'];
export type ChatCompletionResponse = Schemas['ChatCompletion'];
export type VramModeRequest = Schemas['ModeRequest'];
export type DownloadProgress = Schemas['DownloadProgress'];

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
  steps?: number;
  total?: number;
  model?: string;
  /** on `loading`: the model is in memory already (nothing is loaded from disk) */
  resident?: boolean;
  message?: string;
  error?: WireError;
  result?: GenerateResponse | UpscaleResponse;
  /** on `tile` (upscale jobs): which stage, and tile i of n (i = n when the stage is over) */
  stage?: 'upscale' | 'enhance' | string;
  tile?: number;
  tiles?: number;
  [key: string]: unknown;
}

/**
 * HAND-WRITTEN: GET /v1/status is declared as `dict[str, Any]` by the backend (its shape is the
 * model manager's status, see atelier/engine/manager.py `status()`), so the schema says nothing.
 */
export interface ModelStatus {
  id: string;
  kind: string;
  family?: string;
  state: 'not_downloaded' | 'on_disk' | 'in_ram' | 'on_gpu' | 'offloaded' | string;
  dtype?: string | null;
  quantization?: string | null;
  offload?: string | null;
  bytes?: Record<string, number>;
  last_used?: number | null;
  expires_at?: number | null;
  /** a model not downloaded: about what its download fetches (16-bit weights, from its configs) */
  download_bytes?: number | null;
  /** a model not downloaded: the backend's one wording of it (the Download button, `make models`) */
  download_hint?: string;
  /** a model not loaded: how the planner would place it now, and its size from configs */
  planned?: { dtype: string; quantization: string; offload: string; gpu_bytes: number; ram_bytes: number; fits: boolean } | null;
  /** a download that was interrupted (the backend stopped): Download resumes it */
  partial_download?: { bytes_done: number; bytes_total: number } | null;
}

export interface StatusResponse {
  version?: string;
  models_catalog?: string;
  device: { type?: string; name?: string; total_bytes?: number | null; free_bytes?: number | null; used_bytes?: number | null; used_by_models_bytes?: number | null };
  mode?: { configured?: string; effective?: string; reason?: string; pending?: string | null } | string;
  models: ModelStatus[];
  queue?: { running?: JobSummary | null; queued?: JobSummary[]; max_queue?: number; completed?: number };
  /** per vision model: its measured speed (moving average) and the work it has done */
  analysis?: Record<string, { ms_per_image: number; images: number; batches: number; last_at?: number }>;
}

/**
 * POST /v1/embeddings (OpenAI's wire format). Atelier's extensions: `model` may be left out (the
 * server's default embeddings model), and an input item may be an image data URL
 * (data:image/...;base64,...), embedded by the image tower into the same space as text.
 */
export type EmbeddingsRequest = Pick<Schemas['EmbeddingsRequest'], 'input' | 'model' | 'encoding_format' | 'dimensions'>;
export type EmbeddingsResponse = Schemas['EmbeddingsResponse'];

// The library on the server (sync, issue 18)
export type LibraryChange = Schemas['Change'];
export type LibraryPushRequest = Schemas['PushRequest'];
export type LibraryPushResponse = Schemas['PushResponse'];
export type LibraryChangeOut = Schemas['ChangeOut'];
export type LibraryChangesPage = Schemas['ChangesPage'];
export type LibraryBlobStored = Schemas['BlobStored'];
