// The prompt modal's state and its submit, framework-free (the modal renders it through
// useSyncExternalStore): the form, the size presets, saved presets, the error shown, and which
// way a submit goes. Every submit goes through the job runner: our backend's jobs (a generation, or
// an upscale from the Upscale tab), or a provider as a one-call generator.
import { blobToDataUrl, describeError, encodeForAnalysis, type GenerateRequest, type Provider, type UpscaleRequest } from '@/lib/api';
import type { GenerationParams, Lineage } from '@/lib/db/schema';
import { providerImages } from '../api/provider-images';
import type { GenerationJob, OneShot } from '../jobs/job-runner';
import { buildRequest, buildUpscaleRequest, formFromParams, modeDefaults, UPSCALE_DEFAULTS, validate, type FormState, type Mode, type UpscaleOptions } from '../utils/build-request';
import { nearestAspect, type AspectId, type SizeId } from '../utils/dimensions';
import { rememberStyle, type SavedPreset } from '../utils/presets';

export interface PromptFormState {
  form: FormState;
  aspect: AspectId;
  size: SizeId;
  presets: SavedPreset[];
  /** the Upscale tab's choices */
  upscale: UpscaleOptions;
  error: string | undefined;
  /** the request is being prepared (the image encoded) */
  busy: boolean;
}

/** What a submit needs from the modal at that moment. */
export interface SubmitContext {
  /** the provider chosen in Settings, or undefined for our backend */
  provider: Provider | undefined;
  /** the source image of img2img modes */
  source: { id: string; blob: Blob; params?: GenerationParams | undefined } | undefined;
  /** the sketch pad's drawing */
  sketch: () => Promise<Blob | undefined>;
  /** Upscale: the upscaler to use (the one chosen, or the first downloaded); undefined: the server has none */
  upscaler?: string | undefined;
  /** Upscale with Enhance details: the image model it runs on */
  generationModel?: string | undefined;
}

export interface FormDeps {
  submit: (request: GenerateRequest, action: Lineage['action'], sourceId?: string, via?: OneShot) => Promise<GenerationJob>;
  /** an upscale of the library image `sourceId`, its own prompt kept on the result */
  submitUpscale: (request: UpscaleRequest, sourceId: string, sourcePrompt?: string) => Promise<GenerationJob>;
  savePresets: (list: SavedPreset[]) => void;
  /** a provider's one-call generator (tests give their own) */
  oneShot?: (provider: Provider) => OneShot;
  encodeSource?: (blob: Blob, maxSide: number) => Promise<string>;
  encodeSketch?: (blob: Blob) => Promise<string>;
  /** the original file, as sent to upscale */
  encodeOriginal?: (blob: Blob) => Promise<string>;
}

/** Whether a mode sends the source image (Variations of an image with stored parameters does not). */
export function sendsImage(mode: Mode, sourceParams: GenerationParams | undefined): boolean {
  return mode !== 'generate' && !(mode === 'variations' && sourceParams?.prompt);
}

