// The API client: one axios instance, the settings it reads, the error type, the SSE reader and
// one function per backend operation.
export { api, providerConfig, backendFetchInit } from './client';
export * from './config';
export * from './errors';
export * from './sse';
export type * from './types';
export { listModels } from './endpoints/list-models';
export { createJob } from './endpoints/create-job';
export { createUpscaleJob } from './endpoints/create-upscale-job';
export { getJob } from './endpoints/get-job';
export { cancelJob } from './endpoints/cancel-job';
export { jobEvents } from './endpoints/job-events';
export { analyzeBatch, ANALYZE_BATCH_MAX } from './endpoints/analyze-batch';
export { getStatus } from './endpoints/get-status';
export { unloadModel } from './endpoints/unload-model';
export { switchModel } from './endpoints/switch-model';
export { setVramMode } from './endpoints/set-vram-mode';
export { chatCompletion, type ChatRequest } from './endpoints/chat-completion';
export { imagesGeneration, type ImagesRequest } from './endpoints/images-generation';
export { providerModels } from './endpoints/provider-models';
export { startDownload } from './endpoints/start-download';
export { getDownload } from './endpoints/get-download';
export { createEmbeddings } from './endpoints/create-embeddings';
export { blobToDataUrl, encodeForAnalysis } from './encode-image';
