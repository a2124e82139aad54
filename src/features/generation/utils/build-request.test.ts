import { describe, expect, it, vi } from 'vitest';
import { buildRequest, buildUpscaleRequest, formFromParams, modeDefaults, reuseTarget, UPSCALE_DEFAULTS, validate, type FormState } from './build-request';
import { rememberedStyle, rememberStyle } from './presets';
import { dimensionsFor, dimensionsLike, nearestAspect } from './dimensions';

const base: FormState = { mode: 'generate', prompt: 'a red fox', negative: 'blurry', model: 'sdxl-realism', width: 1024, height: 1024, steps: 6, guidance: 1.5, strength: 0.3, seed: 42, count: 1, style: 'none' };

describe('buildRequest', () => {
  it('sends negative prompt, guidance, steps and seed for txt2img, without an image', () => {
    expect(buildRequest(base)).toEqual({ prompt: 'a red fox', negative_prompt: 'blurry', model: 'sdxl-realism', width: 1024, height: 1024, steps: 6, guidance_scale: 1.5, seed: 42, n: 1 });
  });

  it("leaves size, steps and guidance to the model's defaults when not set", () => {
    const req = buildRequest({ ...base, width: undefined, height: undefined, steps: undefined, guidance: undefined });
    expect(req).not.toHaveProperty('width');
    expect(req).not.toHaveProperty('steps');
    expect(req).not.toHaveProperty('guidance_scale');
  });

  it('enhance is img2img at the chosen strength', () => {
    const req = buildRequest({ ...base, mode: 'enhance', strength: 0.25 }, 'data:image/png;base64,AAA');
    expect(req).toMatchObject({ image: 'data:image/png;base64,AAA', strength: 0.25 });
  });

  it('remix appends the style to prompt and negative prompt', () => {
    const req = buildRequest({ ...base, mode: 'remix', style: 'watercolor', strength: 0.65 }, 'data:x');
    expect(req.prompt).toBe('a red fox, watercolor painting, soft washes, paper texture');
    expect(req.negative_prompt).toBe('blurry, photo, hard edges');
  });

  it('variations use new random seeds, and txt2img when the source has a prompt', () => {
    const req = buildRequest({ ...base, mode: 'variations', count: 4 }, 'data:x', { prompt: 'p', source: 'atelier' });
    expect(req.seed).toBe(-1);
    expect(req.n).toBe(4);
    expect(req.image).toBeUndefined();
  });

  it('a sketch without a drawing explains what to do', () => {
    expect(() => buildRequest({ ...base, mode: 'sketch' })).toThrow(/Draw something/);
  });
});

describe('form helpers', () => {
  it('reuses the parameters of a generated image', () => {
    expect(formFromParams({ prompt: 'p', negativePrompt: 'n', steps: 30, guidance: 7, seed: 9, width: 832, height: 1216, model: 'sdxl-anime', source: 'atelier' })).toEqual({
      prompt: 'p', negative: 'n', steps: 30, guidance: 7, seed: 9, width: 832, height: 1216, model: 'sdxl-anime',
    });
  });

  it('Variations opens with 4 images, the other modes with 1', () => {
    expect(modeDefaults('variations')).toEqual({ mode: 'variations', strength: 0.5, count: 4 });
    expect(modeDefaults('remix').count).toBe(1);
  });

  it('Reuse parameters on a Remix result reopens Remix on its source; a plain generation opens Generate', () => {
    const params = { prompt: 'p', strength: 0.8, source: 'atelier' as const };
    expect(reuseTarget({ params, lineage: { sourceId: 'src', action: 'remix' } })).toEqual({ mode: 'remix', sourceId: 'src' });
    expect(reuseTarget({ params, lineage: { sourceId: 'src', action: 'enhance' } })).toEqual({ mode: 'enhance', sourceId: 'src' });
    expect(reuseTarget({ params })).toEqual({ mode: 'generate' });
    expect(formFromParams(params).strength).toBe(0.8);
  });

  it('Remix starts without a style, and remembers one only once the user picks it', () => {
    const kept = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => kept.get(k) ?? null, setItem: (k: string, v: string) => kept.set(k, v) });
    try {
      expect(rememberedStyle()).toBe('none');
      expect(buildRequest({ ...base, mode: 'remix', style: rememberedStyle() }, 'data:x').prompt).toBe('a red fox');
      rememberStyle('anime');
      expect(rememberedStyle()).toBe('anime');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('teaches what is wrong', () => {
    expect(validate({ ...base, width: 1004 })).toBe('Width and height must be multiples of 8, got 1004×1024.');
    expect(validate({ ...base, prompt: ' ' })).toBe('Write a prompt first.');
    expect(validate(base)).toBeUndefined();
  });
});

describe('dimensions', () => {
  it('keeps the native area and snaps to 64 for SDXL, 8 for tiny models', () => {
    expect(dimensionsFor('1:1', 'M', { width: 1024, height: 1024 })).toEqual({ width: 1024, height: 1024 });
    expect(dimensionsFor('16:9', 'M', { width: 1024, height: 1024 })).toEqual({ width: 1344, height: 768 });
    expect(dimensionsFor('3:4', 'M', { width: 64, height: 64 })).toEqual({ width: 56, height: 72 });
  });

  it("img2img follows the source's shape instead of forcing a square", () => {
    expect(dimensionsLike({ width: 4000, height: 3000 }, { width: 1024, height: 1024 })).toEqual({ width: 1152, height: 896 });
    expect(nearestAspect(1152, 896)).toBe('4:3');
  });
});

describe('buildUpscaleRequest', () => {
  it('sends the image, scale and upscaler; Enhance details adds its model, trimmed prompt and strength', () => {
    expect(buildUpscaleRequest(UPSCALE_DEFAULTS, 'data:x', 'realesrgan-x4plus', 'ignored', 'sdxl-realism')).toEqual({ image: 'data:x', scale: 4, model: 'realesrgan-x4plus' });
    expect(buildUpscaleRequest({ ...UPSCALE_DEFAULTS, scale: 2, enhance: true, strength: 0.2 }, 'data:x', 'up', ' a fox ', 'sdxl-realism')).toEqual({ image: 'data:x', scale: 2, model: 'up', enhance: true, enhance_model: 'sdxl-realism', prompt: 'a fox', strength: 0.2 });
    expect(() => buildUpscaleRequest({ ...UPSCALE_DEFAULTS, enhance: true }, 'data:x', 'up', '', undefined)).toThrow(/image model/);
  });
});
