import { forwardRef, useEffect, useImperativeHandle, useState } from 'react';
import { blobToDataUrl, describeError, listModels, type ModelCard, type UpscaleRequest } from '@/lib/api';
import type { ImageRecord } from '@/lib/db/schema';
import { generationJobs } from '../generation-service';
import type { GenerationJob } from '../jobs/job-runner';
import { JobList } from './job-list';

export interface UpscalePanelHandle {
  /** Queue the upscale; resolves once it is sent (progress shows in the job list). */
  submit: () => Promise<void>;
}

interface Props {
  source: { record: ImageRecord; url: string; blob: Blob } | undefined;
  /** the prompt field (the image's own prompt or caption): used by Enhance details */
  prompt: string;
  onPrompt: (prompt: string) => void;
  /** the SDXL model chosen in the modal: Enhance details runs on it */
  generationModel: ModelCard | undefined;
  jobs: readonly GenerationJob[];
  onOpenImage?: (id: string) => void;
  onError: (message: string | undefined) => void;
}

const label = 'text-[11px] font-medium uppercase tracking-wide text-neutral-500';
const input = 'w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 outline-none placeholder:text-neutral-600 focus:border-amber-400/70';
const SCALES = [2, 4] as const;

/** The prompt modal's Upscale tab: 2x or 4x in tiles (the server sizes them to the free memory), and
 *  optionally "Enhance details": SDXL img2img at a low strength, 1024 px tile by tile. */
export const UpscalePanel = forwardRef<UpscalePanelHandle, Props>(function UpscalePanel({ source, prompt, onPrompt, generationModel, jobs, onOpenImage, onError }, ref) {
  const [upscalers, setUpscalers] = useState<ModelCard[]>([]);
  const [modelId, setModelId] = useState<string>();
  const [scale, setScale] = useState<2 | 4>(4);
  const [enhance, setEnhance] = useState(false);
  const [strength, setStrength] = useState(0.3);

  useEffect(() => {
    const ctrl = new AbortController();
    listModels('upscaler', ctrl.signal)
      .then((ms) => setUpscalers(ms))
      .catch((err: unknown) => !ctrl.signal.aborted && onError(describeError(err)));
    return () => ctrl.abort();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const model = upscalers.find((m) => m.id === modelId) ?? upscalers.find((m) => m.downloaded !== false) ?? upscalers[0];
  const w = source?.record.width ?? 0;
  const h = source?.record.height ?? 0;

  useImperativeHandle(ref, () => ({
    submit: async () => {
      onError(undefined);
      if (!source) return onError('Open an image to upscale first');
      if (!model) return onError('The server has no upscaler model');
      if (enhance && !generationModel) return onError('Enhance details needs an image model');
      // The original file: it carries its own parameters, which the server keeps on the result.
      const body: UpscaleRequest = { image: await blobToDataUrl(source.blob), scale, model: model.id };
      if (enhance) Object.assign(body, { enhance: true, enhance_model: generationModel!.id, prompt: prompt.trim(), strength });
      void generationJobs().submitUpscale(body, source.record.id, source.record.params?.prompt);
    },
  }), [source, model, scale, enhance, strength, prompt, generationModel, onError]);

  return (
    <div className="grid gap-5 md:grid-cols-[1fr_15rem]" data-testid="upscale-panel">
      <div className="flex min-w-0 flex-col gap-3">
        {source && (
          <div className="flex items-start gap-3">
            <img src={source.url} alt={source.record.name} className="h-28 w-28 shrink-0 rounded-md border border-neutral-800 object-cover" />
            <div className="min-w-0 text-xs text-neutral-400">
              <div className="truncate text-neutral-200">{source.record.name}</div>
              <div data-testid="upscale-size">
                {w}×{h} → {w * scale}×{h * scale}
              </div>
              <div className="mt-1 text-[11px] leading-snug text-neutral-500">In tiles sized to the server's free memory, blended where they overlap: any size fits the card.</div>
            </div>
          </div>
        )}
        {enhance && (
          <label className="flex flex-col gap-1">
            <span className={label}>Prompt for the details</span>
            <textarea rows={2} className={input} value={prompt} onChange={(e) => onPrompt(e.target.value)} placeholder="the image's own prompt or caption" data-testid="upscale-prompt" />
          </label>
        )}
        <JobList jobs={jobs} {...(onOpenImage ? { onOpen: onOpenImage } : {})} />
      </div>

      <div className="flex flex-col gap-3">
        <label className="flex flex-col gap-1">
          <span className={label}>Upscaler</span>
          <select className={input} value={model?.id ?? ''} onChange={(e) => setModelId(e.target.value)} data-testid="upscaler-select" disabled={upscalers.length === 0}>
            {upscalers.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
                {m.downloaded === false ? ' · not downloaded' : ''}
              </option>
            ))}
          </select>
          {model?.description && <span className="text-[11px] leading-snug text-neutral-500">{model.description}</span>}
        </label>
        <div className="flex flex-col gap-1">
          <span className={label}>Scale</span>
          <div className="inline-flex gap-1 rounded-lg bg-neutral-950 p-1" role="radiogroup" data-testid="upscale-scale">
            {SCALES.map((s) => (
              <button key={s} type="button" role="radio" aria-checked={scale === s} onClick={() => setScale(s)} className={`h-7 rounded-md px-3 text-xs ${scale === s ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:text-neutral-100'}`}>
                {s}×
              </button>
            ))}
          </div>
        </div>
        <label className="flex items-center gap-2 text-sm text-neutral-200">
          <input type="checkbox" checked={enhance} onChange={(e) => setEnhance(e.target.checked)} className="accent-amber-500" data-testid="upscale-enhance" />
          Enhance details
        </label>
        {enhance && (
          <label className="flex flex-col gap-1">
            <span className="flex items-baseline justify-between">
              <span className={label}>Strength</span>
              <span className="font-mono text-xs text-neutral-300 tabular-nums">{strength}</span>
            </span>
            <input type="range" min={0.05} max={0.6} step={0.05} value={strength} onChange={(e) => setStrength(Number(e.target.value))} className="accent-amber-500" data-testid="upscale-strength" title="How far each 1024 px tile may move: keep it low so the tiles stay alike" />
            <span className="text-[11px] leading-snug text-neutral-500">
              With {generationModel?.id ?? 'the image model'}, 1024 px tile by tile.
            </span>
          </label>
        )}
      </div>
    </div>
  );
});
