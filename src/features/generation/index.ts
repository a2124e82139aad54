// Public surface of the generation feature: the prompt modal and the job list/runner.
export { PromptModal, type PromptModalProps } from './components/prompt-modal';
export { JobList } from './components/job-list';
export { JobsIndicator } from './components/jobs-indicator';
export { JobHistory } from './components/job-history';
export { generationJobs, jobHistory } from './generation-service';
export { useGenerationJobs } from './hooks/use-jobs';
export type { GenerationJob, JobPhase } from './jobs/job-runner';
export { MODES, type Mode } from './utils/build-request';
