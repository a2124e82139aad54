import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { ATELIER, providerById, settings, type ModelCard } from '@/lib/api';
import { getOriginal, getRecord } from '@/lib/db/library-api';
import { useModelReadiness } from '@/lib/models-ready';
import type { ImageRecord } from '@/lib/db/schema';
import { Button } from '@/components/ui/button';
import { Modal } from '@/components/ui/modal';
import { generationJobs } from '../generation-service';
import { useGenerationModels } from '../hooks/use-generation-models';
import { useGenerationJobs } from '../hooks/use-jobs';
import { pickUpscaler, useUpscalers } from '../hooks/use-upscalers';
import { createPromptForm, sendsImage } from '../stores/prompt-form';
import { formFromParams, modeDefaults, MODES, reuseTarget, type Mode } from '../utils/build-request';
import { ASPECTS, dimensionsFor, dimensionsLike, SIZES, type AspectId } from '../utils/dimensions';
import { loadPresets, rememberedStyle, savePresets, STYLES } from '../utils/presets';
import { JobList } from './job-list';
import { SketchPad, type SketchPadHandle } from './sketch-pad';
import { UpscalePanel } from './upscale-panel';

export interface PromptModalProps {
  onClose: () => void;
  /** the image to start from: the loupe's image or the first of a grid selection */
  sourceId?: string;
  initialMode?: Mode;
  /** open a saved image (e.g. in the loupe) from the progress list */
  onOpenImage?: (id: string) => void;
}

const NATIVE_FALLBACK = { width: 1024, height: 1024 };

// TODO(issue 3): /v1/models does not list each checkpoint's recommended defaults yet. Until it
// does, unset fields (size, steps, guidance) are left to the backend, which fills them per model.
type WithDefaults = ModelCard & { defaults?: { steps?: number; guidance_scale?: number; width?: number; height?: number } | null };

function nativeOf(m: ModelCard | undefined): { width: number; height: number } | undefined {
  const d = (m as WithDefaults | undefined)?.defaults;
  return d?.width && d.height ? { width: d.width, height: d.height } : undefined;
}

const label = 'text-[11px] font-medium uppercase tracking-wide text-neutral-500';
const input = 'w-full rounded-md border border-neutral-700 bg-neutral-950 px-2.5 py-1.5 text-sm text-neutral-100 outline-none placeholder:text-neutral-600 focus:border-amber-400/70';

