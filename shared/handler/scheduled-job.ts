// A scheduled job's Lambda handler: parse the event, run the job's use case, return its run record.
import type { AppContext } from '../context.ts';
import type { JobName } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { recordRejectedRun } from '../usecases/job-run.ts';
import { parseScheduledEvent, type ScheduledInvocation } from './scheduled-event.ts';
import { wrapHandler } from './wrap.ts';

export type JobRunner = (ctx: AppContext, invocation: ScheduledInvocation) => Promise<RunRecord>;

/** The handler logic without Lambda plumbing, so `npm run invoke` and tests call exactly this. */
export async function handleScheduledEvent(
  ctx: AppContext,
  job: JobName,
  run: JobRunner,
  event: unknown,
): Promise<RunRecord> {
  const parsed = parseScheduledEvent(event);
  if (!parsed.ok) {
    logger.error('rejected invocation', { job, reason: parsed.reason });
    return recordRejectedRun(ctx, job, parsed.reason);
  }
  if (parsed.invocation.worker && job !== 'recovery-sweep') {
    const reason = `${job} has no fan-out workers`;
    logger.error('rejected invocation', { job, reason });
    return recordRejectedRun(ctx, job, reason);
  }
  const record = await run(ctx, parsed.invocation);
  logger.info('run finished', { job, runId: record.runId, status: record.status, counts: record.counts });
  return record;
}

export function createScheduledHandler(job: JobName, getContext: () => AppContext, run: JobRunner) {
  return wrapHandler(async (event: unknown) => handleScheduledEvent(getContext(), job, run, event));
}
