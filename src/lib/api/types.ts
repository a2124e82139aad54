// Wire types of the Atelier backend.
//
// INTERIM, HAND-WRITTEN: these mirror the backend contract (issues 3, 4, 5) until the backend's
// create_app() exists; then `npm run gen:api` writes schema.gen.ts and every type below becomes
// an alias of a generated schema (`components['schemas'][...]`). Features import from here only,
// so that switch touches this file alone.

export type AnalysisTask = 'caption' | 'tags' | 'nsfw' | 'objects';

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  type: 'generation' | 'vision' | string;
  downloaded: boolean;
  loaded: boolean;
  size_bytes?: number | null;
}

export interface ModelList {
  object: 'list';
  data: ModelCard[];
}

export interface GenerateRequest {
  prompt: string;
  negative_prompt?: string | null;
  model?: string | null;
  width?: number | null;
  height?: number | null;
  steps?: number | null;
  guidance_scale?: number | null;
  seed?: number | null;
  n?: number | null;
  scheduler?: string | null;
  image?: string | null;
  strength?: number | null;
  output_format?: 'png' | 'jpeg' | 'webp' | null;
}

export interface GeneratedImage {
  b64_json: string;
  seed: number;
}

export interface GenerateResponse {
  id: string;
  created: number;
  model: string;
  data: GeneratedImage[];
  parameters: Record<string, unknown>;
  timings: Record<string, number>;
}

export interface JobCreated {
  id: string;
  status: string;
  position: number;
}

export interface JobSummary {
  id: string;
  object: 'job';
  kind: string;
  status: 'queued' | 'running' | 'done' | 'error' | 'cancelled' | string;
  priority: string;
  created: number;
  started_at?: number | null;
  finished_at?: number | null;
  params?: Record<string, unknown>;
  last_event?: JobEventData | null;
  result?: GenerateResponse | null;
  error?: { message: string; type?: string; code?: string | null } | null;
}

/** One SSE `data:` object from /v1/jobs/{id}/events. */
export interface JobEventData {
  type: 'queued' | 'started' | 'loading' | 'step' | 'decoding' | 'done' | 'error' | 'cancelled' | string;
  at?: number;
  position?: number;
  step?: number;
  steps?: number;
  total?: number;
  model?: string;
  message?: string;
  error?: { message: string; type?: string; code?: string | null; param?: string | null };
  result?: GenerateResponse;
  [key: string]: unknown;
}

export interface AnalyzeBatchRequest {
  images: string[];
  model?: string | null;
  tasks?: AnalysisTask[];
  caption_length?: 'short' | 'normal' | null;
}

export interface AnalyzeResult {
  caption?: string | null;
  tags?: { name: string; score?: number | null }[] | null;
  nsfw?: { label: string; score: number } | null;
  model?: string;
  timings?: Record<string, number>;
  error?: { message: string; type?: string; code?: string | null } | null;
}

export interface AnalyzeBatchResponse {
  data: AnalyzeResult[];
  model?: string;
  timings?: Record<string, number>;
}

export interface ModelStatus {
  id: string;
  kind: string;
  state: 'not_downloaded' | 'on_disk' | 'in_ram' | 'on_gpu' | 'offloaded' | string;
  dtype?: string | null;
  quantization?: string | null;
  bytes?: Record<string, number>;
  last_used?: number | null;
  expires_at?: number | null;
}

export interface StatusResponse {
  version?: string;
  device: { type?: string; name?: string; total_bytes?: number | null; free_bytes?: number | null; used_bytes?: number | null; [k: string]: unknown };
  mode?: { configured?: string; effective?: string; [k: string]: unknown } | string;
  models: ModelStatus[];
  queue?: { running?: JobSummary | null; queued?: JobSummary[]; max_queue?: number; completed?: number };
  [key: string]: unknown;
}

export interface ChatCompletionResponse {
  id: string;
  choices: { index: number; message: { role: string; content: string | null }; finish_reason: string | null }[];
  model: string;
}
