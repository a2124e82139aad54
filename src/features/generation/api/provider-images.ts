// An OpenAI Images-compatible provider as a one-call generator for the job runner: txt2img only
// (the modal offers no other mode for a provider), no progress events.
import { imagesGeneration, type GenerateRequest, type Provider } from '@/lib/api';
import { b64ToBlob, type OneShot } from '../jobs/job-runner';

export function providerImages(provider: Provider): OneShot {
  return {
    async generate(req: GenerateRequest, signal: AbortSignal) {
      const size = req.width && req.height ? { width: req.width, height: req.height } : undefined;
      const res = await imagesGeneration(provider, { model: provider.model, prompt: req.prompt, n: req.n ?? 1, ...(size ? { size: `${size.width}x${size.height}` } : {}), response_format: 'b64_json' }, signal);
      return {
        images: res.data.flatMap((d) => (d.b64_json ? [b64ToBlob(d.b64_json)] : [])),
        // what the provider was sent, and nothing it was not (it takes no negative prompt, steps or seed)
        params: { prompt: req.prompt, model: provider.model, ...(size ?? {}) },
      };
    },
  };
}
