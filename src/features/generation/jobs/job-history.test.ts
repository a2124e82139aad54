import { describe, expect, it } from 'vitest';
import { ApiError, type GenerateResponse, type JobEventData, type JobSummary } from '@/lib/api';
import { JobRunner, type GenerationJob, type JobDeps } from './job-runner';
import { createJobHistory, summarizeJobs } from './job-history';

const PNG_B64 = btoa('png-bytes');
const result: GenerateResponse = { id: 'gen1', object: 'generation', created: 0, model: 'tiny-sdxl', data: [{ b64_json: PNG_B64, seed: 7 }], parameters: { mode: 'txt2img', model: 'tiny-sdxl', prompt: 'x', negative_prompt: '', width: 64, height: 64, steps: 2, guidance_scale: 5, scheduler: 'euler', seed: 7, seeds: [7], n: 1, strength: null, output_format: 'png' }, timings: {} };

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

let n = 0; // backend job ids are unique across runners (a reload makes a new runner)
function runner(events: JobEventData[]): JobRunner {
  const d: JobDeps = {
    createJob: async () => ({ id: `job_${++n}`, object: 'job', status: 'queued', position: 0 }),
    jobEvents: async function* () {
      for (const ev of events) yield ev;
    },
    getJob: async () => ({ id: 'job_1', status: 'done', result }) as JobSummary,
    cancelJob: async () => ({ id: 'job_1', status: 'cancelled' }) as JobSummary,
    save: async () => `rec${++n}`,
    pollMs: 1,
  };
  return new JobRunner(d);
}

const job = (over: Partial<GenerationJob>): GenerationJob => ({ localId: 'g1', phase: 'queued', request: { prompt: 'p' }, action: 'generate', savedIds: [], startedAt: 0, ...over });

describe('job history', () => {
  it('records every job that ends, newest first, and keeps it across a reload', async () => {
    const storage = memoryStorage();
    const history = createJobHistory(storage);
    const r = runner([{ type: 'step', step: 1, total: 2 }, { type: 'done', result }]);
    const stop = history.follow(r);
    await r.submit({ prompt: 'a fox' }, 'generate');
    await r.submit({ prompt: 'a cat', image: 'data:x', strength: 0.4 }, 'remix', 'src1');
    stop();
    const entries = createJobHistory(storage).list();
    expect(entries.map((e) => [e.prompt, e.action, e.outcome])).toEqual([['a cat', 'remix', 'done'], ['a fox', 'generate', 'done']]);
    expect(entries[0]!.images).toHaveLength(1);
    expect(entries[0]!.sourceId).toBe('src1');
    expect(entries[0]!.finishedAt).toBeGreaterThanOrEqual(entries[0]!.startedAt);
  });

  it('records failures with their message and cancellations, once each', async () => {
    const history = createJobHistory(memoryStorage());
    const failing = runner([{ type: 'error', error: { message: 'out of memory at 1280x1280', code: 'out_of_memory' } }]);
    history.follow(failing);
    await failing.submit({ prompt: 'big' }, 'generate');
    failing.clearFinished(); // the runner forgets; the history does not
    const cancelled = runner([{ type: 'cancelled' }]);
    history.follow(cancelled);
    await cancelled.submit({ prompt: 'stop' }, 'generate');
    expect(history.list().map((e) => [e.prompt, e.outcome])).toEqual([['stop', 'cancelled'], ['big', 'error']]);
    expect(history.list()[1]!.error).toMatch(/^out of memory at 1280x1280/);
    expect(history.list()[0]!.error).toBeUndefined();
  });

  it('keeps only the newest entries', () => {
    const history = createJobHistory(memoryStorage(), 3);
    for (let i = 0; i < 5; i++) history.record(job({ localId: `g${i}`, jobId: `j${i}`, phase: 'done', request: { prompt: `p${i}` }, finishedAt: i }));
    expect(history.list().map((e) => e.prompt)).toEqual(['p4', 'p3', 'p2']);
  });
});

describe('jobs summary (the indicator)', () => {
  it('counts running jobs and averages their progress; finished ones are counted apart', () => {
    const s = summarizeJobs([
      job({ localId: 'a', phase: 'running', step: 5, steps: 10 }),
      job({ localId: 'b', phase: 'queued' }),
      job({ localId: 'c', phase: 'done', savedIds: ['x'] }),
      job({ localId: 'd', phase: 'error', error: new ApiError('boom') }),
    ]);
    expect(s.active).toBe(2);
    expect(s.done).toBe(1);
    expect(s.failed).toBe(1);
    expect(s.progress).toBeGreaterThan(0);
    expect(s.progress).toBeLessThan(50);
  });
  it('has no progress when nothing runs', () => {
    expect(summarizeJobs([job({ phase: 'done' })])).toMatchObject({ active: 0, progress: null });
  });
});
