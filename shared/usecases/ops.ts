// The operator use cases the ops CLI (bin/ops.ts) calls, in one import: the same functions the admin API
// binds, so the CLI and the API cannot drift apart.
export { getJobsStatus, listJobRuns, pauseJob, resumeJob, runJobNow } from './admin-jobs.ts';
export { type ReplayOptions, type ReplayResult, replayDlq } from './dlq.ts';
export {
  checkReadiness,
  getSessionsHealth,
  listDlqDepths,
  listDlqsWithHealth,
  listStuckSessions,
} from './health.ts';
export type { JobStatus } from './job-status.ts';
export { retryNow } from './retry-now.ts';
export { getRecoveryStats } from './stats.ts';
