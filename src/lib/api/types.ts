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
/** A tag as the backend sends it; the library record keeps it as it is, plus its `source`. */
export type WireTag = Schemas['Tag'];
export type ChatCompletionResponse = Schemas['ChatCompletion'];
export type VramModeRequest = Schemas['ModeRequest'];
export type DownloadProgress = Schemas['DownloadProgress'];
export type StatusResponse = Schemas['StatusResponse'];
export type ModelStatus = Schemas['ModelStatus'];
/** A file of ATELIER_LORAS_DIR on GET /v1/status (`loras`), as GET /v1/models describes it. */
export type LoraStatus = Schemas['LoraFile'];
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
  result?: GenerateResponse | UpscaleResponse;
  /** on `tile` (upscale jobs): which stage, and tile i of n (i = n when the stage is over) */
  stage?: 'upscale' | 'enhance' | string;
  tile?: number;
  tiles?: number;
  [key: string]: unknown;
}

/**
 * POST /v1/embeddings (OpenAI's wire format, generated). Atelier's extensions: `model` may be left
 * out (the server's default embeddings model), and an input item may be an image data URL
 * (data:image/...;base64,...), embedded by the image tower into the same space as text. The request
 * is picked from the schema's fields: its open `[key: string]: unknown` (extra keys are accepted and
 * ignored) would let a misspelt field through `satisfies`.
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
export type LibraryBlobBatchStored = Schemas['BlobBatchStored'];
