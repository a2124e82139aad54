// The app's one job runner, saving finished images into the library with their lineage, and the
// history of the jobs it ran (kept in localStorage for the Status page).
import { cancelJob, createJob, getJob, jobEvents } from '@/lib/api';
import { browserStorage } from '@/lib/browser-storage';
import { addGenerated } from '@/lib/db/library-api';
import { createJobHistory, type JobHistory } from './jobs/job-history';
import { JobRunner } from './jobs/job-runner';

let runner: JobRunner | undefined;
let history: JobHistory | undefined;

export function generationJobs(): JobRunner {
  if (!runner) {
    runner = new JobRunner({
      createJob,
      jobEvents,
      getJob,
      cancelJob,
      save: async (blob, params, lineage) => (await addGenerated(blob, params, lineage)).id,
    });
    jobHistory().follow(runner);
  }
  return runner;
}

/** Generation jobs that ended in this browser, newest first (the last 20). */
export function jobHistory(): JobHistory {
  history ??= createJobHistory(browserStorage());
  return history;
}
