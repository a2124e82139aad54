// From the modal's form to a /v1/jobs body: one pure function per mode's rules, unit-tested.
import type { GenerateRequest, UpscaleRequest } from '@/lib/api';
import type { GenerationParams, Lineage } from '@/lib/db/schema';
import { applyStyle, STYLES } from './presets';

export type Mode = Lineage['action'];

export const MODES: { id: Mode; label: string; hint: string; needsSource: boolean }[] = [
  { id: 'generate', label: 'Generate', hint: 'A new image from a prompt', needsSource: false },
  { id: 'enhance', label: 'Enhance', hint: 'Refine the image, staying close to it', needsSource: true },
  { id: 'remix', label: 'Remix', hint: 'Reinterpret the image with a style', needsSource: true },
  { id: 'sketch', label: 'Sketch', hint: 'Draw, then turn the drawing into an image', needsSource: false },
  { id: 'variations', label: 'Variations', hint: 'The same parameters with new seeds', needsSource: true },
  { id: 'upscale', label: 'Upscale', hint: 'Enlarge 2x or 4x in tiles, optionally redrawing details', needsSource: true },
];

/** Default img2img strength per mode: Enhance keeps the image, Remix and Sketch transform it. */
export const DEFAULT_STRENGTH: Record<Mode, number> = { generate: 1, enhance: 0.3, remix: 0.65, sketch: 0.8, variations: 0.5, upscale: 0.3 };

/** Images per request when a mode is chosen: Variations offers a set to pick from. */
export const DEFAULT_COUNT: Record<Mode, number> = { generate: 1, enhance: 1, remix: 1, sketch: 1, variations: 4, upscale: 1 };

/** The fields a mode resets when it is chosen. */
export function modeDefaults(mode: Mode): Pick<FormState, 'mode' | 'strength' | 'count'> {
  return { mode, strength: DEFAULT_STRENGTH[mode], count: DEFAULT_COUNT[mode] };
}

/**
 * What "Reuse parameters" opens for an image: an Enhance, Remix or Variations result reopens its
 * mode on the image it was made from (with its strength); anything else opens Generate.
 */
export function reuseTarget(record: { params?: GenerationParams | undefined; lineage?: Lineage | undefined }): { mode: Mode; sourceId?: string } {
  const l = record.lineage;
  if (record.params && l?.sourceId && (l.action === 'enhance' || l.action === 'remix' || l.action === 'variations')) return { mode: l.action, sourceId: l.sourceId };
  return { mode: 'generate' };
}

export interface FormState {
  mode: Mode;
  prompt: string;
  negative: string;
  model: string;
  /** undefined: the model's default (the backend fills it in) */
  width: number | undefined;
  height: number | undefined;
  steps: number | undefined;
  guidance: number | undefined;
  strength: number;
  /** -1: random */
  seed: number;
  count: number;
  style: string;
}

/**
 * The request for a form. `image` is the source (Enhance, Remix, Variations without stored
 * parameters) or the sketch, as a data URL.
 */
export function buildRequest(form: FormState, image?: string, sourceParams?: GenerationParams): GenerateRequest {
  let prompt = form.prompt.trim();
  let negative = form.negative.trim();
  if (form.mode === 'remix') {
    const style = STYLES.find((s) => s.id === form.style);
    if (style) ({ prompt, negative } = applyStyle(prompt, negative, style));
  }
  const req: GenerateRequest = { prompt };
  if (form.width !== undefined && form.height !== undefined) {
    req.width = form.width;
    req.height = form.height;
  }
  if (form.steps !== undefined) req.steps = form.steps;
  if (form.guidance !== undefined) req.guidance_scale = form.guidance;
  req.n = form.count;
  req.seed = form.mode === 'variations' ? -1 : form.seed;
  if (form.model) req.model = form.model;
  if (negative) req.negative_prompt = negative;
  const img2img = form.mode === 'enhance' || form.mode === 'remix' || form.mode === 'sketch' || (form.mode === 'variations' && !sourceParams?.prompt);
  if (img2img) {
    if (!image) throw new Error(form.mode === 'sketch' ? 'Draw something or load a sketch first.' : 'This mode needs a source image.');
    req.image = image;
    req.strength = form.strength;
  }
  return req;
}

/** The Upscale tab's choices (issue 21). */
export interface UpscaleOptions {
  /** the upscaler chosen; undefined: the first downloaded one the server lists */
  model: string | undefined;
  scale: 2 | 4;
  /** "Enhance details": SDXL img2img per 1024 px tile, at a low strength */
  enhance: boolean;
  strength: number;
}

export const UPSCALE_DEFAULTS: UpscaleOptions = { model: undefined, scale: 4, enhance: false, strength: 0.3 };

/**
 * The /v1/upscale/jobs body. `image`: the original file as a data URL (it carries its own
 * parameters, which the server keeps on the result); `upscaler`: the upscaler's id; `enhanceModel`:
 * the SDXL model Enhance details runs on, with the prompt field (the image's own prompt or caption).
 */
export function buildUpscaleRequest(o: UpscaleOptions, image: string, upscaler: string, prompt: string, enhanceModel: string | undefined): UpscaleRequest {
  const req: UpscaleRequest = { image, scale: o.scale, model: upscaler };
  if (o.enhance) {
    if (!enhanceModel) throw new Error('Enhance details needs an image model.');
    Object.assign(req, { enhance: true, enhance_model: enhanceModel, prompt: prompt.trim(), strength: o.strength });
  }
  return req;
}

/** Form fields from a generated image's stored parameters ("reuse parameters"). */
export function formFromParams(p: GenerationParams): Partial<FormState> {
  const out: Partial<FormState> = { prompt: p.prompt, negative: p.negativePrompt ?? '' };
  if (p.steps) out.steps = p.steps;
  if (p.guidance !== undefined) out.guidance = p.guidance;
  if (p.seed !== undefined) out.seed = p.seed;
  if (p.width && p.height) {
    out.width = p.width;
    out.height = p.height;
  }
  if (p.model && p.source === 'atelier') out.model = p.model;
  if (p.strength !== undefined) out.strength = p.strength;
  return out;
}

/** What is wrong with the form, in words, or undefined. */
export function validate(form: FormState): string | undefined {
  if (!form.prompt.trim() && form.mode !== 'enhance' && form.mode !== 'variations') return 'Write a prompt first.';
  if (form.width !== undefined && form.height !== undefined && (form.width % 8 || form.height % 8)) return `Width and height must be multiples of 8, got ${form.width}×${form.height}.`;
  if (form.steps !== undefined && (form.steps < 1 || form.steps > 150)) return `Steps must be between 1 and 150, got ${form.steps}.`;
  if (form.count < 1 || form.count > 4) return `Count must be between 1 and 4, got ${form.count}.`;
  return undefined;
}