export function createPromptForm(initial: { form: FormState; presets: SavedPreset[] }, deps: FormDeps) {
  let state: PromptFormState = { form: initial.form, aspect: '1:1', size: 'auto', presets: initial.presets, upscale: UPSCALE_DEFAULTS, error: undefined, busy: false };
  const listeners = new Set<() => void>();
  const update = (patch: Partial<PromptFormState>) => {
    state = { ...state, ...patch };
    listeners.forEach((l) => l());
  };
  const oneShot = deps.oneShot ?? providerImages;
  const encodeSource = deps.encodeSource ?? encodeForAnalysis;
  const encodeSketch = deps.encodeSketch ?? blobToDataUrl;
  const encodeOriginal = deps.encodeOriginal ?? blobToDataUrl;

  /** Upscale: the original file to /v1/upscale/jobs, with lineage `upscale`; progress per tile in the job list. */
  const submitUpscale = async (ctx: SubmitContext): Promise<void> => {
    const { source, upscaler } = ctx;
    if (!source) return update({ error: 'Open an image to upscale first.' });
    if (!upscaler) return update({ error: 'The server has no upscaler model.' });
    if (state.upscale.enhance && !ctx.generationModel) return update({ error: 'Enhance details needs an image model.' });
    update({ busy: true });
    try {
      const req = buildUpscaleRequest(state.upscale, await encodeOriginal(source.blob), upscaler, state.form.prompt, ctx.generationModel);
      void deps.submitUpscale(req, source.id, source.params?.prompt);
    } catch (err) {
      update({ error: describeError(err) });
    } finally {
      update({ busy: false });
    }
  };

  const store = {
    subscribe(fn: () => void) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    getState: () => state,

    set(patch: Partial<FormState>) {
      update({ form: { ...state.form, ...patch } });
    },
    /** `fn` sees the form as it is now (effects that may race each other). */
    change(fn: (f: FormState) => FormState) {
      const form = fn(state.form);
      if (form !== state.form) update({ form });
    },
    setMode(mode: Mode) {
      store.set(modeDefaults(mode));
    },
    setStyle(style: string) {
      store.set({ style });
      rememberStyle(style);
    },
    setAspect(aspect: AspectId) {
      update({ aspect, ...(state.size === 'auto' ? { size: 'M' as SizeId } : {}) });
    },
    setSize(size: SizeId) {
      update({ size });
    },
    setUpscale(patch: Partial<UpscaleOptions>) {
      update({ upscale: { ...state.upscale, ...patch } });
    },

    /** "Reuse parameters": the source's stored parameters, its seed too (Variations ignores it by design). */
    reuse(params: GenerationParams | undefined) {
      if (!params) return;
      const patch = formFromParams(params);
      if (patch.width && patch.height) update({ aspect: nearestAspect(patch.width, patch.height) });
      store.set(patch);
    },

    savePreset(name: string) {
      const { form, aspect, size } = state;
      const presets = [...state.presets.filter((p) => p.name !== name), { name, negative: form.negative, steps: form.steps, guidance: form.guidance, strength: form.strength, aspect, size, style: form.style, model: form.model }];
      update({ presets });
      deps.savePresets(presets);
    },
    /** `models`: the ids offered now (a preset's model that is gone is not applied). */
    applyPreset(name: string, models: readonly string[]) {
      const p = state.presets.find((x) => x.name === name);
      if (!p) return;
      store.set({ negative: p.negative, steps: p.steps, guidance: p.guidance, strength: p.strength, style: p.style, ...(models.includes(p.model) ? { model: p.model } : {}) });
      update({ aspect: p.aspect as AspectId, size: p.size as SizeId });
    },

    /**
     * Validates, encodes the image the mode sends (the sketch, or the source for img2img), builds
     * the request and hands it to the job runner, without waiting for the job: its progress shows
     * in the job list. A provider takes the request as a one-call generator (txt2img only). The
     * Upscale tab sends an upscale to our backend whatever the provider (providers do not upscale).
     */
    async submit(ctx: SubmitContext): Promise<void> {
      update({ error: undefined });
      const form = state.form;
      if (form.mode === 'upscale') return submitUpscale(ctx);
      const invalid = validate(form);
      if (invalid) return update({ error: invalid });
      update({ busy: true });
      try {
        let image: string | undefined;
        if (form.mode === 'sketch') {
          const blob = await ctx.sketch();
          image = blob ? await encodeSketch(blob) : undefined;
        } else if (ctx.source && sendsImage(form.mode, ctx.source.params)) {
          image = await encodeSource(ctx.source.blob, Math.max(form.width ?? 1024, form.height ?? 1024));
        }
        const req = buildRequest(form, image, ctx.source?.params);
        if (ctx.provider) void deps.submit(req, 'generate', undefined, oneShot(ctx.provider));
        else void deps.submit(req, form.mode, form.mode === 'generate' ? undefined : ctx.source?.id);
      } catch (err) {
        update({ error: describeError(err) });
      } finally {
        update({ busy: false });
      }
    },
  };
  return store;
}

export type PromptForm = ReturnType<typeof createPromptForm>;
