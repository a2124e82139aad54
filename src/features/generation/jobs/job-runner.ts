// Generation jobs, framework-free: submit to POST /v1/jobs, follow GET /v1/jobs/{id}/events,
// cancel with DELETE, and save each finished image into the library with its lineage.
// If the event stream drops, the runner falls back to polling the job so no result is lost.
import { ApiError, cancelJob, createJob, createUpscaleJob, getJob, jobEvents, toApiError, type GenerateRequest, type GenerateResponse, type JobCreated, type JobEventData, type JobSummary, type UpscaleRequest, type UpscaleResponse } from '@/lib/api';
import type { GenerationParams, Lineage } from '@/lib/db/schema';

/**
 * Where a job is, as the backend reports it: `starting` (the worker took it; a model already in
 * memory needs no load), `loading` (a model is being loaded), `running` (denoising: step 0 of n
 * arrives when the first step begins), `decoding`, then `saving` here. `cancelling` lasts from the
 * click until the backend confirms (`cancelled`), or reports that the job finished first.
 */
export type JobPhase = 'submitting' | 'queued' | 'starting' | 'loading' | 'running' | 'decoding' | 'saving' | 'cancelling' | 'done' | 'error' | 'cancelled';

export interface GenerationJob {
  /** our id, stable from the click (the backend's id arrives later) */
  localId: string;
  jobId?: string;
  phase: JobPhase;
  position?: number;
  step?: number;
  steps?: number;
  request: GenerateRequest | UpscaleRequest;
  action: Lineage['action'];
  /** upscale jobs (issue 21): the stage running and its tile, i of n */
  stage?: string;
  tile?: number;
  tiles?: number;
  sourceId?: string;
  error?: ApiError;
  /** the phase a cancel left: it comes back if the DELETE fails */
  cancelledFrom?: JobPhase;
  /** library ids of the saved images */
  savedIds: string[];
  startedAt: number;
  finishedAt?: number;
}

export interface JobDeps {
  createJob: typeof createJob;
  jobEvents: typeof jobEvents;
  getJob: typeof getJob;
  cancelJob: typeof cancelJob;
  createUpscaleJob?: typeof createUpscaleJob;
  /** save one image; resolves to its new library id */
  save: (blob: Blob, params: Omit<GenerationParams, 'source'>, lineage: Lineage | undefined) => Promise<string>;
  pollMs?: number;
}

/**
 * A generator that answers in one call, without a backend job (an OpenAI Images-compatible
 * provider): no queue position, no progress events. It resolves to the images and to the
 * parameters exactly as it sent them, which are saved with each image.
 */
export interface OneShot {
  generate(request: GenerateRequest, signal: AbortSignal): Promise<{ images: Blob[]; params: Omit<GenerationParams, 'source'> }>;
}

