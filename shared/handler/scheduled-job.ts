// A scheduled job's Lambda handler: parse the event, run the job's use case, return its run record.
import type { AppContext } from '../context.ts';
import type { JobName } from '../infra/resources.ts';
import { logger } from '../observability/logger.ts';
import type { RunRecord } from '../repositories/jobs.ts';
import { recordRejectedRun } from '../usecases/job-run.ts';
import { parseScheduledEvent, type ScheduledInvocation } from './scheduled-event.ts';
import { wrapHandler } from './wrap.ts';

export type JobRunner = (
  ctx: AppContext,
  invocation: ScheduledInvocation & { deadline?: Date },
) => Promise<RunRecord>;

/** The handler logic without Lambda plumbing, so `npm run invoke` and tests call exactly this. */
export async function handleScheduledEvent(
  ctx: AppContext,
  job: JobName,
  run: JobRunner,
  event: unknown,
  remainingMs?: () => number,
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
  // The lease ends with the invocation: Lambda's remaining time, read as the run starts (on the context's
  // clock, which the lease is written with).
  const deadline = remainingMs ? new Date(ctx.clock().getTime() + remainingMs()) : undefined;
  const record = await run(ctx, { ...parsed.invocation, ...(deadline ? { deadline } : {}) });
  logger.info('run finished', { job, runId: record.runId, status: record.status, counts: record.counts });
  return record;
}

export function createScheduledHandler(job: JobName, getContext: () => AppContext, run: JobRunner) {
  return wrapHandler(async (event: unknown, context) =>
    handleScheduledEvent(getContext(), job, run, event, () => context.getRemainingTimeInMillis()),
  );
}
