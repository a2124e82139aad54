import type { GenerationJob } from './job-runner';

/** A job's progress in % (loading 5, steps 10-90, decode and save 95): the job list's bars and the indicator. */
export function progressOf(j: GenerationJob): number {
  switch (j.phase === 'cancelling' ? j.cancelledFrom : j.phase) {
    case 'running':
      if (j.tile !== undefined && j.tiles) {
        // Upscale jobs: tiles of the current stage, each tile's denoising steps within it (enhance).
        const within = j.stage === 'enhance' && j.step !== undefined && j.steps ? j.step / j.steps : 0;
        return 10 + (80 * Math.min(j.tiles, j.tile + within)) / j.tiles;
      }
      return j.step !== undefined && j.steps ? 10 + (80 * j.step) / j.steps : 10;
    case 'decoding':
    case 'saving':
      return 95;
    case 'done':
      return 100;
    case 'starting':
    case 'loading':
      return 5;
    default:
      return 0;
  }
}
