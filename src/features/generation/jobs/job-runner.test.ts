import { describe, expect, it } from 'vitest';
import { ApiError, type GenerateResponse, type JobEventData, type JobSummary, type UpscaleResponse } from '@/lib/api';
import { JobRunner, type JobDeps } from './job-runner';
import { progressOf } from './progress';

const PNG_B64 = btoa('png-bytes');
const result: GenerateResponse = { id: 'gen1', object: 'generation', created: 0, model: 'tiny-sdxl', data: [{ b64_json: PNG_B64, seed: 7 }, { b64_json: PNG_B64, seed: 8 }], parameters: { steps: 2, guidance_scale: 5, width: 64, height: 64, scheduler: 'euler' }, timings: {} };

function deps(events: JobEventData[], opts: Partial<JobDeps> = {}) {
  const saved: { params: unknown; lineage: unknown; type: string }[] = [];
  const phases: string[] = [];
  const d: JobDeps = {
    createJob: async () => ({ id: 'job_1', object: 'job', status: 'queued', position: 2 }),
    jobEvents: async function* () {
      for (const ev of events) yield ev;
    },
    getJob: async () => ({ id: 'job_1', status: 'done', result }) as JobSummary,
    cancelJob: async () => ({ id: 'job_1', status: 'running', cancel_requested: true }) as JobSummary,
    save: async (blob, params, lineage) => {
      saved.push({ params, lineage, type: blob.type });
      return `rec${saved.length}`;
    },
    pollMs: 1,
    ...opts,
  };
  return { d, saved, phases };
}

