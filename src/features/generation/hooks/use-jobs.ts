import { useSyncExternalStore } from 'react';
import { generationJobs } from '../generation-service';
import type { GenerationJob } from '../jobs/job-runner';

export function useGenerationJobs(): readonly GenerationJob[] {
  const r = generationJobs();
  return useSyncExternalStore(r.subscribe, r.getSnapshot);
}
