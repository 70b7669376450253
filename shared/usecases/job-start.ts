// Run now, from the admin API: the run is started asynchronously in the job's own function (its own
// timeout, its own lease, its own async DLQ) and the API answers at once with the run id, which appears at
// GET /v1/admin/runs when the run has ended. The API request so never holds a run, nor its lease, past the
// API's own ceiling. How a run is started is given by the caller: a Lambda asynchronous invocation in AWS
// (shared/aws/lambda-invoke.ts), a run in the background of the same process locally and in tests.
import type { AppContext } from '../context.ts';
import type { JobName } from '../infra/resources.ts';
import { newRunId } from '../repositories/jobs.ts';

/** What the job function is asked to do: the manual-run event of shared/handler/scheduled-event.ts. */
export interface ManualRunEvent {
  readonly trigger: 'api';
  readonly runId: string;
  readonly requestedBy: string;
  readonly dryRun: boolean;
  readonly limit?: number;
}

/** The run could not be handed to the job's function: nothing was started. */
export class JobStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobStartError';
  }
}

/** Starts a run; resolves once the run is handed over (not when it ends); JobStartError when it was not. */
export type JobStarter = (job: JobName, event: ManualRunEvent) => Promise<void>;

export interface StartedRun {
  readonly runId: string;
  readonly job: JobName;
  readonly dryRun: boolean;
  readonly limit: number | null;
  readonly status: 'started';
  /** Where the run record appears once the run has ended. */
  readonly runs: string;
}

export async function startJobRun(
  ctx: AppContext,
  start: JobStarter,
  job: JobName,
  input: { dryRun: boolean; limit?: number; triggeredBy: string },
): Promise<StartedRun> {
  const runId = newRunId(ctx.clock());
  await start(job, {
    trigger: 'api',
    runId,
    requestedBy: input.triggeredBy,
    dryRun: input.dryRun,
    ...(input.limit !== undefined ? { limit: input.limit } : {}),
  });
  return {
    runId,
    job,
    dryRun: input.dryRun,
    limit: input.limit ?? null,
    status: 'started',
    runs: `/v1/admin/runs?job=${job}`,
  };
}