describe('JobRunner', () => {
  it('follows queued, loading and steps, then saves every image with its seed and lineage', async () => {
    const { d, saved } = deps([
      { type: 'queued', position: 1 },
      { type: 'loading' },
      { type: 'step', step: 1, steps: 2 },
      { type: 'step', step: 2, steps: 2 },
      { type: 'decoding' },
      { type: 'done', result },
    ]);
    const runner = new JobRunner(d);
    const seen: string[] = [];
    runner.subscribe(() => {
      const j = runner.getSnapshot()[0]!;
      seen.push(j.phase === 'running' ? `step ${j.step}/${j.steps}` : j.phase);
    });
    const job = await runner.submit({ prompt: 'fox', negative_prompt: 'blur', image: 'data:x', strength: 0.3 }, 'enhance', 'src1');
    expect(job.phase).toBe('done');
    expect(job.savedIds).toEqual(['rec1', 'rec2']);
    expect([...new Set(seen)]).toEqual(['submitting', 'queued', 'loading', 'step 1/2', 'step 2/2', 'decoding', 'saving', 'done']);
    expect(saved[1]).toEqual({
      params: { prompt: 'fox', negativePrompt: 'blur', seed: 8, model: 'tiny-sdxl', steps: 2, guidance: 5, width: 64, height: 64, sampler: 'euler', strength: 0.3 },
      lineage: { sourceId: 'src1', action: 'enhance' },
      type: 'image/png',
    });
  });

  it('fetches the result from the job when the done event carries none', async () => {
    const { d, saved } = deps([{ type: 'done' }]);
    const job = await new JobRunner(d).submit({ prompt: 'x' }, 'generate');
    expect(job.phase).toBe('done');
    expect(saved).toHaveLength(2);
  });

  it("shows the backend's error from an error event", async () => {
    const { d } = deps([{ type: 'error', error: { message: 'CUDA out of memory', type: 'server_error', code: 'out_of_memory' } }]);
    const job = await new JobRunner(d).submit({ prompt: 'x' }, 'generate');
    expect(job.phase).toBe('error');
    expect(job.error?.code).toBe('out_of_memory');
    expect(job.error?.hint).toMatch(/Low/);
  });

  it('falls back to polling when the event stream breaks', async () => {
    const { d, saved } = deps([], {
      jobEvents: async function* () {
        yield { type: 'step', step: 1, steps: 4 };
        throw new ApiError('network', { offline: true, retryable: true });
      },
    });
    const job = await new JobRunner(d).submit({ prompt: 'x' }, 'generate');
    expect(job.phase).toBe('done');
    expect(saved).toHaveLength(2);
  });

  it('shows Cancelling… until the backend confirms, and saves nothing', async () => {
    let release!: () => void;
    const confirmed = new Promise<void>((r) => (release = r));
    let deleted = 0;
    const { d, saved } = deps([], {
      cancelJob: async () => {
        deleted++;
        return { id: 'job_1', status: 'running', cancel_requested: true } as JobSummary;
      },
      jobEvents: async function* () {
        yield { type: 'step', step: 1, steps: 50 };
        await confirmed;
        yield { type: 'cancelling' };
        yield { type: 'step', step: 2, steps: 50 }; // the step in flight ends: still cancelling
        yield { type: 'cancelled' };
      },
    });
    const runner = new JobRunner(d);
    const done = runner.submit({ prompt: 'x' }, 'generate');
    await new Promise((r) => setTimeout(r, 5));
    const localId = runner.getSnapshot()[0]!.localId;
    await runner.cancel(localId);
    expect(deleted).toBe(1);
    // The DELETE answered "running": the job is not cancelled until the backend says so.
    expect(runner.getSnapshot()[0]!.phase).toBe('cancelling');
    await runner.cancel(localId); // a second click sends nothing
    expect(deleted).toBe(1);
    const phases: string[] = [];
    runner.subscribe(() => phases.push(runner.getSnapshot()[0]!.phase));
    release();
    const job = await done;
    expect([...new Set(phases)]).toEqual(['cancelling', 'cancelled']);
    expect(job.phase).toBe('cancelled');
    expect(saved).toHaveLength(0);
  });

  it('a queued job the DELETE removed is cancelled at once', async () => {
    const { d } = deps([], {
      cancelJob: async () => ({ id: 'job_1', status: 'cancelled' }) as JobSummary,
      jobEvents: async function* (_id, signal) {
        yield { type: 'queued', position: 3 };
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
      },
    });
    const runner = new JobRunner(d);
    const done = runner.submit({ prompt: 'x' }, 'generate');
    await new Promise((r) => setTimeout(r, 5));
    await runner.cancel(runner.getSnapshot()[0]!.localId);
    expect(runner.getSnapshot()[0]!.phase).toBe('cancelled');
    expect((await done).phase).toBe('cancelled');
  });

  it('a failed DELETE puts the job back where it was, with the reason', async () => {
    let release!: () => void;
    const later = new Promise<void>((r) => (release = r));
    const { d } = deps([], {
      cancelJob: async () => {
        throw new ApiError('backend unreachable', { offline: true, retryable: true });
      },
      jobEvents: async function* () {
        yield { type: 'step', step: 4, steps: 50 };
        await later;
        yield { type: 'done', result };
      },
    });
    const runner = new JobRunner(d);
    const done = runner.submit({ prompt: 'x' }, 'generate');
    await new Promise((r) => setTimeout(r, 5));
    await runner.cancel(runner.getSnapshot()[0]!.localId);
    const j = runner.getSnapshot()[0]!;
    expect(j.phase).toBe('running');
    expect(j.error?.message).toMatch(/unreachable/);
    release();
    expect((await done).phase).toBe('done');
  });

  it('a model already in memory is not shown as loading; step 0 shows denoising has begun', async () => {
    const { d } = deps([{ type: 'started' }, { type: 'loading', resident: true }, { type: 'step', step: 0, total: 60 }, { type: 'done', result }]);
    const runner = new JobRunner(d);
    const seen: string[] = [];
    runner.subscribe(() => {
      const j = runner.getSnapshot()[0]!;
      seen.push(j.phase === 'running' ? `step ${j.step}/${j.steps}` : j.phase);
    });
    await runner.submit({ prompt: 'x' }, 'generate');
    expect([...new Set(seen)]).toEqual(['submitting', 'queued', 'starting', 'step 0/60', 'saving', 'done']);
  });

  it('runs an upscale: tile progress per stage, then one image saved with lineage upscale and the enhance parameters', async () => {
    const up: UpscaleResponse = { id: 'up1', object: 'upscale', created: 0, model: 'tiny-upscaler', data: [{ b64_json: PNG_B64, width: 256, height: 192 }], parameters: { enhance: true, enhance_model: 'tiny-sdxl', prompt: 'a fox', strength: 0.3, seed: 5, steps: 4, guidance_scale: 5 }, timings: {} };
    const { d, saved } = deps([
      { type: 'tile', stage: 'upscale', tile: 0, tiles: 4 },
      { type: 'tile', stage: 'upscale', tile: 2, tiles: 4 },
      { type: 'tile', stage: 'enhance', tile: 0, tiles: 1 },
      { type: 'step', step: 1, total: 2 },
      { type: 'done', result: up },
    ]);
    let created: unknown;
    d.createUpscaleJob = async (body) => ((created = body), { id: 'job_1', object: 'job', status: 'queued', position: 1 });
    const runner = new JobRunner(d);
    const progress: number[] = [];
    runner.subscribe(() => {
      const j = runner.getSnapshot()[0]!;
      if (j.phase === 'running') progress.push(Math.round(progressOf(j)));
    });
    const job = await runner.submitUpscale({ image: 'data:x', scale: 4, model: 'tiny-upscaler', enhance: true, prompt: 'a fox' }, 'src9', 'old prompt');
    expect(created).toMatchObject({ scale: 4, enhance: true });
    expect(job.phase).toBe('done');
    expect(job.stage).toBe('enhance');
    expect(progress).toEqual([10, 50, 10, 50]);
    expect(saved).toEqual([{
      params: { prompt: 'a fox', model: 'tiny-sdxl + tiny-upscaler', width: 256, height: 192, strength: 0.3, seed: 5, steps: 4, guidance: 5 },
      lineage: { sourceId: 'src9', action: 'upscale' },
      type: 'image/png',
    }]);
  });

  it('runs a one-call generator (a provider) as a job: saved with the parameters it sent, never touching our jobs', async () => {
    const { d, saved } = deps([], { createJob: async () => Promise.reject(new Error('not for a provider')) });
    const runner = new JobRunner(d);
    const seen: string[] = [];
    runner.subscribe(() => seen.push(runner.getSnapshot()[0]!.phase));
    const job = await runner.submit({ prompt: 'fox', negative_prompt: 'blur', steps: 4 }, 'generate', undefined, {
      generate: async () => ({ images: [new Blob(['a'], { type: 'image/png' }), new Blob(['b'], { type: 'image/png' })], params: { prompt: 'fox', model: 'dall-e', width: 1024, height: 1024 } }),
    });
    expect(job).toMatchObject({ phase: 'done', savedIds: ['rec1', 'rec2'] });
    expect([...new Set(seen)]).toEqual(['submitting', 'running', 'saving', 'done']);
    expect(saved[0]).toEqual({ params: { prompt: 'fox', model: 'dall-e', width: 1024, height: 1024 }, lineage: undefined, type: 'image/png' });
  });

  it('reports a one-call generator that fails as a failed job, and one cancelled before it answers as cancelled', async () => {
    const { d } = deps([]);
    const runner = new JobRunner(d);
    const failed = await runner.submit({ prompt: 'x' }, 'generate', undefined, { generate: async () => Promise.reject(new ApiError('provider said no', { status: 400 })) });
    expect(failed).toMatchObject({ phase: 'error', error: { message: 'provider said no' } });
    const pending = runner.submit({ prompt: 'y' }, 'generate', undefined, {
      generate: (_req, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new ApiError('aborted', { code: 'cancelled' })))),
    });
    await runner.cancel(runner.getSnapshot()[0]!.localId);
    expect(await pending).toMatchObject({ phase: 'cancelled' });
  });
});
