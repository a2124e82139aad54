import type { ModelCard } from '@/lib/api';
import type { ImageRecord } from '@/lib/db/schema';
import type { GenerationJob } from '../jobs/job-runner';
import type { UpscaleOptions } from '../utils/build-request';
import { JobList } from './job-list';

interface Props {
  source: { record: ImageRecord; url: string } | undefined;
  /** the Upscale tab's choices (the prompt form store's `upscale`) */
  options: UpscaleOptions;
  onOptions: (patch: Partial<UpscaleOptions>) => void;
  upscalers: readonly ModelCard[];
  /** the upscaler a submit uses now */
  upscaler: ModelCard | undefined;
  upscalersError?: string | undefined;
  /** the prompt field (the image's own prompt or caption): used by Enhance details */
  prompt: string;
  onPrompt: (prompt: string) => void;
  /** the SDXL model chosen in the modal: Enhance details runs on it */
  generationModel: ModelCard | undefined;
  jobs: readonly GenerationJob[];
  onOpenImage?: (id: string) => void;
}

const label = 'text-[11px] font-medium uppercase tracking-wide text-neutral-500';
const input = 'w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 outline-none placeholder:text-neutral-600 focus:border-amber-400/70';
const SCALES = [2, 4] as const;

/** The prompt modal's Upscale tab: 2x or 4x in tiles (the server sizes them to the free memory), and
 *  optionally "Enhance details": SDXL img2img at a low strength, 1024 px tile by tile. Its state and
 *  submit live in the prompt form store. */
export function UpscalePanel({ source, options, onOptions, upscalers, upscaler, upscalersError, prompt, onPrompt, generationModel, jobs, onOpenImage }: Props) {
  const { scale, enhance, strength } = options;
  const w = source?.record.width ?? 0;
  const h = source?.record.height ?? 0;

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
          <select className={input} value={upscaler?.id ?? ''} onChange={(e) => onOptions({ model: e.target.value })} data-testid="upscaler-select" disabled={upscalers.length === 0}>
            {upscalers.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
                {m.downloaded === false ? ' · not downloaded' : ''}
              </option>
            ))}
          </select>
          {upscalersError && <span className="text-xs text-red-300">{upscalersError}</span>}
          {upscaler?.description && <span className="text-[11px] leading-snug text-neutral-500">{upscaler.description}</span>}
        </label>
        <div className="flex flex-col gap-1">
          <span className={label}>Scale</span>
          <div className="inline-flex gap-1 rounded-lg bg-neutral-950 p-1" role="radiogroup" data-testid="upscale-scale">
            {SCALES.map((s) => (
              <button key={s} type="button" role="radio" aria-checked={scale === s} onClick={() => onOptions({ scale: s })} className={`h-7 rounded-md px-3 text-xs ${scale === s ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:text-neutral-100'}`}>
                {s}×
              </button>
            ))}
          </div>
        </div>
        <label className="flex items-center gap-2 text-sm text-neutral-200">
          <input type="checkbox" checked={enhance} onChange={(e) => onOptions({ enhance: e.target.checked })} className="accent-amber-500" data-testid="upscale-enhance" />
          Enhance details
        </label>
        {enhance && (
          <label className="flex flex-col gap-1">
            <span className="flex items-baseline justify-between">
              <span className={label}>Strength</span>
              <span className="font-mono text-xs text-neutral-300 tabular-nums">{strength}</span>
            </span>
            <input type="range" min={0.05} max={0.6} step={0.05} value={strength} onChange={(e) => onOptions({ strength: Number(e.target.value) })} className="accent-amber-500" data-testid="upscale-strength" title="How far each 1024 px tile may move: keep it low so the tiles stay alike" />
            <span className="text-[11px] leading-snug text-neutral-500">
              With {generationModel?.id ?? 'the image model'}, 1024 px tile by tile.
            </span>
          </label>
        )}
      </div>
    </div>
  );
}
