// The app's one job runner, saving finished images into the library with their lineage.
import { cancelJob, createJob, getJob, jobEvents } from '@/lib/api';
import { addGenerated } from '@/lib/db/library-api';
import { JobRunner } from './jobs/job-runner';

let runner: JobRunner | undefined;

export function generationJobs(): JobRunner {
  runner ??= new JobRunner({
    createJob,
    jobEvents,
    getJob,
    cancelJob,
    save: async (blob, params, lineage) => (await addGenerated(blob, params, lineage)).id,
  });
  return runner;
}
