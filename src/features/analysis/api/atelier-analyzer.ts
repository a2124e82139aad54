// The analyzer for our own backend: POST /v1/analyze/batch, up to 16 images per call.
import { analyzeBatch, ANALYZE_BATCH_MAX, ApiError, getStatus, listModels, settings, type AnalyzeResult, type WireError } from '@/lib/api';
import type { AnalysisResult } from '@/lib/db/schema';
import { readinessOf } from '@/lib/models-ready';
import type { Analyzer, AnalyzeOutcome } from '../queue/types';
import { encodeForAnalysis } from '@/lib/api';

export type ImageSource = (recordId: string) => Promise<Blob | undefined>;

export function toAnalysisResult(r: AnalyzeResult, fallbackModel: string, ms?: number): AnalysisResult {
  const out: AnalysisResult = {
    caption: (r.caption ?? '').trim(),
    tags: r.tags ?? [],
    model: fallbackModel,
  };
  if (r.nsfw) out.nsfw = { label: r.nsfw.label, score: r.nsfw.score }; // one label end to end: safe | nsfw
  if (ms !== undefined) out.ms = ms;
  return out;
}

export async function loadImages(ids: string[], source: ImageSource): Promise<(string | ApiError)[]> {
  return Promise.all(
    ids.map(async (id) => {
      const blob = await source(id).catch(() => undefined);
      if (!blob) return new ApiError('the image is no longer in the library', { code: 'not_found' });
      return encodeForAnalysis(blob);
    }),
  );
}

export function atelierAnalyzer(opts: { images: ImageSource; model?: () => string }): Analyzer {
  return {
    maxBatch: ANALYZE_BATCH_MAX,
    async analyze(recordIds, signal, sendable) {
      const encoded = await loadImages(recordIds, opts.images);
      await sendable;
      const sendIdx = encoded.flatMap((e, i) => (typeof e === 'string' ? [i] : []));
      const outcomes: AnalyzeOutcome[] = encoded.map((e) => (typeof e === 'string' ? { ok: false, error: new ApiError('not sent') } : { ok: false, error: e }));
      if (sendIdx.length === 0) return outcomes;
      const model = opts.model?.() || undefined;
      const started = performance.now();
      const res = await analyzeBatch(
        { images: sendIdx.map((i) => encoded[i] as string), tasks: ['caption', 'tags', 'nsfw'], ...(model ? { model } : {}) },
        signal,
      );
      const perImage = Math.round((performance.now() - started) / sendIdx.length);
      // Items carry their index in the request; fall back to order for servers that omit it.
      const byIndex = new Map(res.data.map((r, k) => [typeof r.index === 'number' ? r.index : k, r]));
      sendIdx.forEach((origIdx, k) => {
        const r = byIndex.get(k);
        if (!r) return;
        const e = r.error as WireError | null | undefined;
        outcomes[origIdx] = e
          ? { ok: false, error: new ApiError(e.message, { ...(e.code ? { code: e.code } : {}), ...(e.type ? { type: e.type } : {}) }) }
          : { ok: true, result: toAnalysisResult(r, res.model ?? model ?? 'unknown', perImage) };
      });
      return outcomes;
    },
    async probe(signal) {
      await listModels(undefined, signal);
    },
    async ready(signal) {
      const vision = readinessOf(await getStatus(signal), settings.get()).vision;
      if (!vision.ready) throw new ApiError(vision.reason ?? 'no vision model is downloaded', { code: 'model_not_downloaded', status: 409 });
    },
    async queueDepth(signal) {
      const s = await getStatus(signal);
      return s.queue?.queued?.length;
    },
    async speed(signal) {
      const status = await getStatus(signal);
      const stats = Object.entries(status.analysis ?? {});
      // Without a chosen model the backend uses its default, which it names in the status.
      const model = opts.model?.() || status.default_models.vision;
      const hit = model ? stats.find(([id]) => id === model) : undefined;
      const ms = hit?.[1].ms_per_image;
      return { ...(typeof ms === 'number' && ms > 0 ? { msPerImage: ms } : {}), ...(status.queue?.queued ? { queued: status.queue.queued.length } : {}) };
    },
  };
}
