// The analyzer for any OpenAI-compatible vision endpoint (Ollama serving moondream, vLLM...):
// one image per chat completion, asking for JSON and parsing it leniently.
import { ApiError, chatCompletion, providerModels, type Provider } from '@/lib/api';
import type { AnalysisResult } from '@/lib/db/schema';
import type { Analyzer } from '../queue/types';
import { loadImages, type ImageSource } from './atelier-analyzer';

export const ANALYSIS_PROMPT =
  'Describe this image for a photo library. Answer with JSON only, no prose: ' +
  '{"caption": "<one sentence>", "tags": ["<up to 15 short lower-case tags>"], "nsfw": <true|false>}';

/** Parse the model's answer: JSON, or JSON inside a code fence or prose. */
export function parseAnalysisJson(text: string, model: string): AnalysisResult {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  let obj: Record<string, unknown> | undefined;
  if (start >= 0 && end > start) {
    try {
      obj = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
    } catch {
      obj = undefined;
    }
  }
  if (!obj) {
    // Not JSON at all: keep the text as the caption rather than lose the work.
    const caption = text.trim();
    if (!caption) throw new ApiError('the model returned an empty answer', { code: 'invalid_response' });
    return { caption, tags: [], model };
  }
  const tags = Array.isArray(obj.tags) ? obj.tags : [];
  const names = [...new Set(tags.filter((t): t is string => typeof t === 'string').map((t) => t.trim().toLowerCase()).filter(Boolean))].slice(0, 30);
  const out: AnalysisResult = { caption: typeof obj.caption === 'string' ? obj.caption.trim() : '', tags: names.map((name) => ({ name, score: null })), model };
  if (typeof obj.nsfw === 'boolean') out.nsfw = { label: obj.nsfw ? 'nsfw' : 'safe', score: obj.nsfw ? 1 : 0 };
  return out;
}

export function chatAnalyzer(opts: { provider: Provider; images: ImageSource }): Analyzer {
  const { provider } = opts;
  return {
    maxBatch: 1,
    async analyze(recordIds, signal, sendable) {
      const [encoded] = await loadImages(recordIds.slice(0, 1), opts.images);
      await sendable;
      if (encoded === undefined || typeof encoded !== 'string') return [{ ok: false, error: encoded ?? new ApiError('no image') }];
      const started = performance.now();
      const res = await chatCompletion(
        {
          model: provider.model,
          messages: [{ role: 'user', content: [{ type: 'text', text: ANALYSIS_PROMPT }, { type: 'image_url', image_url: { url: encoded } }] }],
          max_tokens: 300,
          temperature: 0,
          response_format: { type: 'json_object' },
        },
        provider,
        signal,
      );
      const text = res.choices[0]?.message.content ?? '';
      const result = parseAnalysisJson(text, res.model || provider.model);
      result.ms = Math.round(performance.now() - started);
      return [{ ok: true, result }];
    },
    async probe(signal) {
      await providerModels(provider, signal);
    },
  };
}
