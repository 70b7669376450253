// The operator use cases the ops CLI (bin/ops.ts) calls, in one import: the same functions the admin API
// binds, so the CLI and the API cannot drift apart.
export { getJobsStatus, pauseJob, resumeJob } from './admin-jobs.ts';
export { type ReplayOptions, type ReplayResult, replayDlq } from './dlq.ts';
export { listDlqsWithHealth } from './health.ts';
export type { JobStatus } from './job-status.ts';