function Segmented<T extends string>({ value, options, onChange, testId }: { value: T; options: { id: T; label: string; title?: string; disabled?: boolean }[]; onChange: (v: T) => void; testId?: string }) {
  return (
    <div className="inline-flex flex-wrap gap-1 rounded-lg bg-neutral-950 p-1" role="radiogroup" data-testid={testId}>
      {options.map((o) => (
        <button
          key={o.id}
          type="button"
          role="radio"
          aria-checked={value === o.id}
          title={o.title}
          disabled={o.disabled}
          onClick={() => onChange(o.id)}
          className={`h-7 rounded-md px-2.5 text-xs transition-colors disabled:cursor-not-allowed disabled:opacity-35 ${value === o.id ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:text-neutral-100'}`}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

/** A slider whose undefined value means "the model's default". */
function Slider({ name, value, fallback, min, max, step, onChange, onReset, testId, hint }: { name: string; value: number | undefined; fallback?: number; min: number; max: number; step: number; onChange: (v: number) => void; onReset?: () => void; testId?: string; hint?: string }) {
  return (
    <label className="flex flex-col gap-1">
      <span className="flex items-baseline justify-between">
        <span className={label}>{name}</span>
        {value === undefined ? (
          <span className="text-xs text-neutral-500">model default</span>
        ) : (
          <span className="flex items-baseline gap-2">
            {onReset && (
              <button type="button" className="text-[11px] text-neutral-500 hover:text-neutral-200" onClick={onReset} title="Use the model's default">
                reset
              </button>
            )}
            <span className="font-mono text-xs text-neutral-300 tabular-nums">{value}</span>
          </span>
        )}
      </span>
      <input type="range" min={min} max={max} step={step} value={value ?? fallback ?? min} onChange={(e) => onChange(Number(e.target.value))} className={`accent-amber-500 ${value === undefined ? 'opacity-40' : ''}`} data-testid={testId} title={hint} />
    </label>
  );
}

/** The prompt modal: Generate, Enhance, Remix, Sketch, Variations and Upscale, with live job progress. */
export function PromptModal({ onClose, sourceId, initialMode, onOpenImage }: PromptModalProps) {
  const cfg = useSyncExternalStore(settings.subscribe, settings.get);
  const provider = cfg.imagesProvider !== ATELIER ? providerById(cfg, cfg.imagesProvider) : undefined;
  const { models, error: modelsError, loading } = useGenerationModels();
  const allJobs = useGenerationJobs();
  const [openedAt] = useState(() => Date.now());
  const jobs = useMemo(() => allJobs.filter((j) => j.startedAt >= openedAt || !['done', 'error', 'cancelled'].includes(j.phase)).slice(0, 4), [allJobs, openedAt]);

  const [source, setSource] = useState<{ record: ImageRecord; url: string; blob: Blob } | undefined>();
  const [store] = useState(() =>
    createPromptForm(
      {
        form: {
          ...modeDefaults(initialMode ?? (sourceId ? 'enhance' : 'generate')),
          prompt: '',
          negative: '',
          model: cfg.generationModel,
          width: undefined,
          height: undefined,
          steps: undefined,
          guidance: undefined,
          seed: -1,
          style: rememberedStyle(),
        },
        presets: loadPresets(),
      },
      { submit: (...args) => generationJobs().submit(...args), submitUpscale: (...args) => generationJobs().submitUpscale(...args), savePresets },
    ),
  );
  const { form, aspect, size, error: formError, busy, presets, upscale } = useSyncExternalStore(store.subscribe, store.getState);
  const sketch = useRef<SketchPadHandle>(null);
  const set = store.set;
  const setForm = store.change;
  const upscaling = form.mode === 'upscale';
  const { upscalers, error: upscalersError } = useUpscalers(upscaling);
  const upscaler = pickUpscaler(upscalers, upscale.model);

  // Without a choice, the first downloaded model (what the backend would use), not one that is missing.
  const model = models.find((m) => m.id === form.model) ?? models.find((m) => m.downloaded !== false) ?? models[0];
  const native = nativeOf(model);
  // Why Generate cannot run yet (a first run: nothing downloaded), in the backend's words.
  const readiness = useModelReadiness();
  const blocked = provider || !readiness.known || upscaling ? undefined : model ? (model.downloaded === false ? readiness.generation.missing.find((m) => m.id === model.id)?.hint ?? `model '${model.id}' is not downloaded` : undefined) : readiness.generation.reason;

  // The source image for img2img modes.
  useEffect(() => {
    if (!sourceId) return;
    let url: string | undefined;
    let live = true;
    void (async () => {
      const [record, blob] = await Promise.all([getRecord(sourceId), getOriginal(sourceId)]);
      if (!live || !record || !blob) return;
      // "Reuse parameters" opens Generate on a generated image: take all of them. An Enhance, Remix
      // or Variations result reopens its mode on the image it came from, at its strength (its stored
      // prompt already carries the style it was made with, so no style is added again).
      const target = initialMode === 'generate' && record.params ? reuseTarget(record) : undefined;
      if (target?.sourceId) {
        const [from, fromBlob] = await Promise.all([getRecord(target.sourceId), getOriginal(target.sourceId)]);
        if (!live) return;
        if (from && fromBlob) {
          url = URL.createObjectURL(fromBlob);
          setSource({ record: from, url, blob: fromBlob });
          setForm((f) => ({ ...f, ...modeDefaults(target.mode), ...formFromParams(record.params!), style: 'none' }));
          return;
        }
        // The source was deleted since: the parameters alone still make a Generate.
      }
      url = URL.createObjectURL(blob);
      setSource({ record, url, blob });
      if (target) setForm((f) => ({ ...f, ...formFromParams(record.params!) }));
      else setForm((f) => (f.prompt ? f : { ...f, prompt: record.params?.prompt ?? record.caption ?? record.analysis?.caption ?? '' }));
    })();
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [sourceId]); // eslint-disable-line react-hooks/exhaustive-deps

  // A model's recommended steps/guidance/size when it is chosen (Lightning: few steps, low guidance).
  useEffect(() => {
    if (!model) return;
    const d = (model as WithDefaults).defaults ?? {};
    // Only a model that states its defaults overrides the fields (reused parameters stay otherwise).
    setForm((f) => ({ ...f, model: model.id, ...(d.steps !== undefined ? { steps: d.steps } : {}), ...(d.guidance_scale !== undefined ? { guidance: d.guidance_scale } : {}) }));
  }, [model?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // Width/height follow the source's shape for img2img, the presets otherwise.
  const followsSource = !!source && (form.mode === 'enhance' || form.mode === 'remix' || form.mode === 'variations');
  // Without the model's native size, img2img and "Model default" leave the size to the backend
  // (it fits the source's shape into the model's area).
  useEffect(() => {
    const dims: { width: number | undefined; height: number | undefined } = followsSource
      ? native
        ? dimensionsLike(source.record, native)
        : { width: undefined, height: undefined }
      : size === 'auto'
        ? native ?? { width: undefined, height: undefined }
        : dimensionsFor(aspect, size, native ?? NATIVE_FALLBACK);
    setForm((f) => (f.width === dims.width && f.height === dims.height ? f : { ...f, ...dims }));
  }, [followsSource, source, aspect, size, native?.width, native?.height]); // eslint-disable-line react-hooks/exhaustive-deps

  const sketchDims = form.width && form.height ? { width: form.width, height: form.height } : dimensionsFor(aspect, 'S', { width: 683, height: 683 });

  const mode = MODES.find((m) => m.id === form.mode)!;
  const img2img = sendsImage(form.mode, source?.record.params);

  const submit = () =>
    store.submit({
      provider,
      source: source ? { id: source.record.id, blob: source.blob, params: source.record.params } : undefined,
      sketch: async () => sketch.current?.toBlob(),
      upscaler: upscaler?.id,
      generationModel: model?.id,
    });

  const savePreset = () => {
    const name = window.prompt('Preset name');
    if (name) store.savePreset(name);
  };

  const footer = (
    <div className="flex w-full items-center gap-3">
      {formError ? (
        <p className="min-w-0 flex-1 text-xs text-red-300" role="alert" data-testid="prompt-error">
          {formError}
        </p>
      ) : (
        blocked && (
          <p className="min-w-0 flex-1 text-xs text-amber-200" role="status" data-testid="prompt-blocked">
            {blocked}
          </p>
        )
      )}
      <div className="ml-auto flex gap-2">
        <Button variant="ghost" onClick={onClose}>
          Close
        </Button>
        <Button variant="primary" onClick={() => void submit()} disabled={busy || (!upscaling && ((!provider && !model) || !!blocked))} title={blocked} data-testid="prompt-submit">
          {mode.label}
          {form.count > 1 ? ` ×${form.count}` : ''}
        </Button>
      </div>
    </div>
  );

  return (
    <Modal title={source ? `${mode.label} · ${source.record.name}` : mode.label} onClose={onClose} footer={footer} wide testId="prompt-modal">
      <div className="flex flex-col gap-4">
        <Segmented
          value={form.mode}
          testId="prompt-modes"
          onChange={store.setMode}
          options={MODES.map((m) => ({ id: m.id, label: m.label, title: m.needsSource && !source ? `${m.hint} (open an image first)` : m.hint, disabled: (m.needsSource && !source) || (!!provider && m.id !== 'generate') }))}
        />

        {upscaling && (
          <UpscalePanel
            source={source}
            options={upscale}
            onOptions={store.setUpscale}
            upscalers={upscalers}
            upscaler={upscaler}
            upscalersError={upscalersError}
            prompt={form.prompt}
            onPrompt={(prompt) => set({ prompt })}
            generationModel={model}
            jobs={jobs}
            {...(onOpenImage ? { onOpenImage } : {})}
          />
        )}
        {/* Hidden, not unmounted, while upscaling: the sketch pad keeps its drawing. */}
        <div className={`grid gap-5 md:grid-cols-[1fr_15rem] ${upscaling ? 'hidden' : ''}`}>
          <div className="flex min-w-0 flex-col gap-3">
            {form.mode === 'sketch' ? (
              <SketchPad ref={sketch} width={sketchDims.width} height={sketchDims.height} />
            ) : (
              source &&
              form.mode !== 'generate' && (
                <div className="flex items-start gap-3">
                  <img src={source.url} alt={source.record.name} className="h-28 w-28 shrink-0 rounded-md border border-neutral-800 object-cover" />
                  <div className="min-w-0 text-xs text-neutral-400">
                    <div className="truncate text-neutral-200">{source.record.name}</div>
                    <div>
                      {source.record.width}×{source.record.height} → {form.width ? `${form.width}×${form.height}` : 'same shape at the model\'s size'}
                    </div>
                    {source.record.params && (
                      <Button className="mt-2" onClick={() => store.reuse(source?.record.params)} data-testid="reuse-params">
                        Reuse parameters
                      </Button>
                    )}
                  </div>
                </div>
              )
            )}

            <label className="flex flex-col gap-1">
              <span className={label}>Prompt</span>
              <textarea data-autofocus rows={3} className={input} value={form.prompt} onChange={(e) => set({ prompt: e.target.value })} placeholder="a lighthouse on a cliff at dusk, volumetric light" data-testid="prompt-input" onKeyDown={(e) => e.key === 'Enter' && (e.ctrlKey || e.metaKey) && void submit()} />
            </label>
            <label className="flex flex-col gap-1">
              <span className={label}>Negative prompt</span>
              <input className={input} value={form.negative} onChange={(e) => set({ negative: e.target.value })} placeholder="blurry, watermark, extra fingers" data-testid="negative-input" />
            </label>

            {form.mode === 'remix' && (
              <div className="flex flex-col gap-1">
                <span className={label}>Style</span>
                <Segmented value={form.style} testId="style" onChange={store.setStyle} options={STYLES.map((s) => ({ id: s.id, label: s.label }))} />
              </div>
            )}

            {source?.record.params && form.mode === 'generate' && (
              <Button onClick={() => store.reuse(source?.record.params)} data-testid="reuse-params">
                Reuse parameters of {source.record.name}
              </Button>
            )}

            <JobList jobs={jobs} {...(onOpenImage ? { onOpen: onOpenImage } : {})} />
          </div>

          <div className="flex flex-col gap-3">
            <label className="flex flex-col gap-1">
              <span className={label}>Model</span>
              {provider ? (
                <div className="text-xs text-neutral-300">
                  {provider.name} · {provider.model}
                </div>
              ) : (
                <select className={input} value={model?.id ?? ''} onChange={(e) => set({ model: e.target.value })} data-testid="model-select" disabled={loading || models.length === 0}>
                  {loading && <option>Loading…</option>}
                  {models.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.id}
                      {m.loaded ? ' · loaded' : m.downloaded ? '' : ' · not downloaded'}
                    </option>
                  ))}
                </select>
              )}
              {modelsError && <span className="text-xs text-red-300">{modelsError}</span>}
              {model?.description && <span className="text-[11px] leading-snug text-neutral-500">{model.description}</span>}
            </label>

            {!followsSource && (
              <>
                <div className="flex flex-col gap-1">
                  <span className={label}>Aspect</span>
                  <Segmented value={size === 'auto' ? ('' as AspectId) : aspect} onChange={store.setAspect} options={ASPECTS.map((a) => ({ id: a.id, label: a.id }))} testId="aspect" />
                </div>
                <div className="flex flex-col gap-1">
                  <span className={label}>
                    Size · {form.width ? `${form.width}×${form.height}` : 'model default'}
                  </span>
                  <Segmented value={size} onChange={store.setSize} options={SIZES.map((s) => ({ id: s.id, label: s.short, title: s.label }))} testId="size" />
                </div>
              </>
            )}

            <Slider name="Steps" value={form.steps} fallback={6} min={1} max={60} step={1} onChange={(steps) => set({ steps })} onReset={() => set({ steps: undefined })} testId="steps" />
            <Slider name="Guidance" value={form.guidance} fallback={5} min={0} max={15} step={0.5} onChange={(guidance) => set({ guidance })} onReset={() => set({ guidance: undefined })} />
            {img2img && <Slider name="Strength" value={form.strength} min={0.05} max={1} step={0.05} onChange={(strength) => set({ strength })} testId="strength" hint="How far the result may move away from the source" />}

            <div className="grid grid-cols-2 gap-2">
              <label className="flex flex-col gap-1">
                <span className={label}>Seed</span>
                <input type="number" className={input} value={form.mode === 'variations' ? -1 : form.seed} disabled={form.mode === 'variations'} onChange={(e) => set({ seed: Math.trunc(Number(e.target.value)) })} title="-1 picks a random seed" data-testid="seed-input" />
              </label>
              <label className="flex flex-col gap-1">
                <span className={label}>Count</span>
                <select className={input} value={form.count} onChange={(e) => set({ count: Number(e.target.value) })} data-testid="count-select">
                  {[1, 2, 3, 4].map((n) => (
                    <option key={n}>{n}</option>
                  ))}
                </select>
              </label>
            </div>

            <div className="flex items-center gap-2">
              <select className={`${input} flex-1`} value="" onChange={(e) => store.applyPreset(e.target.value, models.map((m) => m.id))} aria-label="Presets">
                <option value="">Presets…</option>
                {presets.map((p) => (
                  <option key={p.name}>{p.name}</option>
                ))}
              </select>
              <Button variant="ghost" onClick={savePreset} title="Save these settings as a preset">
                Save
              </Button>
            </div>
          </div>
        </div>
      </div>
    </Modal>
  );
}