export function b64ToBlob(b64: string, mime = 'image/png'): Blob {
  const comma = b64.startsWith('data:') ? b64.indexOf(',') : -1;
  if (comma >= 0) mime = b64.slice(5, b64.indexOf(';'));
  const bin = atob(comma >= 0 ? b64.slice(comma + 1) : b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

/** The parameters stored on an upscaled image: its size, the upscaler, and the enhance stage's if it ran. */
export function upscaleParamsOf(res: UpscaleResponse, sourcePrompt: string | undefined): Omit<GenerationParams, 'source'> {
  const used = res.parameters as Partial<Record<string, unknown>>;
  const img = res.data[0]!;
  const enhanced = used.enhance === true && typeof used.strength === 'number' && used.strength > 0;
  const p: Omit<GenerationParams, 'source'> = {
    prompt: enhanced && typeof used.prompt === 'string' ? used.prompt : sourcePrompt ?? '',
    model: enhanced && typeof used.enhance_model === 'string' ? `${used.enhance_model} + ${res.model}` : res.model,
    width: img.width,
    height: img.height,
  };
  if (enhanced) {
    p.strength = used.strength as number;
    if (typeof used.seed === 'number') p.seed = used.seed;
    if (typeof used.steps === 'number') p.steps = used.steps;
    if (typeof used.guidance_scale === 'number') p.guidance = used.guidance_scale;
  }
  return p;
}

/** The parameters stored on a generated image: what was asked, and the seed actually used. */
export function paramsOf(req: GenerateRequest, res: GenerateResponse, seed: number): Omit<GenerationParams, 'source'> {
  const used = res.parameters as Partial<Record<string, unknown>>;
  const num = (k: string, fallback: number | null | undefined) => (typeof used[k] === 'number' ? (used[k] as number) : fallback ?? undefined);
  const p: Omit<GenerationParams, 'source'> = { prompt: req.prompt, seed, model: res.model };
  const neg = req.negative_prompt ?? (typeof used.negative_prompt === 'string' ? used.negative_prompt : undefined);
  if (neg) p.negativePrompt = neg;
  const steps = num('steps', req.steps);
  if (steps !== undefined) p.steps = steps;
  const guidance = num('guidance_scale', req.guidance_scale);
  if (guidance !== undefined) p.guidance = guidance;
  const width = num('width', req.width);
  if (width !== undefined) p.width = width;
  const height = num('height', req.height);
  if (height !== undefined) p.height = height;
  const sampler = typeof used.scheduler === 'string' ? used.scheduler : req.scheduler ?? undefined;
  if (sampler) p.sampler = sampler;
  if (req.image && req.strength != null) p.strength = req.strength;
  return p;
}

/** A job on our backend: how to create it, and how to save what it returns. */
interface BackendJob {
  create: (signal: AbortSignal) => Promise<JobCreated>;
  saveAll: (result: GenerateResponse | UpscaleResponse, lineage: Lineage | undefined) => Promise<string[]>;
}

/** A one-call generator's call, bound to its request. */
interface OneCall {
  oneCall: (signal: AbortSignal) => ReturnType<OneShot['generate']>;
}

function mimeOf(format: string | null | undefined): string {
  return format === 'jpeg' ? 'image/jpeg' : format === 'webp' ? 'image/webp' : 'image/png';
}

const TERMINAL: JobPhase[] = ['done', 'error', 'cancelled'];

export class JobRunner {
  private jobs: GenerationJob[] = [];
  private listeners = new Set<() => void>();
  private aborts = new Map<string, AbortController>();
  private seq = 0;

  constructor(private readonly deps: JobDeps) {}

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  getSnapshot = (): readonly GenerationJob[] => this.jobs;

  /**
   * Start a job; resolves when it ends (done, error or cancelled) with its final state. `via`: a
   * one-call generator to use instead of our backend's jobs (it shows no progress, and its request
   * cannot be cancelled once answered).
   */
  async submit(request: GenerateRequest, action: Lineage['action'], sourceId?: string, via?: OneShot): Promise<GenerationJob> {
    if (via) return this.run(request, action, sourceId, { oneCall: (signal) => via.generate(request, signal) });
    return this.run(request, action, sourceId, {
      create: (signal) => this.deps.createJob(request, signal),
      saveAll: async (result, lineage) => {
        const res = result as GenerateResponse;
        const savedIds: string[] = [];
        for (const img of res.data) {
          savedIds.push(await this.deps.save(b64ToBlob(img.b64_json, mimeOf(request.output_format)), paramsOf(request, res, img.seed), lineage));
        }
        return savedIds;
      },
    });
  }

  /** Start an upscale of the library image `sourceId` (its prompt kept on the result); saved with lineage `upscale`. */
  async submitUpscale(request: UpscaleRequest, sourceId: string, sourcePrompt?: string): Promise<GenerationJob> {
    const create = this.deps.createUpscaleJob ?? createUpscaleJob;
    return this.run(request, 'upscale', sourceId, {
      create: (signal) => create(request, signal),
      saveAll: async (result, lineage) => {
        const res = result as UpscaleResponse;
        const img = res.data[0];
        return img ? [await this.deps.save(b64ToBlob(img.b64_json, mimeOf(request.output_format)), upscaleParamsOf(res, sourcePrompt), lineage)] : [];
      },
    });
  }

  /** The one submit path, for a backend job (generate, upscale) or a one-call generator. */
  private async run(
    request: GenerateRequest | UpscaleRequest,
    action: Lineage['action'],
    sourceId: string | undefined,
    how: BackendJob | OneCall,
  ): Promise<GenerationJob> {
    const localId = `g${++this.seq}`;
    const ctrl = new AbortController();
    this.aborts.set(localId, ctrl);
    this.put({ localId, phase: 'submitting', request, action, savedIds: [], startedAt: Date.now(), ...(sourceId ? { sourceId } : {}) });
    try {
      const lineage: Lineage | undefined = sourceId ? { sourceId, action } : undefined;
      if ('oneCall' in how) {
        this.patch(localId, { phase: 'running' });
        const { images, params } = await how.oneCall(ctrl.signal);
        this.patch(localId, { phase: 'saving' });
        const savedIds: string[] = [];
        for (const blob of images) savedIds.push(await this.deps.save(blob, params, lineage));
        this.patch(localId, { phase: 'done', savedIds, finishedAt: Date.now() });
        return this.get(localId);
      }
      const created = await how.create(ctrl.signal);
      this.patch(localId, { jobId: created.id, phase: 'queued', position: created.position });
      const result = await this.follow(localId, created.id, ctrl.signal);
      if (!result) return this.get(localId);
      this.patch(localId, { phase: 'saving' });
      const savedIds = await how.saveAll(result, lineage);
      this.patch(localId, { phase: 'done', savedIds, finishedAt: Date.now() });
    } catch (err) {
      const e = toApiError(err);
      const cancelled = e.code === 'cancelled' || ctrl.signal.aborted;
      this.patch(localId, cancelled ? { phase: 'cancelled', finishedAt: Date.now() } : { phase: 'error', error: e, finishedAt: Date.now() });
    } finally {
      this.aborts.delete(localId);
    }
    return this.get(localId);
  }

  /**
   * Ask the backend to cancel. The job shows `cancelling` until the backend confirms: a queued job is
   * removed at once (the DELETE answers `cancelled`), a running one stops at its next check and its
   * event stream ends with `cancelled` (or `done`, when it finished before the request arrived).
   */
  async cancel(localId: string): Promise<void> {
    const job = this.get(localId);
    if (!job || TERMINAL.includes(job.phase) || job.phase === 'cancelling' || job.phase === 'saving') return;
    if (!job.jobId) {
      // Not created on the backend yet: abandoning the request is the whole cancel.
      this.aborts.get(localId)?.abort();
      return;
    }
    this.patch(localId, { phase: 'cancelling', cancelledFrom: job.phase });
    try {
      const summary = await this.deps.cancelJob(job.jobId);
      if (summary.status === 'cancelled') {
        this.patch(localId, { phase: 'cancelled', finishedAt: Date.now() });
        this.aborts.get(localId)?.abort();
      }
    } catch (err) {
      const e = toApiError(err);
      if (e.status === 404) {
        // The backend no longer knows the job (it restarted): nothing is running for it.
        this.patch(localId, { phase: 'cancelled', finishedAt: Date.now() });
        this.aborts.get(localId)?.abort();
      } else {
        // The job goes on: show where it is and why the cancel did not reach the backend.
        this.patch(localId, { phase: this.get(localId).cancelledFrom ?? 'running', error: e });
      }
    }
  }

  /** Forget finished jobs. */
  clearFinished(): void {
    this.jobs = this.jobs.filter((j) => !TERMINAL.includes(j.phase));
    this.emit();
  }

  private async follow(localId: string, jobId: string, signal: AbortSignal): Promise<GenerateResponse | UpscaleResponse | undefined> {
    try {
      for await (const ev of this.deps.jobEvents(jobId, signal)) {
        const done = this.onEvent(localId, ev);
        if (done === 'done') return ev.result ?? (await this.resultOf(jobId, signal));
        if (done === 'end') return undefined;
      }
    } catch (err) {
      const e = toApiError(err);
      if (e.code === 'cancelled' || signal.aborted) throw e;
      // The stream broke (proxy timeout, network blip): the job goes on, so poll it.
    }
    return this.poll(localId, jobId, signal);
  }

  private onEvent(localId: string, ev: JobEventData): 'done' | 'end' | undefined {
    // While a cancel is pending, progress still updates the step but the phase stays `cancelling`.
    const phase = (p: JobPhase): Partial<GenerationJob> => (this.get(localId).phase === 'cancelling' ? { cancelledFrom: p } : { phase: p });
    switch (ev.type) {
      case 'queued':
        this.patch(localId, { ...phase('queued'), ...(ev.position !== undefined ? { position: ev.position } : {}) });
        return undefined;
      case 'started':
        this.patch(localId, phase('starting'));
        return undefined;
      case 'loading':
        // The event comes for every job; only a model that is not in memory yet is really loaded.
        if (ev.resident !== true) this.patch(localId, phase('loading'));
        return undefined;
      case 'step': {
        const steps = ev.steps ?? ev.total;
        this.patch(localId, { ...phase('running'), ...(ev.step !== undefined ? { step: ev.step } : {}), ...(steps !== undefined ? { steps } : {}) });
        return undefined;
      }
      case 'decoding':
        this.patch(localId, phase('decoding'));
        return undefined;
      case 'tile':
        this.patch(localId, { ...phase('running'), ...(ev.stage !== undefined ? { stage: ev.stage } : {}), ...(ev.tile !== undefined ? { tile: ev.tile } : {}), ...(ev.tiles !== undefined ? { tiles: ev.tiles } : {}) });
        return undefined;
      case 'cancelling':
        this.patch(localId, { phase: 'cancelling' });
        return undefined;
      case 'done':
        return 'done';
      case 'cancelled':
        this.patch(localId, { phase: 'cancelled', finishedAt: Date.now() });
        return 'end';
      case 'error': {
        const err = ev.error ?? { message: ev.message ?? 'generation failed' };
        this.patch(localId, { phase: 'error', error: new ApiError(err.message, { ...(err.code ? { code: err.code } : {}), ...(err.type ? { type: err.type } : {}) }), finishedAt: Date.now() });
        return 'end';
      }
      default:
        return undefined;
    }
  }

  private async resultOf(jobId: string, signal: AbortSignal): Promise<GenerateResponse | UpscaleResponse> {
    const job = await this.deps.getJob(jobId, signal);
    if (!job.result) throw new ApiError('the job finished without a result');
    return job.result;
  }

  private async poll(localId: string, jobId: string, signal: AbortSignal): Promise<GenerateResponse | UpscaleResponse | undefined> {
    for (;;) {
      await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 1000));
      if (signal.aborted) throw new ApiError('Cancelled', { code: 'cancelled' });
      let job: JobSummary;
      try {
        job = await this.deps.getJob(jobId, signal);
      } catch (err) {
        if (toApiError(err).retryable) continue;
        throw err;
      }
      if (job.last_event) this.onEvent(localId, job.last_event as JobEventData);
      if (job.status === 'done') return job.result ?? this.resultOf(jobId, signal);
      if (job.status === 'cancelled') {
        this.patch(localId, { phase: 'cancelled', finishedAt: Date.now() });
        return undefined;
      }
      if (job.status === 'error') {
        throw new ApiError(job.error?.message ?? 'generation failed', { code: job.error?.code ?? undefined });
      }
    }
  }

  private get(localId: string): GenerationJob {
    return this.jobs.find((j) => j.localId === localId)!;
  }

  private put(job: GenerationJob) {
    this.jobs = [job, ...this.jobs];
    this.emit();
  }

  private patch(localId: string, patch: Partial<GenerationJob>) {
    this.jobs = this.jobs.map((j) => (j.localId === localId && !TERMINAL.includes(j.phase) ? { ...j, ...patch } : j));
    this.emit();
  }

  private emit() {
    for (const l of this.listeners) l();
  }
}
