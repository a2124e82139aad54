import { describe, expect, it } from 'vitest';
import type { GenerateRequest, Provider, UpscaleRequest } from '@/lib/api';
import type { Lineage } from '@/lib/db/schema';
import type { GenerationJob, OneShot } from '../jobs/job-runner';
import { modeDefaults, type FormState, type Mode } from '../utils/build-request';
import { createPromptForm, type SubmitContext } from './prompt-form';

const form = (mode: Mode, patch: Partial<FormState> = {}): FormState => ({ ...modeDefaults(mode), prompt: 'a fox', negative: '', model: '', width: undefined, height: undefined, steps: undefined, guidance: undefined, seed: -1, style: 'none', ...patch });
const provider = { id: 'p1', name: 'Provider', baseUrl: 'http://provider', apiKey: '', model: 'dall-e' } as Provider;

function setup(initial: FormState) {
  const calls: { req: GenerateRequest; action: Lineage['action']; sourceId: string | undefined; via: OneShot | undefined }[] = [];
  const oneShots: Provider[] = [];
  const upscales: { req: UpscaleRequest; sourceId: string; sourcePrompt: string | undefined }[] = [];
  const store = createPromptForm(
    { form: initial, presets: [] },
    {
      submit: async (req, action, sourceId, via) => {
        calls.push({ req, action, sourceId, via });
        return {} as GenerationJob;
      },
      submitUpscale: async (req, sourceId, sourcePrompt) => {
        upscales.push({ req, sourceId, sourcePrompt });
        return {} as GenerationJob;
      },
      savePresets: () => undefined,
      oneShot: (p) => (oneShots.push(p), { generate: async () => ({ images: [], params: { prompt: '' } }) }),
      encodeSource: async (_b, side) => `data:source;${side}`,
      encodeSketch: async () => 'data:sketch',
      encodeOriginal: async () => 'data:original',
    },
  );
  return { store, calls, oneShots, upscales };
}
const ctx = (patch: Partial<SubmitContext> = {}): SubmitContext => ({ provider: undefined, source: undefined, sketch: async () => undefined, ...patch });
const source = { id: 'src1', blob: new Blob(['x']) };

describe('the prompt form', () => {
  it('sends a Generate to our jobs without an image or a source', async () => {
    const { store, calls } = setup(form('generate', { steps: 4 }));
    await store.submit(ctx({ source }));
    expect(calls).toEqual([{ req: { prompt: 'a fox', steps: 4, n: 1, seed: -1 }, action: 'generate', sourceId: undefined, via: undefined }]);
  });

  it('sends an Enhance with the source encoded at the size asked for, and its lineage', async () => {
    const { store, calls } = setup(form('enhance', { width: 768, height: 512 }));
    await store.submit(ctx({ source }));
    expect(calls[0]).toMatchObject({ req: { image: 'data:source;768', strength: 0.3 }, action: 'enhance', sourceId: 'src1' });
  });

  it('sends Variations of an image with stored parameters without the image', async () => {
    const { store, calls } = setup(form('variations'));
    await store.submit(ctx({ source: { ...source, params: { prompt: 'a fox', source: 'atelier' } } }));
    expect(calls[0]?.req.image).toBeUndefined();
    expect(calls[0]).toMatchObject({ action: 'variations', sourceId: 'src1' });
  });

  it('goes through the job runner as a one-call generator when a provider is chosen', async () => {
    const { store, calls, oneShots } = setup(form('generate'));
    await store.submit(ctx({ provider }));
    expect(oneShots).toEqual([provider]);
    expect(calls[0]).toMatchObject({ action: 'generate', sourceId: undefined });
    expect(calls[0]?.via).toBeDefined();
  });

  it('says what is wrong instead of submitting: an empty prompt, a sketch not drawn', async () => {
    const { store, calls } = setup(form('generate', { prompt: ' ' }));
    await store.submit(ctx());
    expect(store.getState().error).toBe('Write a prompt first.');
    store.setMode('sketch');
    store.set({ prompt: 'a cat' });
    await store.submit(ctx());
    expect(store.getState()).toMatchObject({ error: 'Draw something or load a sketch first.', busy: false });
    expect(calls).toEqual([]);
    await store.submit(ctx({ sketch: async () => new Blob(['drawing']) }));
    expect(calls[0]?.req).toMatchObject({ image: 'data:sketch', strength: 0.8 });
    expect(store.getState().error).toBeUndefined();
  });

  it('saves and applies presets, keeping the model when the preset names one that is gone', () => {
    const { store } = setup(form('generate', { negative: 'blurry', steps: 8, model: 'a' }));
    store.setAspect('16:9');
    store.savePreset('mine');
    store.set({ negative: '', steps: undefined, model: 'b' });
    store.setSize('S');
    store.applyPreset('mine', ['b']);
    expect(store.getState()).toMatchObject({ aspect: '16:9', size: 'M', form: { negative: 'blurry', steps: 8, model: 'b' } });
  });

  it('sends an Upscale of the original file to the upscale jobs, with the source id and its own prompt, whatever the provider', async () => {
    const { store, calls, upscales } = setup(form('upscale', { prompt: '' }));
    store.setUpscale({ scale: 2 });
    const withParams = { ...source, params: { prompt: 'a lighthouse', source: 'a1111' as const } };
    await store.submit(ctx({ source: withParams, upscaler: 'tiny-upscaler', generationModel: 'tiny-sdxl', provider }));
    expect(upscales).toEqual([{ req: { image: 'data:original', scale: 2, model: 'tiny-upscaler' }, sourceId: 'src1', sourcePrompt: 'a lighthouse' }]);
    expect(calls).toEqual([]);
    expect(store.getState()).toMatchObject({ error: undefined, busy: false });
  });

  it('sends Enhance details with the prompt field, the image model and the strength chosen', async () => {
    const { store, upscales } = setup(form('upscale', { prompt: ' a fox at dusk ' }));
    store.setUpscale({ enhance: true, strength: 0.25 });
    await store.submit(ctx({ source, upscaler: 'tiny-upscaler', generationModel: 'tiny-sdxl' }));
    expect(upscales[0]?.req).toEqual({ image: 'data:original', scale: 4, model: 'tiny-upscaler', enhance: true, enhance_model: 'tiny-sdxl', prompt: 'a fox at dusk', strength: 0.25 });
  });

  it('says why an Upscale cannot go: no image, no upscaler, Enhance details without an image model', async () => {
    const { store, upscales } = setup(form('upscale'));
    await store.submit(ctx({ upscaler: 'tiny-upscaler' }));
    expect(store.getState().error).toBe('Open an image to upscale first.');
    await store.submit(ctx({ source }));
    expect(store.getState().error).toBe('The server has no upscaler model.');
    store.setUpscale({ enhance: true });
    await store.submit(ctx({ source, upscaler: 'tiny-upscaler' }));
    expect(store.getState().error).toBe('Enhance details needs an image model.');
    expect(upscales).toEqual([]);
    store.setUpscale({ enhance: false });
    await store.submit(ctx({ source, upscaler: 'tiny-upscaler' }));
    expect(upscales).toHaveLength(1);
    expect(store.getState().error).toBeUndefined();
  });
});
